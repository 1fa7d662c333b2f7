"""Gradient descent: closed-form iterates, divergence, criteria, linear regression."""

import warnings

import numpy as np
import pytest
import torch

from lecturelib.descent import (
    GROWTH,
    gradient_descent,
    iterate,
    least_squares,
    linear_regression_numpy,
    linear_regression_torch,
    make_linear_data,
    random_restarts,
)
from lecturelib.landscapes import DoubleWell, IllConditionedBowl, Parabola, Rosenbrock


def curvatures(landscape):
    return landscape.curvatures if hasattr(landscape, "curvatures") else [landscape.curvature]


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warning may escape a diverging run
        yield


def test_parabola_iterates_match_the_closed_form():
    # x_t - c = (1 - α f'')^t (x_0 - c) for f = a (x - c)^2, f'' = 2a
    f, lr, x0 = Parabola(a=1.5, center=0.5), 0.1, 3.0
    run = gradient_descent(f, x0, lr, 25)
    t = np.arange(26)
    np.testing.assert_allclose(run.points, f.center + (1 - lr * f.curvature) ** t * (x0 - f.center))
    np.testing.assert_allclose(run.losses, f(run.points))
    np.testing.assert_allclose(run.grad_norms, np.abs(f.grad(run.points)))
    assert run.stop_reason == "steps" and run.stopped_at == 25 and not run.diverged


def test_bowl_iterates_match_the_closed_form_per_coordinate():
    bowl, lr, x0 = IllConditionedBowl(a=1.0, b=10.0), 0.15, np.array([2.0, -1.0])
    run = gradient_descent(bowl, x0, lr, 30)
    factors = 1 - lr * np.array(bowl.curvatures)  # (2,)
    expected = x0 * factors ** np.arange(31)[:, None]  # (31, 2)
    np.testing.assert_allclose(run.points, expected, atol=1e-15)


