r"""Per-layer measurements that show gradients vanishing or exploding while a net trains.

- :class:`LayerRecorder` records, for each Linear layer and each step you ask it to, the
  mean, spread and saturation of the layer's activations, the norm and spread of its weight
  gradient, and the relative size of its last update.
- :func:`gradient_norms_by_layer` is the one-line version for the gradient norms.
- :class:`NonFiniteDetector` and :func:`first_nonfinite_step` find the step at which a
  run blew up (an inf or NaN loss or gradient).

References: Glorot & Bengio (2010), figures 2-7, for activation and gradient statistics per
layer; Karpathy, "Building makemore part 3" (2022), for the update-to-data ratio
:math:`\lVert \Delta W \rVert / \lVert W \rVert` (about 1e-3 is healthy).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn

from lecturelib.nets import linear_layers

__all__ = [
    "STATS",
    "LayerRecorder",
    "NonFiniteDetector",
    "first_nonfinite_step",
    "gradient_norms_by_layer",
]

STATS = (
    "activation_mean",
    "activation_std",
    "saturated",
    "grad_norm",
    "grad_std",
    "update_ratio",
)
"""The statistics :class:`LayerRecorder` records for each layer at each step."""

SATURATION_MARGIN = 0.01
"""An activation within this distance of an asymptote of its function counts as saturated."""


def _norm(tensor: torch.Tensor) -> float:
    """Euclidean norm, computed in float64: vanishing (~1e-20) or exploding (~1e20) float32
    gradients would under- or overflow when squared in their own precision."""
    return torch.linalg.vector_norm(tensor, dtype=torch.float64).item()


def _is_activation(module: nn.Module) -> bool:
    """True for torch's activation modules (``nn.ReLU``, ``nn.Tanh``, ...) and ``nn.Identity``."""
    return isinstance(module, nn.Identity) or type(module).__module__ == nn.ReLU.__module__


def _activation_sources(model: nn.Module, layers: Sequence[nn.Linear]) -> list[nn.Module]:
    """For each layer, the module whose output is its activation (see :class:`LayerRecorder`)."""
    order = list(model.modules())
    sources = []
    for layer in layers:
        if not any(layer is module for module in order):
            raise ValueError(f"layers must be modules of model; {layer} is not")
        source = layer
        for module in order[order.index(layer) + 1 :]:
            if isinstance(module, nn.Linear):
                break
            if _is_activation(module):
                source = module
                break
        sources.append(source)
    return sources


def _saturated_fraction(source: nn.Module, a: torch.Tensor) -> float:
    """Fraction of ``a`` on a flat part of ``source``'s function; nan when it has none."""
    m = SATURATION_MARGIN
    if isinstance(source, nn.Sigmoid):
        flat = (a < m) | (a > 1 - m)
    elif isinstance(source, nn.Tanh):
        flat = a.abs() > 1 - m
    elif isinstance(source, nn.ELU):
        flat = a < -source.alpha + m
    elif isinstance(source, nn.ReLU):
        flat = a == 0  # dead: zero output and zero gradient
    else:
        return float("nan")
    return flat.float().mean().item()


class LayerRecorder:
    r"""Record activation and gradient statistics of each Linear layer, step by step.

    Forward hooks keep the latest *activation* of each layer: the output of the activation
    module that follows it (after ``BatchNorm1d`` if there is one), or the Linear's own
    output when no activation follows before the next Linear (the output layer of
    :func:`lecturelib.nets.mlp`). ``sources[i]`` is the module used for layer ``i``.
    Each call of :meth:`record` appends one entry to ``history``: a dict that maps each
    name in :data:`STATS` to an array of shape ``(n_layers,)``:

    - ``activation_mean``, ``activation_std``: over all entries of the activation in the
      latest forward pass (population std, like numpy's);
    - ``saturated``: the fraction of entries on a flat part of the activation function:
      sigmoid output :math:`< 0.01` or :math:`> 0.99`; tanh :math:`|a| > 0.99`; ELU
      :math:`a < -\alpha + 0.01`; ReLU :math:`a = 0` exactly (dead units); nan for the
      others (leaky ReLU, identity, a Linear output);
    - ``grad_norm``, ``grad_std``: Euclidean norm and population std of ``weight.grad`` as it
      is when :meth:`record` is called (after clipping, if you clipped first);
    - ``update_ratio``: :math:`\lVert W_t - W_{t-1} \rVert / \lVert W_{t-1} \rVert` between
      the weights at this and at the previous call (nan at the first call).

    A value that was not available (no forward pass since the previous call, no gradient)
    is nan. The hooks are removed by :meth:`remove` or on leaving a ``with`` block; the
    history stays.

    Args:
        model: the network (for example from :func:`lecturelib.nets.mlp`).
        layers: the Linear layers to watch (default: all of them, in order).

    Example:
        >>> net = lecturelib.nets.mlp(4, 1, depth=3, width=8, seed=0)
        >>> with LayerRecorder(net) as rec:
        ...     net(torch.ones(16, 4)).pow(2).mean().backward()
        ...     stats = rec.record()  # after backward, before optimizer.step()
        >>> rec.gradient_norms().shape, rec.series("activation_std").shape
        ((4,), (1, 4))
    """

    def __init__(self, model: nn.Module, layers: Iterable[nn.Linear] | None = None) -> None:
        self.layers: list[nn.Linear] = linear_layers(model) if layers is None else list(layers)
        if not self.layers:
            raise ValueError("layers must contain at least one nn.Linear; the model has none")
        self.sources: list[nn.Module] = _activation_sources(model, self.layers)
        self.history: list[dict[str, np.ndarray]] = []
        self._activations: list[torch.Tensor | None] = [None] * len(self.layers)
        self._previous_weights: list[torch.Tensor] | None = None
        self._handles = [
            source.register_forward_hook(self._keeper(i)) for i, source in enumerate(self.sources)
        ]

    def _keeper(self, i: int) -> Callable[[nn.Module, tuple, torch.Tensor], None]:
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            self._activations[i] = output.detach()

        return hook

    def record(self) -> dict[str, np.ndarray]:
        """Append this step's statistics to ``history`` and return them (call after backward)."""
        stats = {name: np.full(len(self.layers), np.nan) for name in STATS}
        weights = [layer.weight.detach().clone() for layer in self.layers]
        for i, (layer, source, a) in enumerate(
            zip(self.layers, self.sources, self._activations, strict=True)
        ):
            if a is not None:
                stats["activation_mean"][i] = a.mean().item()
                stats["activation_std"][i] = a.std(correction=0).item()
                stats["saturated"][i] = _saturated_fraction(source, a)
            grad = layer.weight.grad
            if grad is not None:
                stats["grad_norm"][i] = _norm(grad)
                stats["grad_std"][i] = grad.std(correction=0).item()
            if self._previous_weights is not None:
                before = self._previous_weights[i]  # divide in torch: 0/0 is nan, not an error
                size = torch.linalg.vector_norm(before)
                stats["update_ratio"][i] = (
                    torch.linalg.vector_norm(weights[i] - before) / size
                ).item()
        self._previous_weights = weights
        self._activations = [None] * len(self.layers)
        self.history.append(stats)
        return stats

    def series(self, name: str) -> np.ndarray:
        """Statistic ``name`` (see :data:`STATS`) at each recorded step: ``(n_steps, n_layers)``."""
        if name not in STATS:
            raise ValueError(f"name must be one of {', '.join(map(repr, STATS))}; got {name!r}")
        return np.array([step[name] for step in self.history]).reshape(-1, len(self.layers))

    def gradient_norms(self) -> np.ndarray:
        """Norm of each layer's weight gradient at the last recorded step: ``(n_layers,)``."""
        if not self.history:
            raise ValueError("nothing recorded yet: call record() after loss.backward()")
        return self.history[-1]["grad_norm"]

    def remove(self) -> None:
        """Remove the hooks from the model (the recorded history stays)."""
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> LayerRecorder:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.remove()


