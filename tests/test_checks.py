"""Auto-checked exercises: right answers pass, wrong ones fail with a useful hint."""

import numpy as np
import pytest

from lecturelib.checks import check_descent, check_forward_difference, check_rmsprop_step


def test_right_answer_passes():
    result = check_forward_difference(lambda f, x, h: (f(x + h) - f(x)) / h)
    assert result.passed and "Correct" in repr(result)


def test_stub_is_not_attempted_and_does_not_raise():
    result = check_forward_difference(lambda f, x, h: None)
    assert not result.passed and "Not attempted" in result.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h), "central difference"),
        (lambda f, x, h: (f(x) - f(x - h)) / h, "backward difference"),
        (lambda f, x, h: f(x + h) - f(x), "without dividing by h"),
        (lambda f, x, h: 0.0, ""),
    ],
)
def test_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=f"expected .*{hint}"):
        check_forward_difference(answer)


def test_not_a_function():
    with pytest.raises(TypeError, match="forward_difference must be a function"):
        check_forward_difference(3.0)


# -- check_descent -------------------------------------------------------------------
def right_descend(grad, x0, lr, steps):
    points = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        points.append(points[-1] - lr * grad(points[-1]))
    return np.array(points)


def test_descent_right_answer_passes():
    assert check_descent(right_descend).passed


def test_descent_stub_is_not_attempted():
    assert not check_descent(lambda grad, x0, lr, steps: None).passed


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda g, x0, lr, n: right_descend(g, x0, -lr, n), "Your points climb"),
        (lambda g, x0, lr, n: right_descend(g, x0, 1.0, n), "learning rate is missing"),
        (lambda g, x0, lr, n: right_descend(g, x0, lr, n)[1:], "x_0 to x_20"),
        (lambda g, x0, lr, n: right_descend(g, x0, lr / 2, n), "differ from gradient descent"),
    ],
)
def test_descent_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_descent(answer)


# -- check_rmsprop_step --------------------------------------------------------------
def right_rmsprop(theta, g, s, lr, alpha, eps):
    s = alpha * s + (1 - alpha) * g**2
    return theta - lr * g / (s.sqrt() + eps), s


def test_rmsprop_right_answer_passes():
    assert check_rmsprop_step(right_rmsprop).passed


def test_rmsprop_stub_is_not_attempted():
    assert not check_rmsprop_step(lambda *args: None).passed


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (
            lambda t, g, s, lr, a, e: (t, a * s + g**2),
            "weight \\(1 - alpha\\)",
        ),
        (
            lambda t, g, s, lr, a, e: (
                t - lr * g / ((a * s + (1 - a) * g**2 + e).sqrt()),
                a * s + (1 - a) * g**2,
            ),
            "eps outside the square root",
        ),
        (
            lambda t, g, s, lr, a, e: (
                t + lr * g / ((a * s + (1 - a) * g**2).sqrt() + e),
                a * s + (1 - a) * g**2,
            ),
            "Step against the gradient",
        ),
        (lambda t, g, s, lr, a, e: (t, a * s + (1 - a) * g), "squared"),
    ],
)
def test_rmsprop_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_rmsprop_step(answer)
