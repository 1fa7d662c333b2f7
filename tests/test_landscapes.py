"""Landscapes: exact gradients against PyTorch autograd, minima, shapes and the registry."""

import numpy as np
import pytest
import torch
from torch.testing import assert_close

from lecturelib.landscapes import (
    LANDSCAPES,
    DoubleWell,
    IllConditionedBowl,
    Landscape,
    Line,
    Parabola,
    Rosenbrock,
    Saddle,
    get_landscape,
)

ALL = [
    Line(),
    Line(slope=-0.5, intercept=3.0),
    Parabola(),
    Parabola(a=2.5, center=-1.0),
    DoubleWell(),
    IllConditionedBowl(),
    IllConditionedBowl(a=4.0, b=0.5),
    Rosenbrock(),
    Rosenbrock(a=-1.5, b=10.0),
    Saddle(),
]
WITH_MINIMUM = [f for f in ALL if f.global_minimum is not None]


def random_points(f, n, seed):
    """n points (shape (n,) or (n, 2)) drawn uniformly from f's domain, slightly beyond."""
    rng = np.random.default_rng(seed)
    bounds = [f.domain] if f.dim == 1 else list(f.domain)
    pts = np.stack([rng.uniform(lo - 0.5, hi + 0.5, size=n) for lo, hi in bounds], axis=-1)
    return pts[:, 0] if f.dim == 1 else pts


def autograd(f, x):
    """The oracle: torch's gradient of sum(f(x)), i.e. f's gradient at every point of x."""
    x = torch.as_tensor(x, dtype=torch.float64).clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(x).sum(), x)
    return g


def grid(f, n):
    """Points of an n (x n) grid over f's domain, shape (n,) or (n * n, 2)."""
    if f.dim == 1:
        return np.linspace(*f.domain, n)
    xs, ys = (np.linspace(lo, hi, n) for lo, hi in f.domain)
    return np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)


@pytest.mark.parametrize("f", ALL, ids=repr)
def test_grad_matches_autograd_for_batched_torch_and_numpy(f):
    x = random_points(f, 200, seed=0)
    expected = autograd(f, x)

    g_torch = f.grad(torch.from_numpy(x))
    assert isinstance(g_torch, torch.Tensor) and g_torch.shape == x.shape
    assert_close(g_torch, expected)

    g_numpy = f.grad(x)
    assert isinstance(g_numpy, np.ndarray) and g_numpy.shape == x.shape
    assert_close(torch.from_numpy(g_numpy), expected)


@pytest.mark.parametrize("f", ALL, ids=repr)
def test_grad_matches_autograd_at_single_points(f):
    for x in random_points(f, 20, seed=1):
        expected = autograd(f, x)
        assert_close(torch.as_tensor(f.grad(x), dtype=torch.float64), expected)
        assert_close(f.grad(torch.from_numpy(np.asarray(x))), expected)
        value = f(torch.from_numpy(np.asarray(x)))
        assert value.shape == () and float(value) == pytest.approx(float(f(x)), rel=1e-15)


@pytest.mark.parametrize("f", ALL, ids=repr)
def test_values_keep_the_batch_shape(f):
    shape = (3, 4) if f.dim == 1 else (3, 4, 2)
    x = np.random.default_rng(2).normal(size=shape)
    assert f(x).shape == (3, 4)
    assert f(torch.from_numpy(x)).shape == (3, 4)
    assert f.grad(x).shape == shape
    assert f.grad(torch.from_numpy(x)).shape == shape
    assert f.grad(torch.from_numpy(x).float()).dtype == torch.float32  # kind and dtype kept


def test_python_floats_and_lists_are_accepted():
    assert DoubleWell()(2.0) == pytest.approx(16 - 12 + 2)
    assert Parabola(a=2.0).grad(1.5) == pytest.approx(6.0)
    np.testing.assert_allclose(Line()([0, 1, 2]), [1.0, 3.0, 5.0])
    assert Rosenbrock()([1.0, 1.0]) == 0.0
    np.testing.assert_allclose(IllConditionedBowl().grad([[1, 1], [2, -1]]), [[1, 10], [2, -10]])


@pytest.mark.parametrize("f", [f for f in ALL if f.dim == 2], ids=repr)
@pytest.mark.parametrize("shape", [(), (3,), (5, 3), (2, 1)], ids=str)
def test_two_d_landscapes_reject_a_wrong_last_axis(f, shape):
    for x in (np.zeros(shape), torch.zeros(shape)):
        with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)") as info:
            f(x)
        assert f"got shape {shape}" in str(info.value)
        with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
            f.grad(x)


@pytest.mark.parametrize("f", WITH_MINIMUM, ids=repr)
def test_minima_have_zero_gradient_and_are_lower_than_their_neighbours(f):
    assert f.minima[0] is f.global_minimum or np.array_equal(f.minima[0], f.global_minimum)
    assert f(f.global_minimum) == pytest.approx(f.min_value, abs=1e-14)
    angles = np.linspace(0, 2 * np.pi, 16, endpoint=False)
    directions = [1.0] if f.dim == 1 else [np.array([np.cos(t), np.sin(t)]) for t in angles]
    for m in f.minima:
        assert np.max(np.abs(f.grad(m))) < 1e-12
        for d in directions:
            for step in (1e-3, 1e-2):
                assert f(m + step * d) > f(m) and f(m - step * d) > f(m)


