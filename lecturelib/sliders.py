"""Slider demos that are live in a kernel and still move on the static website.

A demo is declared once, as a drawing function ``draw(ax, **values)`` plus one control
per keyword argument::

    demo = Demo(draw_tangent, x0=linspace(-2, 2, 41, value=1.0))
    demo  # the last expression of a cell displays it

Displaying a demo emits one output with two representations of the same pictures:

* ``application/vnd.jupyter.widget-view+json``: ipywidgets controls and an image that
  ``draw`` re-renders on every change (JupyterLab, Binder, Colab: a kernel is running);
* ``text/html``: a kernel-free scrubber, ``<input type="range">`` / ``<select>`` plus
  a few lines of inline JavaScript that swap frames pre-rendered for every point of
  the control grid. It needs no kernel, no network and no library, so it works on the
  static website and in slides. The book's ``_config.yml`` tells myst-nb to prefer it.

Frames are PNGs rendered by one function (:meth:`Demo.render`), so both show the same
picture for the same values.
"""

from __future__ import annotations

import base64
import html
import inspect
import io
import itertools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

__all__ = ["Control", "Demo", "choice", "linspace", "logspace", "slider"]

MAX_FRAMES = 400  # page-weight bound: at ~25 KB a frame this is ~10 MB


@dataclass(frozen=True)
class Control:
    """One control of a demo: a finite grid of values, shown as a slider or a menu.

    Build it with :func:`linspace`, :func:`logspace` or :func:`choice`.
    """

    values: tuple
    labels: tuple[str, ...]
    index: int  # position of the initial value
    description: str | None = None
    kind: str = "slider"  # "slider" or "menu"

    def __post_init__(self) -> None:
        if len(self.values) < 1:
            raise ValueError("a control needs at least one value, got an empty range")
        if len(self.labels) != len(self.values):
            raise ValueError(
                f"labels must match values one to one, got {len(self.labels)} labels "
                f"for {len(self.values)} values"
            )
        if not 0 <= self.index < len(self.values):
            raise ValueError(f"index must be in [0, {len(self.values)}), got {self.index}")
        if self.kind not in ("slider", "menu"):
            raise ValueError(f"kind must be 'slider' or 'menu', got {self.kind!r}")

    @property
    def value(self) -> Any:
        """The initial value."""
        return self.values[self.index]


def _numeric_grid(
    grid: np.ndarray, value: float | None, fmt: str, description: str | None
) -> Control:
    if value is None:
        index = len(grid) // 2
    else:
        index = int(np.argmin(np.abs(grid - value)))
        if not math.isclose(grid[index], value, rel_tol=1e-9, abs_tol=1e-12):
            raise ValueError(f"value must be one of the grid's points, got {value}")
    values = tuple(float(v) for v in grid)
    return Control(values, tuple(fmt.format(v) for v in values), index, description)


def _check_range(start: float, stop: float, num: int) -> None:
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise ValueError(f"start and stop must be finite, got {start} and {stop}")
    if start >= stop:
        raise ValueError(f"empty range: start must be < stop, got start={start}, stop={stop}")
    if not isinstance(num, (int, np.integer)) or num < 2:
        raise ValueError(f"num must be an int >= 2, got {num!r}")


def linspace(
    start: float,
    stop: float,
    num: int,
    *,
    value: float | None = None,
    fmt: str = "{:.3g}",
    description: str | None = None,
) -> Control:
    """A slider over ``num`` evenly spaced values from ``start`` to ``stop`` (inclusive).

    ``value`` (one of the grid's points) is where it starts; default: the middle.
    """
    _check_range(start, stop, num)
    return _numeric_grid(np.linspace(start, stop, num), value, fmt, description)


