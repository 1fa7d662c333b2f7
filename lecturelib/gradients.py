r"""Derivatives from function values: slopes, tangent lines and finite-difference gradients.

The lecture builds the derivative as the limit of a slope, then uses the same idea to check
the gradients that autograd (or a hand-written backward pass) computes:

.. math:: \frac{\partial f}{\partial x_i}(x) \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

References: Nocedal & Wright, *Numerical Optimization* (2nd ed.), section 8.1, for central
differences and their :math:`O(h^2)` error; CS231n notes, "Gradient checks", for the relative
error used by :func:`gradient_check`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["TangentLine", "gradient_check", "numerical_gradient", "slope", "tangent_line"]

ArrayOrTensor = np.ndarray | torch.Tensor | float


def _is_real_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool)


def _check_step(h: object) -> float:
    """Return ``h`` as a float after checking it is a finite number > 0."""
    try:
        h = float(h)
    except (TypeError, ValueError):
        raise TypeError(f"h must be a real number, got {type(h).__name__}") from None
    if not (math.isfinite(h) and h > 0):
        raise ValueError(f"h must be a finite number > 0, got {h}")
    return h


def _scalar_output(value: object) -> float:
    """Return ``f``'s output as a float: a number, or an array/tensor with one element."""
    if isinstance(value, torch.Tensor | np.ndarray | np.generic):
        if (value.numel() if isinstance(value, torch.Tensor) else value.size) == 1:
            return float(value.item())
        raise ValueError(f"f must return a scalar, got output of shape {tuple(value.shape)}")
    if _is_real_number(value):
        return float(value)
    raise TypeError(f"f must return a real number, got {type(value).__name__}")


def numerical_gradient(
    f: Callable[[ArrayOrTensor], object], x: ArrayOrTensor, h: float = 1e-5
) -> ArrayOrTensor:
    r"""Gradient of a scalar function ``f`` at ``x`` by central differences.

    .. math:: g_i = \frac{f(x + h e_i) - f(x - h e_i)}{2h}

    The error is :math:`O(h^2)` (about :math:`h^2 f'''/6` per entry) until round-off,
    about :math:`\epsilon |f| / h`, takes over; ``h = 1e-5`` suits float64.

    Args:
        f: maps something of the same kind as ``x`` (numpy array, torch tensor or float)
            to a scalar (a float, or an array/tensor with one element).
        x: the point: a numpy array, a torch tensor (any shape, any device) or a real number.
            It is copied to float64 and never modified.
        h: the step, a finite number > 0.

    Returns:
        The gradient, of the same kind and shape as ``x`` and dtype float64 (a tensor on
        ``x``'s device, a numpy array, or a float).

    Example:
        >>> numerical_gradient(lambda x: (x**2).sum(), np.array([1.0, -2.0]))  # 2x
        array([ 2., -4.])
    """
    h = _check_step(h)
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"x must be real, got dtype {x.dtype}")
        base = x.detach().to(torch.float64, copy=True)
    elif isinstance(x, np.ndarray):
        if np.iscomplexobj(x):
            raise TypeError(f"x must be real, got dtype {x.dtype}")
        base = np.array(x, dtype=np.float64)
    elif _is_real_number(x):
        base = np.array(float(x))
    else:
        raise TypeError(
            f"x must be a numpy array, a torch tensor or a real number, got {type(x).__name__}"
        )
    values = base.cpu().numpy() if isinstance(base, torch.Tensor) else base
    if not np.isfinite(values).all():
        i = tuple(int(k) for k in np.argwhere(~np.isfinite(values))[0])
        raise ValueError(f"x must contain only finite values, got {values[i]} at index {i}")

    # f sees the kind it was written for: a float for a float x, else an array/tensor.
    as_input = (lambda a: float(a)) if _is_real_number(x) else (lambda a: a)
    copy = torch.clone if isinstance(base, torch.Tensor) else np.copy
    grad = copy(base)
    for i in np.ndindex(*base.shape):  # one index tuple per entry; () for a 0-d x
        plus, minus = copy(base), copy(base)
        plus[i] += h
        minus[i] -= h
        f_plus = _scalar_output(f(as_input(plus)))
        f_minus = _scalar_output(f(as_input(minus)))
        grad[i] = (f_plus - f_minus) / (2 * h)
    return float(grad) if _is_real_number(x) else grad


