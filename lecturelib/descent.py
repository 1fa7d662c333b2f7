r"""Gradient descent: the update rule, stopping criteria, divergence, linear regression.

The lecture's rule, repeated until convergence:

.. math:: \theta_j := \theta_j - \alpha \frac{\partial J}{\partial \theta_j}

:func:`gradient_descent` runs it on a landscape (or any gradient function) and returns
a :class:`Trajectory`. Divergence is detected and recorded, never raised: the run stops
at the first step whose point, loss or gradient is non-finite or has blown up, and no
overflow warning escapes. :func:`iterate` is the loop itself, shared by every update
rule (the optimizers chapter passes its own ``step``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lecturelib.landscapes import Landscape

__all__ = [
    "CRITERIA",
    "GROWTH",
    "Trajectory",
    "gradient_descent",
    "iterate",
    "least_squares",
    "linear_regression_numpy",
    "linear_regression_torch",
    "make_linear_data",
    "random_restarts",
]

CRITERIA = ("grad_norm", "loss_change", "step_size")
GROWTH = 1e6  # a run whose point, loss or gradient grows a million-fold has diverged


@dataclass(frozen=True)
class Trajectory:
    """What a descent run did, step by step.

    Attributes:
        points: iterates x_0, ..., x_k, shape ``(k + 1,)`` in 1-D or ``(k + 1, dim)``.
        losses: J(x_t) for every iterate (NaN where no loss function was given).
        grad_norms: ‖∇J(x_t)‖ for every iterate.
        stop_reason: ``"steps"`` (budget used), a criterion name, or ``"diverged"``.
        stopped_at: the number of steps taken, k.
        diverged_at: the step whose iterate blew up, else None; that iterate is not in
            ``points``. A run diverges when its point, loss or gradient norm becomes
            non-finite or grows more than a million-fold (``GROWTH``) over its start.
    """

    points: np.ndarray
    losses: np.ndarray
    grad_norms: np.ndarray
    stop_reason: str
    stopped_at: int
    diverged_at: int | None = None

    @property
    def diverged(self) -> bool:
        """True when the run blew up."""
        return self.diverged_at is not None

    @property
    def converged(self) -> bool:
        """True when a convergence criterion (not the step budget) stopped the run."""
        return self.stop_reason in CRITERIA

    @property
    def final(self) -> np.ndarray:
        """The last finite iterate."""
        return self.points[-1]

    def summary(self) -> str:
        """One line for a plot title or a table."""
        if self.diverged:
            return f"diverged at step {self.diverged_at}"
        first, last = self.losses[0], self.losses[-1]
        if last > first:
            return f"loss rising: {first:.3g} → {last:.3g} in {self.stopped_at} steps"
        how = "converged" if self.converged else "stopped"
        return f"{how} after {self.stopped_at} steps, loss {last:.3g}"


def _check_run(lr: float, steps: int, tol: float | None, criterion: str) -> None:
    if not np.isfinite(lr) or lr <= 0:
        raise ValueError(f"lr must be a finite number > 0, got {lr}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"steps must be an int >= 1, got {steps!r}")
    if tol is not None and not tol > 0:
        raise ValueError(f"tol must be > 0 or None, got {tol}")
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {list(CRITERIA)}, got {criterion!r}")


def _blown_up(values: tuple, start: tuple | None) -> bool:
    """Non-finite, or grown more than GROWTH-fold over the start's (size + 1)."""
    if not all(np.all(np.isfinite(v)) for v in values):
        return True
    if start is None:
        return False
    return any(
        np.max(np.abs(v)) > GROWTH * (np.max(np.abs(v0)) + 1)
        for v, v0 in zip(values, start, strict=True)
    )


