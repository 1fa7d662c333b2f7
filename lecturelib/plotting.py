"""Plot helpers the chapters share.

Every helper draws on the Axes it is given (or on new ones when ``ax`` is None),
returns the Axes, never calls ``plt.show()`` and changes no global style.
"""

from __future__ import annotations

from collections.abc import Callable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes

from lecturelib.descent import Trajectory
from lecturelib.gradients import slope, tangent_line
from lecturelib.landscapes import Landscape

__all__ = [
    "log_axis",
    "plot_contours",
    "plot_function",
    "plot_gradient_field",
    "plot_learning_curves",
    "plot_loss_curve",
    "plot_path",
    "plot_rise_over_run",
    "plot_tangent",
]


def _axes(ax: Axes | None) -> Axes:
    return plt.subplots()[1] if ax is None else ax


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value: float, _pos: object = None) -> str:
    """Tick label 10ⁿ in plain text: looks like mathtext, renders several times faster."""
    return "10" + str(round(np.log10(value))).translate(_SUPERSCRIPT) if value > 0 else ""


def log_axis(ax: Axes, axis: str = "y") -> Axes:
    """Put ``axis`` on a log scale with plain-text 10ⁿ labels at powers of ten only."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target.set_major_locator(ticker.LogLocator(base=10, numticks=8))
    target.set_major_formatter(ticker.FuncFormatter(_power_of_ten))
    target.set_minor_locator(ticker.NullLocator())
    return ax


def plot_function(
    f: Callable, xlim: tuple[float, float], *, ax: Axes | None = None, n: int = 400, **line_kw
) -> Axes:
    """Plot ``y = f(x)`` for ``x`` in ``xlim`` (``f`` takes a numpy array)."""
    ax = _axes(ax)
    x = np.linspace(*xlim, n)
    ax.plot(x, f(x), **{"color": "C0", "label": "f(x)"} | line_kw)
    ax.set(xlabel="x", ylabel="f(x)", xlim=xlim)
    return ax


def plot_rise_over_run(
    p1: tuple[float, float], p2: tuple[float, float], *, ax: Axes | None = None, **line_kw
) -> Axes:
    """Draw the line through ``p1`` and ``p2`` with its run (Δx) and rise (Δy) marked.

    The title states the slope m = Δy / Δx.
    """
    ax = _axes(ax)
    m = slope(p1, p2)
    (x1, y1), (x2, y2) = p1, p2
    pad = 0.5 * abs(x2 - x1)
    x = np.array([min(x1, x2) - pad, max(x1, x2) + pad])
    ax.plot(x, y1 + m * (x - x1), **{"color": "C0"} | line_kw)
    ax.plot([x1, x2], [y1, y1], "--", color="C1", label=f"run Δx = {x2 - x1:g}")
    ax.plot([x2, x2], [y1, y2], "--", color="C3", label=f"rise Δy = {y2 - y1:g}")
    ax.plot([x1, x2], [y1, y2], "o", color="k")
    ax.set(xlabel="x", ylabel="y", title=f"slope m = Δy / Δx = {m:g}")
    ax.legend(loc="best")
    return ax


def plot_tangent(
    f: Callable,
    x0: float,
    *,
    ax: Axes | None = None,
    half_width: float = 0.8,
    **line_kw,
) -> Axes:
    """Draw the tangent of ``f`` at ``x0`` (over ``x0 ± half_width``) and mark the point.

    Draw ``f`` itself first, e.g. with :func:`plot_function`.
    """
    ax = _axes(ax)
    line = tangent_line(f, x0)
    x = np.array([x0 - half_width, x0 + half_width])
    ax.plot(x, line(x), **{"color": "C3", "lw": 2, "label": "tangent"} | line_kw)
    ax.plot([x0], [line.y0], "o", color="C3")
    return ax


def _grid(landscape: Landscape, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Points of an ``n x n`` grid over the landscape's domain, shape ``(n, n, 2)``."""
    if landscape.dim != 2:
        raise ValueError(f"landscape must be 2-D, got a {landscape.dim}-D {landscape.name}")
    (xlo, xhi), (ylo, yhi) = landscape.domain
    X, Y = np.meshgrid(np.linspace(xlo, xhi, n), np.linspace(ylo, yhi, n))
    return X, Y, np.stack([X, Y], axis=-1)  # (n, n, 2)


def plot_contours(
    landscape: Landscape,
    *,
    ax: Axes | None = None,
    levels: int | np.ndarray = 20,
    n: int = 120,
    log: bool = False,
    **contour_kw,
) -> Axes:
    """Contour lines of a 2-D landscape over its domain.

    ``log=True`` spaces the levels geometrically (useful for Rosenbrock's steep walls).
    """
    ax = _axes(ax)
    X, Y, P = _grid(landscape, n)
    Z = landscape(P)
    if log and isinstance(levels, int):
        lo = max(Z.min() - _min_value(landscape), 1e-3)
        levels = _min_value(landscape) + np.geomspace(lo, Z.max() - Z.min(), levels)
    defaults = {"linewidths": 0.8} | ({} if "colors" in contour_kw else {"cmap": "viridis"})
    ax.contour(X, Y, Z, levels=levels, **defaults | contour_kw)
    ax.set(xlabel="x", ylabel="y", aspect="equal")
    return ax


