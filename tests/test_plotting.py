"""Plot helpers: draw on the Axes given (or new ones), return it, never show."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lecturelib import plotting  # noqa: E402
from lecturelib.landscapes import DoubleWell, IllConditionedBowl, Rosenbrock  # noqa: E402


@pytest.fixture(autouse=True)
def _no_show_and_cleanup(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("plot helpers must not call plt.show()")

    monkeypatch.setattr(plt, "show", forbidden)
    yield
    plt.close("all")


def test_every_helper_returns_the_axes_it_was_given():
    f, bowl = DoubleWell(), IllConditionedBowl()
    calls = [
        lambda ax: plotting.plot_function(f, (-2, 2), ax=ax),
        lambda ax: plotting.plot_rise_over_run((0, 1), (2, 5), ax=ax),
        lambda ax: plotting.plot_tangent(f, 1.0, ax=ax),
        lambda ax: plotting.plot_contours(bowl, ax=ax),
        lambda ax: plotting.plot_gradient_field(bowl, ax=ax),
    ]
    for call in calls:
        fig, ax = plt.subplots()
        assert call(ax) is ax
        assert ax.has_data()
        assert plt.get_fignums() == [fig.number]  # drew there, made no new figure
        plt.close(fig)


def test_without_ax_a_new_axes_is_made():
    ax = plotting.plot_function(np.sin, (0, 3))
    assert isinstance(ax, matplotlib.axes.Axes) and len(ax.lines) == 1


def test_line_style_keywords_pass_through():
    ax = plotting.plot_function(np.sin, (0, 3), color="C3", lw=3)
    assert ax.lines[0].get_linewidth() == 3


def test_rise_over_run_states_the_slope():
    ax = plotting.plot_rise_over_run((0, 1), (2, 5))
    assert ax.get_title() == "slope m = Δy / Δx = 2"


def test_tangent_touches_the_curve_with_the_derivative_as_slope():
    f = DoubleWell()
    ax = plotting.plot_tangent(f, 1.0)
    x, y = ax.lines[0].get_data()
    assert (y[1] - y[0]) / (x[1] - x[0]) == pytest.approx(float(f.grad(1.0)), rel=1e-8)
    assert ax.lines[1].get_ydata()[0] == pytest.approx(float(f(1.0)))


def test_gradient_arrows_point_along_the_gradient():
    bowl = Rosenbrock()
    ax = plotting.plot_gradient_field(bowl, n=7)
    quiver = ax.collections[0]
    points = quiver.get_offsets()  # (49, 2)
    g = bowl.grad(np.asarray(points))
    unit = g / np.linalg.norm(g, axis=1, keepdims=True)
    np.testing.assert_allclose(np.c_[quiver.U, quiver.V], unit, atol=1e-12)


def test_contours_need_a_2d_landscape():
    with pytest.raises(ValueError, match="landscape must be 2-D"):
        plotting.plot_contours(DoubleWell())


def test_plot_path_draws_the_iterates_in_1d_and_2d():
    from lecturelib.descent import gradient_descent

    f = DoubleWell()
    run = gradient_descent(f, 1.5, 0.01, 50)
    ax = plotting.plot_path(f, run)
    path = ax.lines[1]  # after the curve
    np.testing.assert_array_equal(path.get_xdata(), run.points)
    np.testing.assert_array_equal(path.get_ydata(), run.losses)

    bowl = IllConditionedBowl()
    run2 = gradient_descent(bowl, np.array([2.0, 1.0]), 0.1, 20)
    ax2 = plotting.plot_path(bowl, run2, landscape_kw={})  # no contours: just the path
    assert not ax2.collections
    np.testing.assert_array_equal(
        np.c_[ax2.lines[0].get_xdata(), ax2.lines[0].get_ydata()], run2.points
    )


def test_a_diverged_run_is_marked_on_the_path_and_the_loss_curve():
    from lecturelib.descent import gradient_descent
    from lecturelib.landscapes import Parabola

    run = gradient_descent(Parabola(), 1.0, 3.0, 50)
    ax = plotting.plot_path(Parabola(), run)
    assert ax.lines[-1].get_marker() == "X" and ax.lines[-1].get_color() == "red"
    ax = plotting.plot_loss_curve(run)
    assert [t.get_text() for t in ax.texts] == [f"diverged at step {run.diverged_at}"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), run.losses)


def test_loss_curve_keeps_exact_zeros_visible_below_the_rest():
    from lecturelib.descent import gradient_descent
    from lecturelib.landscapes import Parabola

    run = gradient_descent(Parabola(a=1.0), 2.0, 0.5, 3)  # one step lands exactly on 0
    shown = plotting.plot_loss_curve(run).lines[0].get_ydata()
    assert shown[0] == 4.0 and np.all(shown[1:] == 4.0 * 1e-3)


def test_log_axis_labels_are_plain_text_powers_of_ten():
    ax = plotting.plot_function(np.exp, (0, 10))
    plotting.log_axis(ax)
    formatter = ax.yaxis.get_major_formatter()
    assert ax.get_yscale() == "log"
    assert formatter(1e-3) == "10⁻³" and formatter(100.0) == "10²" and formatter(1.0) == "10⁰"


def test_contours_take_a_single_colour_instead_of_the_colormap():
    ax = plotting.plot_contours(IllConditionedBowl(), colors="0.8", levels=5)
    assert ax.collections[0].get_edgecolor()[0][:3] == pytest.approx((0.8, 0.8, 0.8))


def test_learning_curves_one_colour_per_run_and_dashed_validation():
    from types import SimpleNamespace

    history = SimpleNamespace(curves={"train_loss": [3.0, 2.0, 1.0], "val_loss": [3.5, 2.5, 2.0]})
    ax = plotting.plot_learning_curves(history, label="run A")
    train, val = ax.lines
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(val.get_ydata(), [3.5, 2.5, 2.0])
    assert train.get_color() == val.get_color()
    assert (train.get_linestyle(), val.get_linestyle()) == ("-", "--")
    assert train.get_label() == "run A: train loss"
    with pytest.raises(ValueError, match=r"no curves \['val_accuracy'\]"):
        plotting.plot_learning_curves(history, keys=("val_accuracy",))