def iterate(
    step: Callable[[np.ndarray, np.ndarray, int], np.ndarray],
    x0: np.ndarray | float,
    grad: Callable[[np.ndarray], np.ndarray],
    steps: int,
    *,
    loss: Callable[[np.ndarray], float] | None = None,
    tol: float | None = None,
    criterion: str = "grad_norm",
) -> Trajectory:
    """Run ``x_{t+1} = step(x_t, grad(x_t), t)`` for at most ``steps`` steps.

    Stops early when ``criterion`` falls below ``tol``: ``"grad_norm"``
    (‖∇J(x_t)‖ < tol), ``"loss_change"`` (|J(x_t) − J(x_{t−1})| < tol) or
    ``"step_size"`` (‖x_t − x_{t−1}‖ < tol); or when the run diverges.
    """
    _check_run(1.0, steps, tol, criterion)
    if criterion == "loss_change" and tol is not None and loss is None:
        raise ValueError("criterion='loss_change' needs a loss function")
    x = np.array(x0, dtype=np.float64)
    points, losses, norms = [], [], []
    reason, diverged_at, start = "steps", None, None
    with np.errstate(all="ignore"):  # divergence is detected below, not warned about
        for t in range(steps + 1):
            g = np.asarray(grad(x), dtype=np.float64)
            value = float(loss(x)) if loss is not None else np.nan
            norm = float(np.linalg.norm(g))
            values = (x, norm, value if loss is not None else 0.0)
            if _blown_up(values, start):
                reason, diverged_at = "diverged", t
                break
            start = start or values
            points.append(x)
            losses.append(value)
            norms.append(norm)
            if tol is not None and t > 0:
                change = {
                    "grad_norm": norm,
                    "loss_change": abs(value - losses[-2]) if len(losses) > 1 else np.inf,
                    "step_size": float(np.linalg.norm(x - points[-2])),
                }[criterion]
                if change < tol:
                    reason = criterion
                    break
            if t == steps:
                break
            x = np.asarray(step(x, g, t), dtype=np.float64)
    if not points:
        raise ValueError(f"x0 must be a finite point, got {x0!r}")
    return Trajectory(
        points=np.array(points),
        losses=np.array(losses),
        grad_norms=np.array(norms),
        stop_reason=reason,
        stopped_at=len(points) - 1,
        diverged_at=diverged_at,
    )


def gradient_descent(
    landscape_or_grad_fn: Landscape | Callable[[np.ndarray], np.ndarray],
    x0: np.ndarray | float,
    lr: float,
    steps: int,
    *,
    tol: float | None = None,
    criterion: str = "grad_norm",
    loss: Callable[[np.ndarray], float] | None = None,
) -> Trajectory:
    r"""Plain gradient descent, :math:`x_{t+1} = x_t - \alpha \nabla J(x_t)`.

    Args:
        landscape_or_grad_fn: a :class:`~lecturelib.landscapes.Landscape` (its value is
            the loss) or a function returning the gradient at a point.
        x0: starting point: a number for a 1-D landscape, shape ``(dim,)`` otherwise.
        lr: the learning rate α > 0.
        steps: the step budget (≥ 1).
        tol, criterion: optional early stop, see :func:`iterate`.
        loss: the loss function when a bare gradient function is given.

    Returns:
        The :class:`Trajectory`; a diverging run is recorded, not raised.
    """
    _check_run(lr, steps, tol, criterion)
    if isinstance(landscape_or_grad_fn, Landscape):
        landscape = landscape_or_grad_fn
        expected = () if landscape.dim == 1 else (landscape.dim,)
        if np.shape(x0) != expected:
            raise ValueError(
                f"x0 must have shape {expected} for the {landscape.dim}-D landscape "
                f"{landscape.name!r}, got shape {np.shape(x0)}"
            )
        grad, loss = landscape.grad, landscape
    elif callable(landscape_or_grad_fn):
        grad = landscape_or_grad_fn
    else:
        raise TypeError(
            "landscape_or_grad_fn must be a Landscape or a gradient function, got "
            f"{type(landscape_or_grad_fn).__name__}"
        )
    return iterate(
        lambda x, g, t: x - lr * g,  # θ := θ − α ∂J/∂θ
        x0,
        grad,
        steps,
        loss=loss,
        tol=tol,
        criterion=criterion,
    )