def _min_value(landscape: Landscape) -> float:
    """The landscape's known minimum value, or 0.0 when it has none."""
    return 0.0 if landscape.min_value is None else float(landscape.min_value)


def plot_gradient_field(
    landscape: Landscape,
    *,
    ax: Axes | None = None,
    n: int = 15,
    normalize: bool = True,
    **quiver_kw,
) -> Axes:
    """Arrows of the gradient ∇f on an ``n x n`` grid (draw the contours first).

    With ``normalize=True`` every arrow has the same length and shows only the
    direction; the arrow colour then shows the magnitude ‖∇f‖.
    """
    ax = _axes(ax)
    X, Y, P = _grid(landscape, n)
    G = landscape.grad(P)  # (n, n, 2)
    norm = np.linalg.norm(G, axis=-1)
    U, V = G[..., 0], G[..., 1]
    if normalize:
        safe = np.where(norm > 0, norm, 1.0)
        U, V = U / safe, V / safe
    ax.quiver(X, Y, U, V, norm, **{"cmap": "magma", "angles": "xy", "pivot": "tail"} | quiver_kw)
    return ax


def plot_path(
    landscape: Landscape,
    trajectory: Trajectory,
    *,
    ax: Axes | None = None,
    landscape_kw: dict | None = None,
    **line_kw,
) -> Axes:
    """Draw a descent path on its landscape: the curve (1-D) or contours (2-D).

    The start is a square, the end a dot; a diverged run ends with a red cross at the
    last finite point. Pass ``landscape_kw=None`` defaults, or ``{}`` to draw none
    (for overlaying several paths, draw the landscape once first).
    """
    ax = _axes(ax)
    points = trajectory.points
    style = {"color": "C3", "marker": ".", "ms": 5, "lw": 1.2} | line_kw
    if landscape.dim == 1:
        if landscape_kw != {}:
            plot_function(
                landscape, landscape.domain, ax=ax, **{"color": "k"} | (landscape_kw or {})
            )
        xy = (points, trajectory.losses)
    else:
        if landscape_kw != {}:
            plot_contours(landscape, ax=ax, **(landscape_kw or {}))
        xy = (points[:, 0], points[:, 1])
    (line,) = ax.plot(*xy, **style)
    ax.plot(xy[0][0], xy[1][0], "s", color=line.get_color(), ms=7)
    end = "X" if trajectory.diverged else "o"
    ax.plot(
        xy[0][-1], xy[1][-1], end, color="red" if trajectory.diverged else line.get_color(), ms=9
    )
    return ax


def plot_loss_curve(
    trajectory: Trajectory, *, ax: Axes | None = None, log: bool = True, **line_kw
) -> Axes:
    """The loss at every step (log scale by default); a diverged run is marked."""
    ax = _axes(ax)
    losses = trajectory.losses
    steps = np.arange(len(losses))
    shown = losses
    if log and np.any(losses == 0):  # an exact zero has no place on a log axis: draw it
        positive = losses[losses > 0]
        floor = (positive.min() if positive.size else 1.0) * 1e-3  # just below the rest
        shown = np.where(losses == 0, floor, losses)
    (line,) = ax.plot(steps, shown, **{"color": "C0"} | line_kw)
    if trajectory.diverged:
        ax.plot(steps[-1], shown[-1], "X", color="red", ms=9)
        ax.annotate(
            f"diverged at step {trajectory.diverged_at}",
            (steps[-1], shown[-1]),
            textcoords="offset points",
            xytext=(-10, -14),
            ha="right",
            color="red",
        )
    if log:
        log_axis(ax)
    ax.set(xlabel="step", ylabel="loss J")
    return ax


def plot_learning_curves(
    history: object,
    *,
    keys: tuple[str, ...] | None = None,
    ax: Axes | None = None,
    label: str | None = None,
    log: bool = False,
    **line_kw,
) -> Axes:
    """Learning curves of a :class:`lecturelib.training.History`, one value per epoch.

    By default the training loss (solid) and, when recorded, the validation loss
    (dashed). ``keys`` picks other curves, e.g. ``("train_accuracy", "val_accuracy")``;
    ``label`` prefixes the legend entries, so several runs can share one Axes.
    """
    ax = _axes(ax)
    curves = history.curves
    keys = keys or tuple(k for k in ("train_loss", "val_loss") if curves.get(k))
    missing = [k for k in keys if k not in curves]
    if missing:
        raise ValueError(f"history has no curves {missing}; it has {list(curves)}")
    colour = line_kw.pop("color", None)
    for key in keys:
        style = {"ls": "--" if key.startswith("val_") else "-"} | line_kw
        name = key.replace("_", " ")
        (line,) = ax.plot(
            np.arange(1, len(curves[key]) + 1),
            curves[key],
            color=colour,
            label=f"{label}: {name}" if label else name,
            **style,
        )
        colour = line.get_color()  # one colour per run, line style per curve
    if log:
        log_axis(ax)
    ax.set(xlabel="epoch")
    return ax
