"""Finite differences, slopes and tangents, checked against PyTorch autograd."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from lecturelib.gradients import (
    TangentLine,
    gradient_check,
    numerical_gradient,
    slope,
    tangent_line,
)

# (numpy version, torch version) of smooth scalar functions of any shape.
FUNCTIONS = {
    "cubic": (lambda x: np.sum(x**3), lambda x: (x**3).sum()),
    "x_sin_x": (lambda x: np.sum(x * np.sin(x)), lambda x: (x * torch.sin(x)).sum()),
    "softplus": (lambda x: np.sum(np.log1p(np.exp(x))), lambda x: torch.log1p(torch.exp(x)).sum()),
    "norm": (lambda x: np.sqrt(np.sum(x**2) + 1), lambda x: ((x**2).sum() + 1).sqrt()),
    "coupled": (
        lambda x: np.sum(x) ** 2 * np.exp(-np.sum(x**2) / 10),
        lambda x: x.sum() ** 2 * torch.exp(-(x**2).sum() / 10),
    ),
}
SHAPES = [(), (1,), (5,), (3, 4), (2, 3, 2)]
TOL = {"rtol": 1e-7, "atol": 1e-8}


def autograd(torch_fn, x):
    """The oracle: torch's gradient of torch_fn at x, in float64."""
    x = torch.as_tensor(x, dtype=torch.float64).clone().requires_grad_(True)
    (g,) = torch.autograd.grad(torch_fn(x), x)
    return g


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_tensor_gradient_matches_autograd(name, shape):
    x = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    before = x.clone()
    g = numerical_gradient(FUNCTIONS[name][1], x)
    assert isinstance(g, torch.Tensor)
    assert g.shape == x.shape and g.dtype == torch.float64 and g.device == x.device
    assert_close(g, autograd(FUNCTIONS[name][1], x), **TOL)
    assert torch.equal(x, before)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("name", FUNCTIONS)
def test_numpy_gradient_matches_autograd(name, shape):
    x = np.random.default_rng(1).normal(size=shape)
    before = x.copy()
    g = numerical_gradient(FUNCTIONS[name][0], x)
    assert isinstance(g, np.ndarray)
    assert g.shape == x.shape and g.dtype == np.float64
    assert_close(torch.from_numpy(g), autograd(FUNCTIONS[name][1], x), **TOL)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("x", [0.7, -2, np.float64(1.5)])
def test_float_gradient_is_a_float(x):
    seen = []

    def f(t):
        seen.append(type(t))
        return math.sin(t) * t

    g = numerical_gradient(f, x)
    assert type(g) is float
    assert set(seen) == {float}  # f is evaluated on floats, like x
    assert g == pytest.approx(math.sin(x) + x * math.cos(x), rel=1e-9)


def test_f_is_evaluated_on_the_kind_of_x():
    def f_torch(t):
        assert isinstance(t, torch.Tensor) and t.dtype == torch.float64
        return (t**2).sum()

    def f_numpy(a):
        assert isinstance(a, np.ndarray) and a.dtype == np.float64
        return (a**2).sum()

    numerical_gradient(f_torch, torch.ones(3, dtype=torch.float32))
    numerical_gradient(f_numpy, np.ones(3, dtype=np.int64))


def test_input_is_copied_not_mutated_even_when_non_contiguous_float32_requires_grad():
    x = torch.arange(6.0).reshape(2, 3).T.requires_grad_(True)  # float32, shape (3, 2)
    before = x.detach().clone()
    g = numerical_gradient(lambda t: (t**2).sum(), x)
    assert g.dtype == torch.float64 and not g.requires_grad
    assert_close(g, 2 * before.double(), **TOL)
    assert torch.equal(x.detach(), before) and x.grad is None