def gradient_check(
    f: Callable[[torch.Tensor], torch.Tensor], x: ArrayOrTensor, h: float = 1e-5
) -> float:
    r"""Relative error between the central-difference and the autograd gradient of ``f``.

    .. math:: \text{err} = \frac{\lVert g_\text{num} - g_\text{auto} \rVert}
                               {\max(\lVert g_\text{num} \rVert + \lVert g_\text{auto} \rVert,
                                     \text{tiny})}

    with :math:`g_\text{num}` from :func:`numerical_gradient` and :math:`g_\text{auto}` from
    ``torch.autograd``, both at ``x`` in float64 (``tiny`` is the smallest positive float64,
    so the error is 0.0 when both gradients are zero). A correct gradient of a smooth
    function gives about 1e-10; above about 1e-6, suspect the backward pass.

    Args:
        f: a torch-differentiable function from a tensor of ``x``'s shape to a scalar tensor.
        x: the point (numpy array, torch tensor or real number); it is not modified.
        h: the finite-difference step, a finite number > 0.

    Example:
        >>> gradient_check(lambda x: torch.sin(x).sum(), np.array([0.3, 1.2])) < 1e-8
        True
    """
    if isinstance(x, torch.Tensor):
        point = x.detach().to(torch.float64, copy=True)
    elif isinstance(x, np.ndarray) or _is_real_number(x):
        point = torch.tensor(x, dtype=torch.float64)
    else:
        raise TypeError(
            f"x must be a numpy array, a torch tensor or a real number, got {type(x).__name__}"
        )
    g_num = numerical_gradient(f, point, h)  # also checks h and that x is finite

    point.requires_grad_(True)
    with torch.enable_grad():
        out = f(point)
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"f must return a torch tensor, got {type(out).__name__}")
    _scalar_output(out.detach())  # rejects a non-scalar output
    if not out.requires_grad:
        raise ValueError(
            "f's output does not depend on x through autograd (requires_grad is False); "
            "gradient_check needs a torch-differentiable f"
        )
    (g_auto,) = torch.autograd.grad(out.reshape(()), point, allow_unused=True)
    if g_auto is None:
        g_auto = torch.zeros_like(point)

    tiny = torch.finfo(torch.float64).tiny
    diff = torch.linalg.vector_norm(g_num - g_auto).item()
    size = torch.linalg.vector_norm(g_num).item() + torch.linalg.vector_norm(g_auto).item()
    return diff / max(size, tiny)


def _as_point(p: object, name: str) -> tuple[float, float]:
    """Return ``p`` as ``(x, y)`` floats after checking it is a pair of finite numbers."""
    message = f"{name} must be a pair (x, y) of finite numbers, got {p!r}"
    if isinstance(p, str | bytes):
        raise ValueError(message)
    try:
        x, y = (float(v) for v in p)
    except (TypeError, ValueError):
        raise ValueError(message) from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise ValueError(message)
    return x, y


def slope(p1: tuple[float, float], p2: tuple[float, float]) -> float:
    r"""Slope of the line through ``p1 = (x1, y1)`` and ``p2 = (x2, y2)``: rise over run.

    .. math:: m = \frac{y_2 - y_1}{x_2 - x_1}

    Example:
        >>> slope((0, 1), (2, 5))
        2.0
    """
    x1, y1 = _as_point(p1, "p1")
    x2, y2 = _as_point(p2, "p2")
    if x1 == x2:
        raise ValueError(
            f"the line through p1 and p2 is vertical (x1 == x2 == {x1}); its slope is undefined"
        )
    return (y2 - y1) / (x2 - x1)


@dataclass(frozen=True)
class TangentLine:
    r"""The straight line :math:`y = \text{slope} \cdot x + \text{intercept}`.

    ``x0, y0`` is the point the line was built at (the point of tangency for
    :func:`tangent_line`), or None.

    Example:
        >>> TangentLine(slope=2.0, intercept=1.0)(np.array([0.0, 1.0]))
        array([1., 3.])
    """

    slope: float
    intercept: float
    x0: float | None = None
    y0: float | None = None

    def __call__(self, x: ArrayOrTensor) -> ArrayOrTensor:
        """Evaluate ``slope * x + intercept`` elementwise (floats, arrays, lists, tensors)."""
        if isinstance(x, list | tuple):
            x = np.asarray(x, dtype=np.float64)
        return self.slope * x + self.intercept


def tangent_line(f: Callable[[float], float], x0: float, h: float = 1e-5) -> TangentLine:
    r"""The tangent to the graph of a 1-D function ``f`` at ``x0``.

    .. math:: y = f(x_0) + f'(x_0)\,(x - x_0),

    with :math:`f'(x_0)` from :func:`numerical_gradient` (step ``h``), so ``f`` may be any
    function of a float (plain Python, numpy or torch returning a scalar).

    Returns:
        ``TangentLine(slope=f'(x0), intercept=f(x0) - f'(x0) x0, x0=x0, y0=f(x0))``.

    Example:
        >>> line = tangent_line(lambda x: x**2, 3.0)  # slope 6, through (3, 9)
        >>> round(line.slope, 6), round(line.intercept, 6)
        (6.0, -9.0)
    """
    if not _is_real_number(x0):
        raise TypeError(f"x0 must be a real number, got {type(x0).__name__}")
    x0 = float(x0)
    if not math.isfinite(x0):
        raise ValueError(f"x0 must be finite, got {x0}")
    m = numerical_gradient(f, x0, h)
    y0 = _scalar_output(f(x0))
    return TangentLine(slope=m, intercept=y0 - m * x0, x0=x0, y0=y0)
