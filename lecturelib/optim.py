r"""Optimizers from the lecture: SGD with momentum, AdaGrad, RMSProp and Adam.

Each class is a :class:`torch.optim.Optimizer` with the arguments, defaults and state
names of the torch class it mirrors, so it drops into a training loop and ``state_dict()``
moves between the two. Each update is one loop over the parameters; torch's production
paths (foreach, fused, capturable, sparse gradients, ``maximize``) are left out.
:func:`run_on_landscape` runs any optimizer class, ours or torch's, on a landscape.

Notation: θ the parameters, α the learning rate (``lr``), g_t the gradient at step t
(plus λθ when ``weight_decay`` λ > 0), ε (``eps``) a guard against dividing by zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from lecturelib.descent import Trajectory, iterate
from lecturelib.landscapes import Landscape

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "TORCH_OPTIMIZERS",
    "AdaGrad",
    "Adam",
    "RMSProp",
    "run_on_landscape",
]


def _check_nonnegative(**values: float) -> None:
    for name, value in values.items():
        if not value >= 0:  # also rejects NaN
            raise ValueError(f"{name} must be >= 0, got {value}")


def _evaluate(closure: Callable[[], torch.Tensor] | None) -> torch.Tensor | None:
    """The closure's loss, computed with autograd on (``step`` itself runs without)."""
    if closure is None:
        return None
    with torch.enable_grad():
        return closure()


# torch options that change the update rule and are not implemented here; a param group
# can still carry them, e.g. from a state dict saved by torch's optimizer.
_UNSUPPORTED = ("maximize", "decoupled_weight_decay")


def _gradients(optimizer: torch.optim.Optimizer) -> Iterator[tuple]:
    """(θ, g, its group's settings) for every parameter that has a gradient."""
    for group in optimizer.param_groups:
        for option in _UNSUPPORTED:
            if group.get(option):
                raise ValueError(
                    f"{type(optimizer).__name__} does not implement {option}=True (found in "
                    "a param group, e.g. from a loaded torch state dict); use torch.optim for it"
                )
        for p in group["params"]:
            if p.grad is not None:
                g = p.grad
                if group["weight_decay"] != 0:
                    g = g + group["weight_decay"] * p  # L2 penalty λ/2 ‖θ‖² in the gradient
                yield p, g, group


class SGD(torch.optim.Optimizer):
    r"""Stochastic gradient descent, with optional momentum (heavy ball or Nesterov).

    .. math::
        b_t = \mu b_{t-1} + (1 - \tau) g_t \quad (b_1 = g_1),\qquad
        \theta_t = \theta_{t-1} - \alpha
        \begin{cases} g_t & \mu = 0 \\ b_t & \text{momentum} \\
        g_t + \mu b_t & \text{Nesterov} \end{cases}

    Args (defaults as in ``torch.optim.SGD``):
        params: the parameters, or dicts of parameter groups with their own settings.
        lr: α (default 1e-3).
        momentum: μ (default 0: plain SGD). b_t is kept in ``state[p]["momentum_buffer"]``.
        dampening: τ (default 0).
        weight_decay: λ (default 0).
        nesterov: look ahead along the momentum (default False; needs μ > 0, τ = 0).

    References: Polyak, "Some methods of speeding up the convergence of iteration
    methods", USSR Comp. Math. and Math. Physics 4(5), 1964 (momentum); Sutskever,
    Martens, Dahl & Hinton, "On the importance of initialization and momentum in deep
    learning", ICML 2013 (Nesterov).
    """

    def __init__(
        self,
        params: object,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, momentum=momentum, weight_decay=weight_decay)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                "nesterov needs momentum > 0 and dampening == 0, "
                f"got momentum={momentum}, dampening={dampening}"
            )
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov,
        )  # fmt: skip
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter; returns the closure's loss (None without one)."""
        loss = _evaluate(closure)
        for p, g, group in _gradients(self):
            mu = group["momentum"]
            if mu != 0:
                state = self.state[p]
                if "momentum_buffer" not in state:
                    state["momentum_buffer"] = g.clone()  # b_1 = g_1
                else:
                    state["momentum_buffer"].mul_(mu).add_(g, alpha=1 - group["dampening"])
                b = state["momentum_buffer"]
                g = g + mu * b if group["nesterov"] else b
            p.sub_(group["lr"] * g)  # as θ − α g is written, so equal to gradient_descent
        return loss


