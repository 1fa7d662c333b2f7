"""The slider mechanism: one definition, a live widget and a kernel-free scrubber."""

import base64
import json
import re

import numpy as np
import pytest

from lecturelib.sliders import MAX_FRAMES, Control, Demo, choice, linspace, logspace, slider


def draw_line(ax, slope, style="-"):
    x = np.linspace(-1, 1, 5)
    ax.plot(x, slope * x, style)
    ax.set_ylim(-3, 3)


@pytest.fixture
def demo():
    return Demo(draw_line, slope=linspace(-2, 2, 5, value=1), style=choice(["-", "--"]))


# -- controls ------------------------------------------------------------------------
def test_linspace_grid_and_initial_value():
    c = linspace(0, 1, 11, value=0.3)
    assert c.values == pytest.approx(tuple(np.linspace(0, 1, 11)))
    assert c.value == pytest.approx(0.3) and c.index == 3 and c.kind == "slider"
    assert linspace(0, 1, 5).value == 0.5  # default: the middle


def test_logspace_takes_values_not_exponents():
    c = logspace(1e-3, 1, 4, value=1e-2)
    assert c.values == pytest.approx((1e-3, 1e-2, 1e-1, 1.0))
    assert c.labels == ("0.001", "0.01", "0.1", "1")
    assert c.value == pytest.approx(1e-2)


def test_choice_from_list_and_dict():
    c = choice(["sgd", "adam"], value="adam")
    assert c.values == ("sgd", "adam") and c.value == "adam" and c.kind == "menu"
    d = choice({"plain GD": 0, "momentum": 0.9})
    assert d.labels == ("plain GD", "momentum") and d.values == (0, 0.9) and d.value == 0


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: linspace(1, 1, 5), "empty range"),
        (lambda: linspace(2, 1, 5), "empty range"),
        (lambda: linspace(0, 1, 1), "num must be an int >= 2"),
        (lambda: linspace(0, np.inf, 3), "finite"),
        (lambda: linspace(0, 1, 3, value=0.3), "value must be one of the grid"),
        (lambda: logspace(0, 1, 3), "log scale needs start > 0"),
        (lambda: choice([]), "options must not be empty"),
        (lambda: choice(["a"], value="b"), "value must be one of"),
        (lambda: Control((), (), 0), "empty range"),
    ],
)
def test_bad_controls_say_what_is_wrong(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# -- demo definition -----------------------------------------------------------------
def test_bad_demos_say_what_is_wrong():
    with pytest.raises(TypeError, match="draw must be callable"):
        Demo("not a function", slope=linspace(0, 1, 3))
    with pytest.raises(ValueError, match="at least one control"):
        Demo(draw_line)
    with pytest.raises(TypeError, match="control 'slope' must be a Control"):
        Demo(draw_line, slope=[1, 2, 3])
    with pytest.raises(ValueError, match=r"\['angle'\] are not parameters of draw"):
        Demo(draw_line, angle=linspace(0, 1, 3))
    with pytest.raises(ValueError, match="MAX_FRAMES"):
        Demo(draw_line, slope=linspace(0, 1, MAX_FRAMES), style=choice(["-", "--"]))
    with pytest.raises(ValueError, match="ncols must be >= 1"):
        Demo(draw_line, slope=linspace(0, 1, 3), ncols=0)


def test_grid_is_the_product_first_control_slowest(demo):
    grid = demo.grid()
    assert len(grid) == 10
    assert grid[0] == {"slope": -2.0, "style": "-"}
    assert grid[1] == {"slope": -2.0, "style": "--"}
    assert grid[2] == {"slope": -1.0, "style": "-"}


def test_every_frame_is_a_distinct_png_of_its_grid_point(demo):
    frames = demo.frames()
    assert len(frames) == 10
    assert all(f.startswith(b"\x89PNG") for f in frames)
    assert len(set(frames)) == 10
    assert frames[7] == demo.render(**demo.grid()[7])  # deterministic and in grid order
    assert demo.frames() is frames  # rendered once


def test_ncols_passes_a_tuple_of_axes():
    seen = []

    def draw(axes, k):
        seen.append(axes)
        for ax in axes:
            ax.plot([0, k])

    Demo(draw, k=linspace(1, 2, 2), ncols=3).figure()
    assert isinstance(seen[0], tuple) and len(seen[0]) == 3


# -- the static scrubber -------------------------------------------------------------
def test_html_holds_every_frame_and_starts_at_the_initial_values(demo):
    page = demo.to_html()
    frames = json.loads(re.search(r'class="lecturelib-frames">(.*?)</script>', page).group(1))
    assert [base64.b64decode(f) for f in frames] == demo.frames()
    start = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    initial = demo.grid().index({"slope": 1.0, "style": "-"})
    assert start == frames[initial]
    # one range input (5 positions, stride 2) and one select (2 options, stride 1)
    assert re.search(r'type="range" min="0" max="4" step="1" value="3" data-stride="2"', page)
    assert re.search(r'<select data-stride="1"', page) and page.count("<option") == 2


def test_html_needs_no_network(demo):
    page = demo.to_html()
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=\"(?!data:)", page)


# -- the live widget -----------------------------------------------------------------
def test_widget_redraws_the_same_picture_as_the_static_frame(demo):
    box = demo.widget()
    assert box.image.value == demo.frames()[demo.grid().index({"slope": 1.0, "style": "-"})]
    box.sliders["slope"].value = -2.0
    box.sliders["style"].value = "--"
    assert box.image.value == demo.frames()[1]


def test_one_output_carries_both_representations(demo):
    bundle = demo._repr_mimebundle_()
    assert set(bundle) == {
        "text/plain",
        "text/html",
        "application/vnd.jupyter.widget-view+json",
    }
    assert bundle["text/plain"] == "Demo(draw_line, slope[5] x style[2])"
    assert "lecturelib-demo" in bundle["text/html"]


def test_slider_over_given_values_keeps_their_order_and_type():
    c = slider([3, 10, 30], value=30, description="depth")
    assert c.values == (3, 10, 30) and c.value == 30 and c.kind == "slider"
    assert c.labels == ("3", "10", "30") and slider([1, 2, 3]).value == 2
    with pytest.raises(ValueError, match="values must not be empty"):
        slider([])
    with pytest.raises(ValueError, match="values must be numbers"):
        slider(["a", "b"])
    with pytest.raises(ValueError, match=r"value must be one of \[3, 10, 30\], got 4"):
        slider([3, 10, 30], value=4)
