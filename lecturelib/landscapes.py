r"""Loss landscapes: the 1-D and 2-D functions that later chapters descend.

Each landscape is a callable with its exact, hand-derived gradient. The same code runs on
numpy arrays and torch tensors (only ``+ - * **`` and indexing), so ``torch.autograd``
through ``f(x)`` agrees with ``f.grad(x)``; the tests check exactly that.

1-D landscapes act elementwise on any shape. 2-D landscapes take points of shape ``(..., 2)``
(last axis = ``(x, y)``) and return values of shape ``(...)``.

>>> bowl = get_landscape("bowl")  # f(x, y) = (x^2 + 10 y^2) / 2
>>> bowl.grad(np.array([1.0, 1.0]))
array([ 1., 10.])

References: Rosenbrock, "An automatic method for finding the greatest or least value of a
function", The Computer Journal 3(3), 1960; Goodfellow, Bengio & Courville, *Deep Learning*,
sections 4.3 (ill conditioning, saddle points) and 8.2.
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "LANDSCAPES",
    "DoubleWell",
    "IllConditionedBowl",
    "Landscape",
    "Line",
    "Parabola",
    "Rosenbrock",
    "Saddle",
    "get_landscape",
]

ArrayOrTensor = np.ndarray | torch.Tensor


def _point(*coords: float) -> np.ndarray:
    """A read-only float64 point, so a shared minimum cannot be changed by accident."""
    p = np.array(coords, dtype=np.float64)
    p.setflags(write=False)
    return p


def _check(name: str, value: float, positive: bool = False) -> float:
    value = float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        raise ValueError(f"{name} must be a finite number{' > 0' if positive else ''}, got {value}")
    return value


class Landscape:
    """Base class: a function of ``dim`` (1 or 2) variables with its exact gradient.

    Subclasses override the attributes below (class defaults: no minimum) and implement
    ``_value`` and ``_grad`` on the coordinates (``x`` for 1-D, ``x, y`` for 2-D).

    Attributes:
        name: short name, the key in :data:`LANDSCAPES`.
        dim: number of variables, 1 or 2.
        formula: the function as a LaTeX string, for plot titles.
        domain: plotting range, ``(lo, hi)`` for 1-D, ``((xlo, xhi), (ylo, yhi))`` for 2-D.
        minima: the local minima (floats for 1-D, arrays of shape ``(2,)`` for 2-D), the
            global one first; ``()`` when there is none.
        global_minimum: the point of the lowest value, or None when there is none.
        min_value: the value there, or None.
    """

    name: str = "landscape"
    dim: int = 1
    formula: str = ""
    domain: tuple = (-1.0, 1.0)
    minima: tuple = ()
    global_minimum: float | np.ndarray | None = None
    min_value: float | None = None
    _params: tuple[str, ...] = ()  # constructor arguments, for __repr__

    def __call__(self, x: ArrayOrTensor | float | list) -> ArrayOrTensor:
        """Value of the landscape at ``x`` (shape ``x.shape`` for 1-D, ``x.shape[:-1]`` for 2-D)."""
        x = self._prepare(x)
        return self._value(x) if self.dim == 1 else self._value(x[..., 0], x[..., 1])

    def grad(self, x: ArrayOrTensor | float | list) -> ArrayOrTensor:
        """Exact gradient at ``x``: same shape and kind (numpy or torch) as ``x``."""
        x = self._prepare(x)
        if self.dim == 1:
            return self._grad(x)
        gx, gy = self._grad(x[..., 0], x[..., 1])
        stack = torch.stack if isinstance(x, torch.Tensor) else np.stack
        return stack([gx, gy], -1)  # (..., 2)

    def _prepare(self, x: object) -> ArrayOrTensor:
        """Tensors pass through; anything else becomes a float numpy array; check the shape."""
        if not isinstance(x, torch.Tensor):
            x = np.asarray(x)
            if not np.issubdtype(x.dtype, np.floating):
                x = x.astype(np.float64)
        if self.dim == 2 and (x.ndim == 0 or x.shape[-1] != 2):
            raise ValueError(
                f"x must have shape (..., 2) for the 2-D landscape {self.name!r}, "
                f"got shape {tuple(x.shape)}"
            )
        return x

    def _value(self, *coords: ArrayOrTensor) -> ArrayOrTensor:
        raise NotImplementedError

    def _grad(self, *coords: ArrayOrTensor) -> ArrayOrTensor | tuple[ArrayOrTensor, ...]:
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self._params)
        return f"{type(self).__name__}({args})"


class Line(Landscape):
    r"""A straight line, :math:`f(x) = m x + b`: the gradient is ``slope`` everywhere.

    No minimum: ``minima == ()``, ``global_minimum is None``. Domain ``(-3, 3)``.
    """

    name, dim, formula = "line", 1, r"f(x) = m x + b"
    _params = ("slope", "intercept")

    def __init__(self, slope: float = 2.0, intercept: float = 1.0) -> None:
        self.slope = _check("slope", slope)
        self.intercept = _check("intercept", intercept)
        self.domain = (-3.0, 3.0)

    def _value(self, x: ArrayOrTensor) -> ArrayOrTensor:
        return self.slope * x + self.intercept

    def _grad(self, x: ArrayOrTensor) -> ArrayOrTensor:
        if isinstance(x, torch.Tensor):
            return torch.full_like(x, self.slope)
        return np.full_like(x, self.slope)


class Parabola(Landscape):
    r"""A parabola, :math:`f(x) = a (x - c)^2` with :math:`a > 0`; :math:`f'(x) = 2a(x - c)`.

    ``curvature`` is :math:`f'' = 2a`; gradient descent on it converges exactly when
    ``lr < 2 / curvature``. Minimum ``center`` with value 0; domain ``(c - 3, c + 3)``.
    """

    name, dim, formula = "parabola", 1, r"f(x) = a (x - c)^2"
    _params = ("a", "center")

    def __init__(self, a: float = 1.0, center: float = 0.0) -> None:
        self.a = _check("a", a, positive=True)
        self.center = _check("center", center)
        self.curvature = 2 * self.a
        self.domain = (self.center - 3.0, self.center + 3.0)
        self.minima = (self.center,)
        self.global_minimum, self.min_value = self.center, 0.0

    def _value(self, x: ArrayOrTensor) -> ArrayOrTensor:
        return self.a * (x - self.center) ** 2

    def _grad(self, x: ArrayOrTensor) -> ArrayOrTensor:
        return 2 * self.a * (x - self.center)


class DoubleWell(Landscape):
    r"""A tilted double well, :math:`f(x) = x^4 - 3x^2 + x`; :math:`f'(x) = 4x^3 - 6x + 1`.

    Non-convex: a global minimum near -1.3008, a local maximum near 0.1699 and a worse local
    minimum near 1.1309, so where gradient descent ends depends on where it starts.
    Attributes ``global_minimum``, ``local_minimum``, ``local_maximum`` (exact to ~1e-16),
    ``minima == (global_minimum, local_minimum)``, ``min_value``. Domain ``(-2.2, 2.2)``.
    """

    name, dim, formula = "double_well", 1, r"f(x) = x^4 - 3x^2 + x"

    def __init__(self) -> None:
        # The critical points solve 4x^3 - 6x + 1 = 0. Its three real roots are (Viete's
        # trigonometric formula) x_k = sqrt(2) cos(theta/3 - 2 pi k/3), theta = arccos(-sqrt(2)/4),
        # k = 0, 1, 2; they agree with mpmath.findroot at 40 digits to within 1e-15:
        # 1.130901122629985850, 0.1699384433115912762, -1.300839565941577126.
        theta = math.acos(-math.sqrt(2) / 4)
        roots = (math.sqrt(2) * math.cos(theta / 3 - 2 * math.pi * k / 3) for k in range(3))
        self.local_minimum, self.local_maximum, self.global_minimum = roots
        self.minima = (self.global_minimum, self.local_minimum)
        self.min_value = float(self(self.global_minimum))  # -3.513905038934789
        self.domain = (-2.2, 2.2)

    def _value(self, x: ArrayOrTensor) -> ArrayOrTensor:
        return x**4 - 3 * x**2 + x

    def _grad(self, x: ArrayOrTensor) -> ArrayOrTensor:
        return 4 * x**3 - 6 * x + 1


class IllConditionedBowl(Landscape):
    r"""A quadratic bowl, :math:`f(x, y) = (a x^2 + b y^2) / 2`; :math:`\nabla f = (a x, b y)`.

    ``curvatures`` are the Hessian's eigenvalues ``(a, b)``; ``condition_number`` is
    ``max / min``. The larger it is, the narrower the valley and the more gradient descent
    zig-zags. Minimum ``(0, 0)`` with value 0; domain ``((-3, 3), (-3, 3))``.
    """

    name, dim, formula = "bowl", 2, r"f(x, y) = (a x^2 + b y^2) / 2"
    _params = ("a", "b")

    def __init__(self, a: float = 1.0, b: float = 10.0) -> None:
        self.a = _check("a", a, positive=True)
        self.b = _check("b", b, positive=True)
        self.curvatures = (self.a, self.b)
        self.condition_number = max(self.curvatures) / min(self.curvatures)
        self.domain = ((-3.0, 3.0), (-3.0, 3.0))
        self.global_minimum, self.min_value = _point(0.0, 0.0), 0.0
        self.minima = (self.global_minimum,)

    def _value(self, x: ArrayOrTensor, y: ArrayOrTensor) -> ArrayOrTensor:
        return (self.a * x**2 + self.b * y**2) / 2

    def _grad(self, x: ArrayOrTensor, y: ArrayOrTensor) -> tuple[ArrayOrTensor, ArrayOrTensor]:
        return self.a * x, self.b * y


class Rosenbrock(Landscape):
    r"""Rosenbrock's banana valley, :math:`f(x, y) = (a - x)^2 + b (y - x^2)^2`.

    .. math:: \nabla f = \bigl(-2(a - x) - 4 b x (y - x^2),\; 2 b (y - x^2)\bigr)

    The minimum ``(a, a^2)`` (value 0) lies in a curved, flat-bottomed valley that is
    easy to find and slow to follow. Domain ``((-2, 2), (-1, 3))``, widened if needed to
    contain the minimum.
    """

    name, dim, formula = "rosenbrock", 2, r"f(x, y) = (a - x)^2 + b (y - x^2)^2"
    _params = ("a", "b")

    def __init__(self, a: float = 1.0, b: float = 100.0) -> None:
        self.a = _check("a", a)
        self.b = _check("b", b, positive=True)
        self.global_minimum, self.min_value = _point(self.a, self.a**2), 0.0
        self.minima = (self.global_minimum,)
        self.domain = (
            (min(-2.0, self.a - 1), max(2.0, self.a + 1)),
            (min(-1.0, self.a**2 - 1), max(3.0, self.a**2 + 1)),
        )

    def _value(self, x: ArrayOrTensor, y: ArrayOrTensor) -> ArrayOrTensor:
        return (self.a - x) ** 2 + self.b * (y - x**2) ** 2

    def _grad(self, x: ArrayOrTensor, y: ArrayOrTensor) -> tuple[ArrayOrTensor, ArrayOrTensor]:
        valley = y - x**2
        return -2 * (self.a - x) - 4 * self.b * x * valley, 2 * self.b * valley


class Saddle(Landscape):
    r"""A saddle, :math:`f(x, y) = x^2 - y^2`; :math:`\nabla f = (2x, -2y)`.

    The gradient vanishes at ``saddle_point == (0, 0)``, which is a minimum along x and a
    maximum along y; there is no minimum (``minima == ()``). Domain ``((-2, 2), (-2, 2))``.
    """

    name, dim, formula = "saddle", 2, r"f(x, y) = x^2 - y^2"

    def __init__(self) -> None:
        self.saddle_point = _point(0.0, 0.0)
        self.domain = ((-2.0, 2.0), (-2.0, 2.0))

    def _value(self, x: ArrayOrTensor, y: ArrayOrTensor) -> ArrayOrTensor:
        return x**2 - y**2

    def _grad(self, x: ArrayOrTensor, y: ArrayOrTensor) -> tuple[ArrayOrTensor, ArrayOrTensor]:
        return 2 * x, -2 * y


LANDSCAPES: dict[str, type[Landscape]] = {
    cls.name: cls for cls in (Line, Parabola, DoubleWell, IllConditionedBowl, Rosenbrock, Saddle)
}
"""Short name -> landscape class; ``get_landscape(name)`` builds one."""


def get_landscape(name: str, **params: float) -> Landscape:
    """The landscape called ``name`` (a key of :data:`LANDSCAPES`), built with ``params``.

    Example:
        >>> get_landscape("bowl", b=100.0).condition_number
        100.0
    """
    if name not in LANDSCAPES:
        raise ValueError(f"unknown landscape {name!r}; expected one of {sorted(LANDSCAPES)}")
    return LANDSCAPES[name](**params)