def test_accepts_one_element_outputs():
    x = np.array([0.5, 2.0])
    for f in (lambda a: np.array([a.sum()]), lambda a: np.array(a.sum()), lambda a: float(a.sum())):
        np.testing.assert_allclose(numerical_gradient(f, x), [1.0, 1.0], rtol=1e-9)
    g = numerical_gradient(lambda t: t.sum().reshape(1, 1), torch.tensor([0.5, 2.0]))
    assert_close(g, torch.ones(2, dtype=torch.float64))


def test_central_difference_error_is_second_order():
    x = torch.linspace(-1.0, 1.0, 7, dtype=torch.float64)

    def error(h):
        g = numerical_gradient(lambda t: torch.sin(t).sum(), x, h=h)
        return (g - torch.cos(x)).abs().max().item()

    errors = [error(h) for h in (1e-1, 1e-2, 1e-3)]
    # exact error cos(x) (1 - sin(h)/h) ~ cos(x) h^2 / 6: shrinking h 10x shrinks it 100x
    assert errors[0] == pytest.approx(0.1**2 / 6, rel=1e-2)
    for big, small in zip(errors, errors[1:], strict=False):
        assert 95 < big / small < 105


@pytest.mark.parametrize("h", [0.0, -1e-5, float("nan"), float("inf")])
def test_bad_step_raises(h):
    with pytest.raises(ValueError, match=r"h must be a finite number > 0, got"):
        numerical_gradient(lambda t: t.sum(), np.ones(2), h=h)


def test_non_numeric_step_raises():
    with pytest.raises(TypeError, match="h must be a real number, got str"):
        numerical_gradient(lambda t: t.sum(), np.ones(2), h="small")


@pytest.mark.parametrize(
    "x",
    [np.array([1.0, np.nan]), torch.tensor([[1.0, 2.0], [3.0, float("inf")]]), float("-inf")],
    ids=["numpy-nan", "torch-inf", "float-inf"],
)
def test_non_finite_x_raises(x):
    with pytest.raises(ValueError, match=r"x must contain only finite values, got (nan|-?inf)"):
        numerical_gradient(lambda t: t, x)


@pytest.mark.parametrize("x", [[1.0, 2.0], "1.0", None, True, np.array([1j])])
def test_wrong_type_of_x_raises(x):
    with pytest.raises(TypeError, match="x must"):
        numerical_gradient(lambda t: t, x)


def test_non_scalar_output_raises_with_its_shape():
    with pytest.raises(ValueError, match=r"f must return a scalar, got output of shape \(3,\)"):
        numerical_gradient(lambda t: t**2, torch.ones(3))
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        numerical_gradient(lambda a: a, np.ones((2, 2)))
    with pytest.raises(TypeError, match="f must return a real number, got str"):
        numerical_gradient(lambda a: "loss", np.ones(2))


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("shape", [(), (4,), (2, 3)], ids=str)
def test_gradient_check_passes_for_correct_gradients(name, shape):
    x = np.random.default_rng(2).normal(size=shape)
    assert gradient_check(FUNCTIONS[name][1], x) < 1e-8
    assert gradient_check(FUNCTIONS[name][1], torch.as_tensor(x, dtype=torch.float32)) < 1e-8