def logspace(
    start: float,
    stop: float,
    num: int,
    *,
    value: float | None = None,
    fmt: str = "{:.3g}",
    description: str | None = None,
) -> Control:
    """A slider over ``num`` log-spaced values from ``start`` to ``stop`` (both > 0).

    Unlike :func:`numpy.logspace`, ``start`` and ``stop`` are the values, not exponents.
    """
    _check_range(start, stop, num)
    if start <= 0:
        raise ValueError(f"a log scale needs start > 0, got {start}")
    return _numeric_grid(np.geomspace(start, stop, num), value, fmt, description)


def slider(
    values: Sequence[float],
    *,
    value: float | None = None,
    fmt: str = "{}",
    description: str | None = None,
) -> Control:
    """A slider over the given numbers, in the order given, e.g. depths ``[3, 10, 30]``.

    ``value`` (one of ``values``) is where it starts; default: the middle one.
    """
    values = tuple(values)
    if not values:
        raise ValueError("values must not be empty")
    if not all(isinstance(v, (int, float, np.integer, np.floating)) for v in values):
        raise ValueError(f"values must be numbers, got {list(values)}")
    if value is None:
        index = len(values) // 2
    elif value in values:
        index = values.index(value)
    else:
        raise ValueError(f"value must be one of {list(values)}, got {value!r}")
    return Control(values, tuple(fmt.format(v) for v in values), index, description)


def choice(
    options: Sequence[Any] | dict[str, Any],
    *,
    value: Any = None,
    description: str | None = None,
) -> Control:
    """A menu over ``options``: a list of values, or a dict ``{label: value}``."""
    if isinstance(options, dict):
        labels, values = tuple(str(k) for k in options), tuple(options.values())
    else:
        values = tuple(options)
        labels = tuple(str(v) for v in values)
    if not values:
        raise ValueError("options must not be empty")
    if value is None:
        index = 0
    elif value in values:
        index = values.index(value)
    else:
        raise ValueError(f"value must be one of {list(values)}, got {value!r}")
    return Control(values, labels, index, description, kind="menu")