def gradient_norms_by_layer(model: nn.Module) -> np.ndarray:
    r"""Norm :math:`\lVert \partial L / \partial W_\ell \rVert` of each Linear weight's gradient.

    Returns:
        An array of shape ``(n_linear_layers,)`` in the order of
        :func:`lecturelib.nets.linear_layers`; nan for a layer whose ``.grad`` is None.

    Example:
        >>> net = lecturelib.nets.mlp(4, 1, depth=3, width=8, seed=0)
        >>> net(torch.ones(16, 4)).sum().backward()
        >>> gradient_norms_by_layer(net).shape
        (4,)
    """
    grads = [layer.weight.grad for layer in linear_layers(model)]
    return np.array([np.nan if g is None else _norm(g) for g in grads])


def _all_finite(value: object) -> bool:
    return bool(torch.isfinite(torch.as_tensor(value)).all())


def first_nonfinite_step(values: Iterable[float] | np.ndarray | torch.Tensor) -> int | None:
    """Index of the first inf or NaN in a sequence of losses; None if all are finite.

    Example:
        >>> first_nonfinite_step([2.3, 5.1, 40.0, float("inf"), float("nan")])
        3
    """
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().reshape(-1).tolist()
    for step, value in enumerate(values):
        if not _all_finite(value):
            return step
    return None


class NonFiniteDetector:
    """Watch a training run for the first inf or NaN in the loss or the gradients.

    After the first problem, ``step`` is the step it happened at and ``what`` says where:
    ``"loss"``, ``"gradient of layer 3 weight"`` (layer numbers index
    :func:`lecturelib.nets.linear_layers`, from 0) or ``"gradient of <name>"`` for another
    parameter. Both stay None while everything is finite; later problems do not overwrite
    the first.

    Example:
        >>> detector = NonFiniteDetector()
        >>> for step, loss in enumerate([1.0, 8.0, float("nan")]):
        ...     if detector.check(step, loss):
        ...         break
        >>> detector.step, detector.what
        (2, 'loss')
    """

    def __init__(self) -> None:
        self.step: int | None = None
        self.what: str | None = None

    def check(self, step: int, loss: float | torch.Tensor, model: nn.Module | None = None) -> bool:
        """Check this step's loss (and, given ``model``, its parameters' ``.grad``).

        Returns:
            True once a non-finite value has been seen (at this step or before).
        """
        if self.step is not None:
            return True
        if not _all_finite(loss.detach() if isinstance(loss, torch.Tensor) else loss):
            self.step, self.what = step, "loss"
        elif model is not None and (where := _first_nonfinite_gradient(model)) is not None:
            self.step, self.what = step, f"gradient of {where}"
        return self.step is not None


def _first_nonfinite_gradient(model: nn.Module) -> str | None:
    """Where the first non-finite ``.grad`` of ``model`` is: ``"layer 2 weight"``, or None."""
    layer_index = {id(layer): i for i, layer in enumerate(linear_layers(model))}
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            if p.grad is not None and not _all_finite(p.grad):
                if id(module) in layer_index:
                    return f"layer {layer_index[id(module)]} {name}"
                return f"{module_name}.{name}".lstrip(".")
    return None