class SquareWithWrongBackward(torch.autograd.Function):
    """x**2 whose backward returns 3x instead of 2x, a typical hand-derived slip."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**2

    @staticmethod
    def backward(ctx, grad_out):
        (x,) = ctx.saved_tensors
        return grad_out * 3 * x


def test_gradient_check_fails_for_a_wrong_backward():
    x = torch.tensor([0.5, -1.0, 2.0])
    err = gradient_check(lambda t: SquareWithWrongBackward.apply(t).sum(), x)
    assert err == pytest.approx(1 / 5, rel=1e-6)  # |3 - 2| / (3 + 2)
    assert err > 1e-2


def test_gradient_check_edge_cases():
    assert gradient_check(lambda t: (t * 0).sum(), np.ones(3)) == 0.0  # both gradients zero
    assert gradient_check(lambda t: t**3, 0.5) < 1e-8  # float x, 0-d tensor output
    with pytest.raises(TypeError, match="f must return a torch tensor, got float"):
        gradient_check(lambda t: t.detach().sum().item(), np.ones(2))
    with pytest.raises(ValueError, match="requires_grad is False"):
        gradient_check(lambda t: t.detach().sum(), np.ones(2))
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        gradient_check(lambda t: t * 2, np.ones(2))
    with pytest.raises(ValueError, match="h must"):
        gradient_check(lambda t: t.sum(), np.ones(2), h=-1.0)
    with pytest.raises(TypeError, match="x must"):
        gradient_check(lambda t: t.sum(), [1.0, 2.0])


@pytest.mark.parametrize(
    ("p1", "p2", "expected"),
    [
        ((0, 1), (2, 5), 2.0),
        ((1, 3), (4, -3), -2.0),
        ((-1, 7), (3, 7), 0.0),
        ((0, 0), (3, 1), 1 / 3),
    ],
)
def test_slope_of_known_lines(p1, p2, expected):
    assert slope(p1, p2) == pytest.approx(expected, rel=1e-15)
    assert slope(p2, p1) == pytest.approx(expected, rel=1e-15)  # order does not matter


def test_slope_accepts_arrays_and_tensors():
    assert slope(np.array([0.0, 1.0]), torch.tensor([2.0, 5.0])) == 2.0


def test_vertical_line_has_no_slope():
    with pytest.raises(ValueError, match="vertical.*slope is undefined"):
        slope((1.0, 0.0), (1.0, 5.0))


@pytest.mark.parametrize("bad", [(1.0,), (1.0, 2.0, 3.0), (1.0, float("nan")), "xy", 3.0, None])
def test_slope_rejects_bad_points(bad):
    with pytest.raises(ValueError, match=r"p1 must be a pair \(x, y\) of finite numbers"):
        slope(bad, (0.0, 0.0))
    with pytest.raises(ValueError, match=r"p2 must be a pair"):
        slope((0.0, 0.0), bad)


@pytest.mark.parametrize(
    ("f", "df", "x0"),
    [
        (lambda x: x**3, lambda x: 3 * x**2, 2.0),
        (math.sin, math.cos, 0.4),
        (np.exp, np.exp, -1.0),
        (
            lambda x: torch.tanh(torch.tensor(x, dtype=torch.float64)),
            lambda x: 1 - math.tanh(x) ** 2,
            0.3,
        ),
    ],
    ids=["cube", "math.sin", "np.exp", "torch.tanh"],
)
def test_tangent_slope_is_the_derivative_and_touches_f(f, df, x0):
    line = tangent_line(f, x0)
    assert isinstance(line, TangentLine)
    assert line.slope == pytest.approx(df(x0), rel=1e-8)
    assert line.x0 == x0 and line.y0 == pytest.approx(float(f(x0)), rel=1e-15)
    assert line(x0) == pytest.approx(float(f(x0)), rel=1e-12)
    assert line.intercept == pytest.approx(float(f(x0)) - df(x0) * x0, rel=1e-7, abs=1e-9)


def test_tangent_lies_below_a_convex_function():
    xs = np.linspace(-3, 3, 601)
    for x0 in (-2.0, 0.0, 1.5):
        line = tangent_line(np.exp, x0)
        assert np.all(line(xs) <= np.exp(xs) + 1e-12)


def test_line_evaluates_elementwise_and_is_frozen():
    line = TangentLine(slope=2.0, intercept=1.0)
    np.testing.assert_array_equal(line(np.array([[0.0, 1.0], [2.0, -1.0]])), [[1, 3], [5, -1]])
    np.testing.assert_array_equal(line([0.0, 1.0]), [1.0, 3.0])
    assert line(2.0) == 5.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        line.slope = 3.0


@pytest.mark.parametrize("x0", [float("nan"), float("inf")])
def test_tangent_at_non_finite_point_raises(x0):
    with pytest.raises(ValueError, match="x0 must be finite"):
        tangent_line(math.sin, x0)