class Demo:
    """An interactive figure: ``draw(ax, **values)`` plus one :class:`Control` per value.

    Args:
        draw: draws one picture on the Axes it is given (a tuple of Axes when
            ``ncols > 1``) for one combination of control values; it must not call
            ``plt.show()`` or create figures.
        figsize: figure size in inches.
        ncols: number of side-by-side Axes passed to ``draw``.
        dpi: resolution of the rendered frames.
        **controls: one control per keyword argument of ``draw``.

    The static scrubber holds one frame per point of the control grid (the product of
    the controls' sizes), at most ``MAX_FRAMES``.
    """

    def __init__(
        self,
        draw: Callable[..., Any],
        *,
        figsize: tuple[float, float] = (6.0, 4.0),
        ncols: int = 1,
        dpi: int = 90,
        **controls: Control,
    ) -> None:
        if not callable(draw):
            raise TypeError(f"draw must be callable, got {type(draw).__name__}")
        if not controls:
            raise ValueError("a demo needs at least one control, got none")
        for name, control in controls.items():
            if not isinstance(control, Control):
                raise TypeError(
                    f"control {name!r} must be a Control (use linspace, logspace or "
                    f"choice), got {type(control).__name__}"
                )
        params = inspect.signature(draw).parameters
        takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
        unknown = [n for n in controls if n not in params and not takes_kwargs]
        if unknown:
            raise ValueError(
                f"controls {unknown} are not parameters of draw{inspect.signature(draw)}"
            )
        n_frames = math.prod(len(c.values) for c in controls.values())
        if n_frames > MAX_FRAMES:
            raise ValueError(
                f"the control grid has {n_frames} frames, more than MAX_FRAMES={MAX_FRAMES}; "
                "use fewer values per control"
            )
        if ncols < 1:
            raise ValueError(f"ncols must be >= 1, got {ncols}")
        self.draw = draw
        self.controls = dict(controls)
        self.figsize = figsize
        self.ncols = ncols
        self.dpi = dpi
        self._frames: list[bytes] | None = None
        self._positions: list | None = None
        self._widget = None

    def __repr__(self) -> str:
        grid = " x ".join(f"{n}[{len(c.values)}]" for n, c in self.controls.items())
        return f"Demo({self.draw.__name__}, {grid})"

    # -- pictures -----------------------------------------------------------------
    def figure(self, **values: Any) -> Figure:
        """The figure for one combination of values (missing ones: initial values).

        Every frame uses the axes layout of the initial values' figure, computed once
        (matplotlib's constrained layout costs about half of a render), so frames line
        up when the slider moves.
        """
        values = {name: c.value for name, c in self.controls.items()} | values
        fig = Figure(figsize=self.figsize, dpi=self.dpi)
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, self.ncols, squeeze=False)[0]
        self.draw(axes[0] if self.ncols == 1 else tuple(axes), **values)
        for ax, position in zip(axes, self._layout(), strict=True):
            ax.set_position(position)
        return fig

    def _layout(self) -> list:
        """Axes positions of the initial figure under constrained layout (cached)."""
        if self._positions is None:
            fig = Figure(figsize=self.figsize, dpi=self.dpi, layout="constrained")
            FigureCanvasAgg(fig)
            axes = fig.subplots(1, self.ncols, squeeze=False)[0]
            initial = {name: c.value for name, c in self.controls.items()}
            self.draw(axes[0] if self.ncols == 1 else tuple(axes), **initial)
            fig.get_layout_engine().execute(fig)
            self._positions = [ax.get_position() for ax in axes]
        return self._positions

    def render(self, **values: Any) -> bytes:
        """PNG bytes of :meth:`figure`: white background (readable in dark mode), 256 colours.

        Line plots need few colours: a palette PNG is about 4x smaller than a full-colour
        one and looks the same, which keeps pages with many frames light.
        """
        fig = self.figure(**values)
        fig.set_facecolor("white")
        fig.canvas.draw()
        size = fig.canvas.get_width_height()
        image = Image.frombuffer("RGBA", size, fig.canvas.buffer_rgba()).convert("RGB")
        buf = io.BytesIO()
        image.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(buf, format="PNG")
        return buf.getvalue()

    def grid(self) -> list[dict[str, Any]]:
        """Every combination of control values, first control slowest (frame order)."""
        names = list(self.controls)
        combos = itertools.product(*(c.values for c in self.controls.values()))
        return [dict(zip(names, combo, strict=True)) for combo in combos]

    def frames(self) -> list[bytes]:
        """The PNG of every grid point, rendered once and cached."""
        if self._frames is None:
            self._frames = [self.render(**values) for values in self.grid()]
        return self._frames

    # -- static (kernel-free) representation --------------------------------------
    def to_html(self) -> str:
        """A self-contained HTML scrubber over :meth:`frames` (no kernel, no network)."""
        frames = [base64.b64encode(png).decode("ascii") for png in self.frames()]
        controls = list(self.controls.items())
        sizes = [len(c.values) for _, c in controls]
        # Row-major strides: frame index = sum(position_i * stride_i).
        strides = [math.prod(sizes[i + 1 :]) for i in range(len(sizes))]
        start = sum(c.index * s for (_, c), s in zip(controls, strides, strict=True))
        rows = []
        for (name, c), stride in zip(controls, strides, strict=True):
            label = html.escape(c.description or name)
            data = f'data-stride="{stride}" data-labels="{html.escape(json.dumps(c.labels))}"'
            if c.kind == "menu":
                opts = "".join(
                    f'<option value="{i}"{" selected" if i == c.index else ""}>'
                    f"{html.escape(lab)}</option>"
                    for i, lab in enumerate(c.labels)
                )
                widget = f'<select {data} aria-label="{label}">{opts}</select>'
            else:
                widget = (
                    f'<input type="range" min="0" max="{len(c.values) - 1}" step="1" '
                    f'value="{c.index}" {data} aria-label="{label}">'
                    f'<output style="min-width:3em">{html.escape(c.labels[c.index])}</output>'
                )
            rows.append(
                '<label class="lecturelib-control" style="display:inline-flex;'
                f'align-items:center;gap:0.5em"><span>{label}</span>{widget}</label>'
            )
        return _TEMPLATE.format(
            controls="".join(rows),
            src=frames[start],
            alt=html.escape(f"{self.draw.__name__} for {', '.join(n for n, _ in controls)}"),
            frames=json.dumps(frames),
            script=_SCRIPT,
        )

    # -- live (kernel) representation ---------------------------------------------
    def widget(self) -> Any:
        """An ipywidgets box whose controls re-render the picture (needs a kernel)."""
        import ipywidgets as widgets

        width = f"{round(self.figsize[0] * self.dpi)}px"  # native size, as on the website
        image = widgets.Image(
            value=self.render(), format="png", layout={"width": width, "max_width": "100%"}
        )
        sliders = {}
        for name, c in self.controls.items():
            options = list(zip(c.labels, c.values, strict=True))
            common = {
                "options": options,
                "value": c.value,
                "description": c.description or name,
                "style": {"description_width": "initial"},
            }
            if c.kind == "menu":
                sliders[name] = widgets.Dropdown(**common)
            else:
                sliders[name] = widgets.SelectionSlider(**common, continuous_update=True)

        def update(_change: Any = None) -> None:
            image.value = self.render(**{n: s.value for n, s in sliders.items()})

        for s in sliders.values():
            s.observe(update, names="value")
        box = widgets.VBox([widgets.HBox(list(sliders.values())), image])
        box.sliders = sliders  # for benchmarks and tests: set .value to update
        box.image = image
        return box

    def time_updates(self, n: int = 20) -> list[float]:
        """Seconds per live update, moving each control through its grid as a reader would.

        Uses the displayed widget (or builds one); at most ``n`` updates per control. For
        benchmarks, and for tests that check a demo still redraws after the whole
        notebook has run (a ``draw`` that reads a global overwritten later fails here).
        """
        if self._widget is None:
            self._widget = self.widget()
        times = []
        for control in self._widget.sliders.values():
            values = [value for _, value in control.options]
            for value in itertools.islice(itertools.cycle(values), n):
                if value == control.value:
                    continue
                start = time.perf_counter()
                control.value = value  # the observer re-renders synchronously
                times.append(time.perf_counter() - start)
        return times

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict:
        """Both representations in one output; the viewer picks the one it can run."""
        if self._widget is None:
            self._widget = self.widget()
        bundle = self._widget._repr_mimebundle_() or {}
        return {**bundle, "text/html": self.to_html(), "text/plain": repr(self)}