def test_matches_torch_sgd_as_the_oracle():
    f, x0, lr = Rosenbrock(), np.array([-1.5, 2.0]), 1e-3
    run = gradient_descent(f, x0, lr, 200)
    p = torch.tensor(x0, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    points = [p.detach().clone()]
    for _ in range(200):
        opt.zero_grad()
        f(p).backward()
        opt.step()
        points.append(p.detach().clone())
    torch.testing.assert_close(torch.from_numpy(run.points), torch.stack(points))


@pytest.mark.parametrize("factor", [1.05, 1.5, 3.0, 20.0])
@pytest.mark.parametrize(
    ("landscape", "x0"),
    [(Parabola(a=2.0), 1.0), (IllConditionedBowl(a=1.0, b=10.0), np.array([1.0, 1.0]))],
)
def test_diverges_above_the_critical_rate(landscape, x0, factor):
    critical = 2 / max(curvatures(landscape))
    run = gradient_descent(landscape, x0, factor * critical, 2000)
    assert run.diverged and run.stop_reason == "diverged"
    assert run.summary() == f"diverged at step {run.diverged_at}"
    assert np.all(np.isfinite(run.points)) and np.all(np.isfinite(run.losses))
    assert run.stopped_at == run.diverged_at - 1 == len(run.points) - 1


@pytest.mark.parametrize("factor", [0.1, 0.5, 0.95, 0.999])
@pytest.mark.parametrize(
    ("landscape", "x0"),
    [(Parabola(a=2.0), 1.0), (IllConditionedBowl(a=1.0, b=10.0), np.array([1.0, 1.0]))],
)
def test_converges_below_the_critical_rate(landscape, x0, factor):
    critical = 2 / max(curvatures(landscape))
    run = gradient_descent(landscape, x0, factor * critical, 20000, tol=1e-8)
    assert not run.diverged and run.converged and run.grad_norms[-1] < 1e-8


def test_divergence_is_reported_at_the_first_blown_up_step():
    run = gradient_descent(Parabola(a=1.0), 1.0, 3.0, 100)  # x_t = (-5)^t, J_t = 25^t
    # the loss is the first to pass GROWTH * (J_0 + 1): 25^t > 2e6 first at t = 5
    assert run.diverged_at == int(np.ceil(np.log(GROWTH * 2) / np.log(25))) == 5
    np.testing.assert_allclose(run.points, (-5.0) ** np.arange(5))
    assert not run.converged


def test_a_point_that_overflows_is_caught_without_warnings():
    run = gradient_descent(Rosenbrock(), np.array([-1.5, 2.0]), 0.05, 100)
    assert run.diverged and run.diverged_at <= 5


@pytest.mark.parametrize(
    ("criterion", "tol", "check"),
    [
        ("grad_norm", 1e-6, lambda r: r.grad_norms),
        ("loss_change", 1e-10, lambda r: np.r_[np.inf, np.abs(np.diff(r.losses))]),
        ("step_size", 1e-6, lambda r: np.r_[np.inf, np.abs(np.diff(r.points))]),
    ],
)
def test_each_criterion_stops_at_the_first_step_below_tol(criterion, tol, check):
    run = gradient_descent(Parabola(), 2.0, 0.1, 10_000, tol=tol, criterion=criterion)
    values = check(run)
    assert run.stop_reason == criterion and run.converged
    assert values[-1] < tol and np.all(values[1:-1] >= tol)
    assert run.summary().startswith(f"converged after {run.stopped_at} steps")


def test_a_bare_gradient_function_works_and_has_no_losses():
    run = gradient_descent(lambda x: 2 * x, np.array([1.0, -2.0]), 0.25, 10)
    np.testing.assert_allclose(run.points[-1], np.array([1.0, -2.0]) * 0.5**10)
    assert np.all(np.isnan(run.losses))


def test_rising_loss_is_described():
    run = gradient_descent(Parabola(a=1.0), 1.0, 1.05, 10)
    assert not run.diverged and run.summary().startswith("loss rising: 1 → ")


def test_random_restarts_are_reproducible_with_a_seed():
    f = DoubleWell()
    a = random_restarts(f, 10, 0.01, 300, seed=3)
    b = random_restarts(f, 10, 0.01, 300, seed=3)
    c = random_restarts(f, 10, 0.01, 300, seed=4)
    assert [r.points[0] for r in a] == [r.points[0] for r in b]
    assert [r.points[0] for r in a] != [r.points[0] for r in c]
    lo, hi = f.domain
    assert all(lo <= r.points[0] <= hi for r in a)
    ends = {round(float(r.final), 3) for r in a}
    assert ends <= {round(f.global_minimum, 3), round(f.local_minimum, 3)}


def test_random_restarts_in_2d_cover_the_domain():
    runs = random_restarts(Rosenbrock(), 50, 1e-4, 1, seed=0)
    starts = np.array([r.points[0] for r in runs])  # (50, 2)
    (xlo, xhi), (ylo, yhi) = Rosenbrock().domain
    assert starts.shape == (50, 2)
    assert np.all((starts[:, 0] >= xlo) & (starts[:, 0] <= xhi))
    assert np.all((starts[:, 1] >= ylo) & (starts[:, 1] <= yhi))


@pytest.mark.parametrize("fit", [linear_regression_numpy, linear_regression_torch])
def test_linear_regression_matches_least_squares(fit):
    x, y = make_linear_data(200, slope=2.0, intercept=-1.0, noise=0.3, seed=0)
    w, b, losses = fit(x, y, lr=0.1, steps=3000, seed=0)
    w_ls, b_ls = least_squares(x, y)
    assert abs(w - w_ls) < 1e-4 and abs(b - b_ls) < 1e-4
    assert losses.shape == (3000,) and np.all(np.diff(losses) <= 1e-12)  # never rises
    assert abs(w_ls - 2.0) < 0.1 and abs(b_ls + 1.0) < 0.1  # and near the true line


def test_numpy_and_torch_regression_agree_step_by_step():
    x, y = make_linear_data(50, slope=-1.0, intercept=0.5, noise=0.1, seed=1)
    w1, b1, l1 = linear_regression_numpy(x, y, 0.05, 200, seed=2)
    w2, b2, l2 = linear_regression_torch(x, y, 0.05, 200, seed=2)
    np.testing.assert_allclose(l1, l2, rtol=1e-12)
    assert w1 == pytest.approx(w2, rel=1e-12) and b1 == pytest.approx(b2, rel=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"lr": 0.0}, ValueError, "lr must be a finite number > 0, got 0.0"),
        ({"lr": -0.1}, ValueError, "lr must be"),
        ({"lr": float("nan")}, ValueError, "lr must be"),
        ({"steps": 0}, ValueError, "steps must be an int >= 1, got 0"),
        ({"steps": 2.5}, ValueError, "steps must be an int"),
        ({"x0": np.array([1.0, 2.0])}, ValueError, r"x0 must have shape \(\) for the 1-D"),
        ({"tol": 0.0}, ValueError, "tol must be > 0"),
        ({"criterion": "patience"}, ValueError, "criterion must be one of"),
        ({"x0": float("nan")}, ValueError, "x0 must be a finite point"),
    ],
)
def test_bad_arguments_say_what_is_wrong(kwargs, error, match):
    args = {"x0": 1.0, "lr": 0.1, "steps": 10} | kwargs
    with pytest.raises(error, match=match):
        gradient_descent(Parabola(), args.pop("x0"), args.pop("lr"), args.pop("steps"), **args)


def test_bad_landscape_arguments():
    with pytest.raises(ValueError, match=r"x0 must have shape \(2,\) for the 2-D"):
        gradient_descent(Rosenbrock(), np.zeros(3), 0.1, 10)
    with pytest.raises(TypeError, match="must be a Landscape or a gradient function"):
        gradient_descent(3.0, 1.0, 0.1, 10)
    with pytest.raises(ValueError, match="needs a loss function"):
        iterate(lambda x, g, t: x - g, 1.0, lambda x: x, 10, tol=1e-3, criterion="loss_change")
    with pytest.raises(ValueError, match="x and y must be 1-D of equal length"):
        linear_regression_numpy(np.zeros(3), np.zeros(4), 0.1, 10, seed=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        random_restarts(Parabola(), 0, 0.1, 10, seed=0)