@pytest.mark.parametrize("f", WITH_MINIMUM, ids=repr)
def test_global_minimum_is_lowest_on_a_fine_grid(f):
    values = f(grid(f, 100_001 if f.dim == 1 else 501))
    assert values.min() >= f.min_value - 1e-12
    assert values.min() <= f.min_value + 1e-3  # and the grid gets close to it


def test_double_well_critical_points():
    f = DoubleWell()
    mpmath = pytest.importorskip("mpmath")
    with mpmath.workdps(40):  # the critical points, to 40 digits, solve f'(x) = 0
        for x, guess in [(f.global_minimum, -1.3), (f.local_maximum, 0.17), (f.local_minimum, 1.1)]:
            root = mpmath.findroot(lambda t: 4 * t**3 - 6 * t + 1, guess)
            assert abs(x - float(root)) < 1e-15
        low = mpmath.findroot(lambda t: 4 * t**3 - 6 * t + 1, -1.3)
        assert f.min_value == pytest.approx(float(low**4 - 3 * low**2 + low), rel=1e-15)
    assert f.minima == (f.global_minimum, f.local_minimum)
    assert f.global_minimum == pytest.approx(-1.3008395659415771, abs=1e-15)
    assert f.local_minimum == pytest.approx(1.1309011226299859, abs=1e-15)
    assert f.min_value == pytest.approx(-3.5139050389347890, abs=1e-14)
    assert f(f.local_minimum) > f.min_value  # the local minimum is a worse one
    assert f.domain[0] < f.global_minimum < f.local_maximum < f.local_minimum < f.domain[1]
    assert abs(f.grad(f.local_maximum)) < 1e-12
    assert f(f.local_maximum) > f(f.local_maximum + 1e-3)  # a maximum, not a minimum
    assert f(f.local_maximum) > f(f.local_maximum - 1e-3)


@pytest.mark.parametrize("a", [0.1, 1.0, 7.5])
def test_parabola_curvature_is_the_second_derivative(a):
    f = Parabola(a=a, center=0.3)
    h = 1e-3
    for x in (-2.0, 0.3, 1.7):
        second = (f(x + h) - 2 * f(x) + f(x - h)) / h**2
        assert second == pytest.approx(f.curvature, rel=1e-6)
        x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        (g,) = torch.autograd.grad(f(x_t), x_t, create_graph=True)
        (gg,) = torch.autograd.grad(g, x_t)
        assert gg.item() == pytest.approx(f.curvature, rel=1e-15)


def test_bowl_curvatures_and_condition_number():
    f = IllConditionedBowl(a=2.0, b=50.0)
    assert f.curvatures == (2.0, 50.0)
    assert f.condition_number == 25.0
    assert IllConditionedBowl(a=8.0, b=2.0).condition_number == 4.0
    hessian = torch.autograd.functional.hessian(f, torch.tensor([0.3, -0.2], dtype=torch.float64))
    assert_close(hessian, torch.diag(torch.tensor([2.0, 50.0], dtype=torch.float64)))


def test_rosenbrock_minimum_moves_with_a():
    f = Rosenbrock(a=-1.5, b=10.0)
    np.testing.assert_array_equal(f.global_minimum, [-1.5, 2.25])
    (xlo, xhi), (ylo, yhi) = f.domain
    assert xlo < -1.5 < xhi and ylo < 2.25 < yhi
    assert Rosenbrock().domain == ((-2.0, 2.0), (-1.0, 3.0))


def test_line_and_saddle_have_no_minimum():
    for f in (Line(), Saddle()):
        assert f.minima == () and f.global_minimum is None and f.min_value is None
    s = Saddle()
    np.testing.assert_array_equal(s.grad(s.saddle_point), [0.0, 0.0])
    assert s(s.saddle_point + [1e-3, 0.0]) > 0 > s(s.saddle_point + [0.0, 1e-3])


def test_shared_minima_are_read_only():
    with pytest.raises(ValueError, match="read-only"):
        Rosenbrock().global_minimum[0] = 5.0


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (lambda: Parabola(a=0.0), "a"),
        (lambda: Parabola(a=-1.0), "a"),
        (lambda: IllConditionedBowl(b=-2.0), "b"),
        (lambda: IllConditionedBowl(a=float("nan")), "a"),
        (lambda: Rosenbrock(b=0.0), "b"),
        (lambda: Line(slope=float("inf")), "slope"),
    ],
)
def test_bad_parameters_raise_naming_them(make, name):
    with pytest.raises(ValueError, match=rf"^{name} must be"):
        make()


def test_registry_builds_default_and_custom_instances():
    assert sorted(LANDSCAPES) == ["bowl", "double_well", "line", "parabola", "rosenbrock", "saddle"]
    for name in LANDSCAPES:
        f = get_landscape(name)
        assert isinstance(f, Landscape) and f.name == name and f.dim in (1, 2)
        assert repr(f) == repr(type(f)())
    assert repr(get_landscape("bowl", b=100.0)) == "IllConditionedBowl(a=1.0, b=100.0)"
    assert get_landscape("bowl", b=100.0).condition_number == 100.0
    assert repr(DoubleWell()) == "DoubleWell()"


def test_unknown_landscape_lists_the_valid_names():
    with pytest.raises(ValueError, match="unknown landscape 'valley'") as info:
        get_landscape("valley")
    for name in LANDSCAPES:
        assert name in str(info.value)