_TEMPLATE = (
    '<div class="lecturelib-demo" style="max-width:100%">'
    '<div class="lecturelib-controls" style="display:flex;flex-wrap:wrap;gap:0.3em 1.5em">'
    "{controls}</div>"
    '<img class="lecturelib-frame" src="data:image/png;base64,{src}" alt="{alt}" '
    'style="max-width:100%;height:auto">'
    '<script type="application/json" class="lecturelib-frames">{frames}</script>'
    "<script>{script}</script></div>"
)

# Inline on purpose: no file to serve, works wherever the HTML is shown.
_SCRIPT = """(function () {
  var root = document.currentScript.parentElement;
  var frames = JSON.parse(root.querySelector('.lecturelib-frames').textContent);
  var img = root.querySelector('.lecturelib-frame');
  var inputs = root.querySelectorAll('[data-stride]');
  function show() {
    var k = 0;
    inputs.forEach(function (el) {
      var i = parseInt(el.value, 10);
      k += i * parseInt(el.dataset.stride, 10);
      var out = el.nextElementSibling;
      if (out && out.tagName === 'OUTPUT') { out.textContent = JSON.parse(el.dataset.labels)[i]; }
    });
    img.src = 'data:image/png;base64,' + frames[k];
    root.dataset.frame = k;
  }
  inputs.forEach(function (el) { el.addEventListener('input', show); });
  root.dataset.ready = 'true';
})();"""