class AdaGrad(torch.optim.Optimizer):
    r"""Adaptive gradient: each coordinate's step shrinks with its summed squared gradients.

    .. math::
        s_t = s_{t-1} + g_t^2,\qquad
        \theta_t = \theta_{t-1} - \frac{\alpha}{1 + (t-1)\eta}\,
        \frac{g_t}{\sqrt{s_t} + \epsilon}

    Args (defaults as in ``torch.optim.Adagrad``):
        params: the parameters, or dicts of parameter groups with their own settings.
        lr: α (default 1e-2).
        lr_decay: η (default 0).
        weight_decay: λ (default 0).
        initial_accumulator_value: s_0 (default 0).
        eps: ε (default 1e-10).

    ``state[p]`` holds ``step`` (t, a scalar tensor as in torch) and ``sum`` (s_t).

    Reference: Duchi, Hazan & Singer, "Adaptive subgradient methods for online learning
    and stochastic optimization", JMLR 12, 2011.
    """

    def __init__(
        self,
        params: object,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
    ) -> None:
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps,
        )  # fmt: skip
        _check_nonnegative(**defaults)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter; returns the closure's loss (None without one)."""
        loss = _evaluate(closure)
        for p, g, group in _gradients(self):
            state = self.state[p]
            if not state:
                state["step"] = torch.tensor(0.0)
                state["sum"] = torch.full_like(p, group["initial_accumulator_value"])
            state["step"] += 1
            t = state["step"].item()
            lr = group["lr"] / (1 + (t - 1) * group["lr_decay"])
            s = state["sum"].addcmul_(g, g)  # s_t
            p.addcdiv_(g, s.sqrt().add_(group["eps"]), value=-lr)
        return loss


class RMSProp(torch.optim.Optimizer):
    r"""Root-mean-square propagation: divide by a moving average of squared gradients.

    .. math::
        s_t = \rho s_{t-1} + (1-\rho) g_t^2,\qquad
        \theta_t = \theta_{t-1} - \alpha\, \frac{g_t}{\sqrt{s_t} + \epsilon}

    Centered, :math:`s_t` is replaced by :math:`s_t - \bar g_t^2` with
    :math:`\bar g_t = \rho \bar g_{t-1} + (1-\rho) g_t` (a variance estimate). With
    momentum μ > 0, :math:`b_t = \mu b_{t-1} + g_t / (\sqrt{s_t} + \epsilon)` and
    :math:`\theta_t = \theta_{t-1} - \alpha b_t`.

    Args (defaults as in ``torch.optim.RMSprop``):
        params: the parameters, or dicts of parameter groups with their own settings.
        lr: α (default 1e-2).
        alpha: the decay ρ (default 0.99).
        eps: ε (default 1e-8).
        weight_decay: λ (default 0).
        momentum: μ (default 0).
        centered: divide by the variance estimate instead (default False).

    ``state[p]`` holds ``step``, ``square_avg`` (s_t), ``momentum_buffer`` (b_t, when
    μ > 0) and ``grad_avg`` (ḡ_t, when centered).

    References: Tieleman & Hinton, "Lecture 6.5, rmsprop", COURSERA: Neural Networks for
    Machine Learning, 2012; Graves, "Generating sequences with recurrent neural
    networks", arXiv:1308.0850, 2013 (centered).
    """

    def __init__(
        self,
        params: object,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
    ) -> None:
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum)
        _check_nonnegative(**defaults)
        super().__init__(params, {**defaults, "centered": centered})

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter; returns the closure's loss (None without one)."""
        loss = _evaluate(closure)
        for p, g, group in _gradients(self):
            rho, mu, state = group["alpha"], group["momentum"], self.state[p]
            if not state:
                state["step"] = torch.tensor(0.0)
                state["square_avg"] = torch.zeros_like(p)
                if mu > 0:
                    state["momentum_buffer"] = torch.zeros_like(p)
                if group["centered"]:
                    state["grad_avg"] = torch.zeros_like(p)
            state["step"] += 1
            s = state["square_avg"].mul_(rho).addcmul_(g, g, value=1 - rho)  # s_t
            if group["centered"]:
                g_bar = state["grad_avg"].mul_(rho).add_(g, alpha=1 - rho)
                s = s - g_bar * g_bar
            denominator = s.sqrt().add_(group["eps"])
            if mu > 0:
                b = state["momentum_buffer"].mul_(mu).addcdiv_(g, denominator)  # b_t
                p.add_(b, alpha=-group["lr"])
            else:
                p.addcdiv_(g, denominator, value=-group["lr"])
        return loss