def random_restarts(
    landscape: Landscape, n: int, lr: float, steps: int, *, seed: int, **kwargs: object
) -> list[Trajectory]:
    """Gradient descent from ``n`` starting points drawn uniformly over the domain."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    if landscape.dim == 1:
        starts = rng.uniform(*landscape.domain, size=n)
    else:
        lows, highs = np.array(landscape.domain).T  # domain: ((xlo, xhi), (ylo, yhi))
        starts = rng.uniform(lows, highs, size=(n, landscape.dim))
    return [gradient_descent(landscape, x0, lr, steps, **kwargs) for x0 in starts]


# -- linear regression -----------------------------------------------------------------
def make_linear_data(
    n: int, slope: float, intercept: float, noise: float, *, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Points ``y = slope * x + intercept + noise * ε`` with x ~ U(−1, 1), ε ~ N(0, 1).

    Returns ``x`` and ``y``, both of shape ``(n,)``.
    """
    if n < 2:
        raise ValueError(f"n must be >= 2, got {n}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=n)
    return x, slope * x + intercept + noise * rng.standard_normal(n)


def least_squares(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """The closed-form fit (w, b) minimising the mean squared error of ``w x + b``."""
    A = np.column_stack([x, np.ones_like(x)])  # (n, 2)
    (w, b), *_ = np.linalg.lstsq(A, y, rcond=None)
    return float(w), float(b)


def _check_xy(x: np.ndarray, y: np.ndarray) -> None:
    if np.ndim(x) != 1 or np.shape(x) != np.shape(y):
        raise ValueError(f"x and y must be 1-D of equal length, got {np.shape(x)}, {np.shape(y)}")


def linear_regression_numpy(
    x: np.ndarray, y: np.ndarray, lr: float, steps: int, *, seed: int
) -> tuple[float, float, np.ndarray]:
    r"""Fit ``y ≈ w x + b`` by gradient descent on the mean squared error, in numpy.

    .. math:: J = \frac{1}{n}\sum_i (w x_i + b - y_i)^2,\quad
              \frac{\partial J}{\partial w} = \frac{2}{n}\sum_i e_i x_i,\quad
              \frac{\partial J}{\partial b} = \frac{2}{n}\sum_i e_i

    with :math:`e_i = w x_i + b - y_i`. Returns ``w``, ``b`` and the loss per step.
    """
    _check_xy(x, y)
    _check_run(lr, steps, None, "grad_norm")
    w, b = np.random.default_rng(seed).standard_normal(2)  # 1. initialise randomly
    losses = np.empty(steps)
    for t in range(steps):
        error = w * x + b - y  # 2. forward pass
        losses[t] = np.mean(error**2)  # 3. loss
        dw, db = 2 * np.mean(error * x), 2 * np.mean(error)  # 4. gradient
        w, b = w - lr * dw, b - lr * db  # 5. step against it
    return float(w), float(b), losses


def linear_regression_torch(
    x: np.ndarray, y: np.ndarray, lr: float, steps: int, *, seed: int, device: str | None = None
) -> tuple[float, float, np.ndarray]:
    """The same fit with PyTorch: autograd computes the gradient, float64 throughout."""
    _check_xy(x, y)
    _check_run(lr, steps, None, "grad_norm")
    from lecturelib import device as default_device

    dev = torch.device(device) if device is not None else default_device()
    w, b = (
        torch.tensor(v, device=dev, requires_grad=True)
        for v in np.random.default_rng(seed).standard_normal(2)
    )
    xt = torch.as_tensor(x, dtype=torch.float64, device=dev)
    yt = torch.as_tensor(y, dtype=torch.float64, device=dev)
    losses = np.empty(steps)
    for t in range(steps):
        loss = ((w * xt + b - yt) ** 2).mean()
        w.grad = b.grad = None
        loss.backward()
        with torch.no_grad():
            w -= lr * w.grad
            b -= lr * b.grad
        losses[t] = loss.item()
    return w.item(), b.item(), losses