class Adam(torch.optim.Optimizer):
    r"""Adaptive moments: momentum on the gradient, RMSProp's scale, both bias-corrected.

    .. math::
        m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t,\quad
        v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2,\quad
        \theta_t = \theta_{t-1} - \alpha\,
        \frac{m_t / (1-\beta_1^t)}{\sqrt{v_t / (1-\beta_2^t)} + \epsilon}

    AMSGrad uses :math:`\hat v_t = \max(\hat v_{t-1}, v_t)` in place of :math:`v_t`
    (bias-corrected as above, like torch), so the denominator never shrinks.

    Args (defaults as in ``torch.optim.Adam``):
        params: the parameters, or dicts of parameter groups with their own settings.
        lr: α (default 1e-3).
        betas: (β1, β2), each in [0, 1) (default (0.9, 0.999)).
        eps: ε (default 1e-8).
        weight_decay: λ, added to the gradient, not decoupled as in AdamW (default 0).
        amsgrad: use the running maximum of v_t (default False).

    ``state[p]`` holds ``step``, ``exp_avg`` (m_t), ``exp_avg_sq`` (v_t) and
    ``max_exp_avg_sq`` (v̂_t, with AMSGrad).

    References: Kingma & Ba, "Adam: a method for stochastic optimization", ICLR 2015;
    Reddi, Kale & Kumar, "On the convergence of Adam and beyond", ICLR 2018 (AMSGrad).
    """

    def __init__(
        self,
        params: object,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
    ) -> None:
        _check_nonnegative(lr=lr, eps=eps, weight_decay=weight_decay)
        for i, beta in enumerate(betas):
            if not 0 <= beta < 1:
                raise ValueError(f"betas[{i}] must be in [0, 1), got {beta}")
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor] | None = None) -> torch.Tensor | None:
        """One update of every parameter; returns the closure's loss (None without one)."""
        loss = _evaluate(closure)
        for p, g, group in _gradients(self):
            (beta1, beta2), state = group["betas"], self.state[p]
            if not state:
                state["step"] = torch.tensor(0.0)
                state["exp_avg"] = torch.zeros_like(p)
                state["exp_avg_sq"] = torch.zeros_like(p)
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = torch.zeros_like(p)
            state["step"] += 1
            t = state["step"].item()
            m = state["exp_avg"].mul_(beta1).add_(g, alpha=1 - beta1)  # m_t
            v = state["exp_avg_sq"].mul_(beta2).addcmul_(g, g, value=1 - beta2)  # v_t
            if group["amsgrad"]:
                v = torch.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
            p.addcdiv_(m_hat, v_hat.sqrt().add_(group["eps"]), value=-group["lr"])
        return loss


OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": SGD,
    "adagrad": AdaGrad,
    "rmsprop": RMSProp,
    "adam": Adam,
}
"""Short name -> our optimizer class."""

TORCH_OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
}
"""The same names -> torch's classes, the oracle the tests compare against."""


def run_on_landscape(
    optimizer: type[torch.optim.Optimizer] | str,
    landscape: Landscape,
    x0: np.ndarray | float,
    steps: int,
    *,
    tol: float | None = None,
    criterion: str = "grad_norm",
    **hyperparameters: object,
) -> Trajectory:
    """Descend ``landscape`` from ``x0`` with an optimizer class, and record the run.

    The point is a float64 parameter θ; each step puts the landscape's exact gradient in
    ``θ.grad`` and calls ``optimizer.step()``. The loop, the stopping criteria and the
    divergence detection are those of :func:`lecturelib.descent.iterate`, so ``SGD``
    gives exactly the points of :func:`lecturelib.descent.gradient_descent`.

    Example::

        run_on_landscape(Adam, Rosenbrock(), np.array([-1.5, 2.0]), 500, lr=0.05)

    Args:
        optimizer: an optimizer class (ours or torch's), or a key of :data:`OPTIMIZERS`.
        landscape: a :class:`~lecturelib.landscapes.Landscape`.
        x0: starting point: a number for a 1-D landscape, shape ``(dim,)`` otherwise.
        steps: the step budget (≥ 1).
        tol, criterion: optional early stop, see :func:`lecturelib.descent.iterate`.
        **hyperparameters: passed to the optimizer, e.g. ``lr=0.05, betas=(0.9, 0.99)``.

    Returns:
        The :class:`~lecturelib.descent.Trajectory`; a diverging run is recorded, not raised.
    """
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {list(OPTIMIZERS)}")
        optimizer = OPTIMIZERS[optimizer]
    if not isinstance(landscape, Landscape):
        raise TypeError(f"landscape must be a Landscape, got {type(landscape).__name__}")
    expected = () if landscape.dim == 1 else (landscape.dim,)
    if np.shape(x0) != expected:
        raise ValueError(
            f"x0 must have shape {expected} for the {landscape.dim}-D landscape "
            f"{landscape.name!r}, got shape {np.shape(x0)}"
        )
    theta = torch.nn.Parameter(torch.tensor(np.asarray(x0, dtype=np.float64)))
    opt = optimizer([theta], **hyperparameters)

    def step(x: np.ndarray, g: np.ndarray, t: int) -> np.ndarray:
        theta.grad = torch.as_tensor(g, dtype=torch.float64).reshape(theta.shape)
        opt.step()
        return theta.detach().numpy().copy()

    return iterate(step, x0, landscape.grad, steps, loss=landscape, tol=tol, criterion=criterion)
