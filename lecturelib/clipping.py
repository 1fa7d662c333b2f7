r"""Gradient clipping: cap the size of a step when the gradient explodes.

Two rules from the lecture, each applied in place to the ``.grad`` of parameters after
``loss.backward()`` and before ``optimizer.step()``:

- clipping by value: every partial derivative is cut into :math:`[-c, c]`; this can change
  the gradient's direction;
- clipping by norm (Pascanu, Mikolov & Bengio (2013), "On the difficulty of training
  recurrent neural networks", ICML, algorithm 1): when the whole gradient is longer than
  a threshold it is rescaled to that length, keeping its direction.

They match ``torch.nn.utils.clip_grad_value_`` and ``clip_grad_norm_``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import torch

__all__ = ["clip_by_norm_", "clip_by_value_"]

Params = torch.Tensor | Iterable[torch.Tensor]


def _positive(name: str, value: float) -> float:
    value = float(value)
    if not value > 0:  # also rejects nan
        raise ValueError(f"{name} must be > 0, got {value}")
    return value


def _grads(params: Params) -> list[torch.Tensor]:
    """The ``.grad`` tensors of ``params`` (one tensor or an iterable), skipping None."""
    if isinstance(params, torch.Tensor):
        params = [params]
    return [p.grad for p in params if p.grad is not None]


def _total_norm(grads: list[torch.Tensor], norm_type: float) -> torch.Tensor:
    r"""The ``norm_type``-norm of all gradients taken as one long vector.

    .. math:: \lVert g \rVert_p = \Bigl(\sum_k \lVert g_k \rVert_p^p\Bigr)^{1/p},\quad
              \lVert g \rVert_\infty = \max_k \lVert g_k \rVert_\infty

    computed as the norm of the per-tensor norms, on the first gradient's device.
    """
    grads = [g for g in grads if g.numel() > 0]  # an empty tensor adds nothing
    if not grads:
        return torch.tensor(0.0)
    device = grads[0].device
    norms = [torch.linalg.vector_norm(g, norm_type).to(device) for g in grads]
    return torch.linalg.vector_norm(torch.stack(norms), norm_type)


@torch.no_grad()
def clip_by_value_(params: Params, clip_value: float = 1.0) -> torch.Tensor:
    r"""Clip every partial derivative into ``[-clip_value, clip_value]``, in place.

    .. math:: g_i \leftarrow \min(\max(g_i, -c), c)

    Args:
        params: a tensor or an iterable of tensors (e.g. ``model.parameters()``) whose
            ``.grad`` is clipped; those without a gradient are skipped.
        clip_value: :math:`c`, > 0.

    Returns:
        The largest :math:`|g_i|` before clipping (a 0-d tensor; 0 when there are no
        gradients), so one call both clips and says whether it had to.

    Example:
        >>> w = torch.zeros(3, requires_grad=True)
        >>> w.grad = torch.tensor([0.5, -3.0, 2.0])
        >>> clip_by_value_(w, 1.0), w.grad
        (tensor(3.), tensor([ 0.5000, -1.0000,  1.0000]))
    """
    clip_value = _positive("clip_value", clip_value)
    grads = _grads(params)
    largest = _total_norm(grads, math.inf)
    for g in grads:
        g.clamp_(-clip_value, clip_value)
    return largest


@torch.no_grad()
def clip_by_norm_(params: Params, max_norm: float, norm_type: float = 2.0) -> torch.Tensor:
    r"""Rescale the gradients in place so that their total norm is at most ``max_norm``.

    .. math:: g \leftarrow g \cdot \min\!\left(1,\ \frac{\text{max\_norm}}
              {\lVert g \rVert + 10^{-6}}\right)

    where :math:`\lVert g \rVert` is the ``norm_type``-norm of all gradients together. The
    :math:`10^{-6}` avoids dividing by zero, as in ``torch.nn.utils.clip_grad_norm_``. A
    non-finite norm makes the gradients non-finite too: check the returned norm.

    Args:
        params: a tensor or an iterable of tensors whose ``.grad`` is rescaled; those
            without a gradient are skipped.
        max_norm: the largest allowed norm, > 0.
        norm_type: the :math:`p` of the norm, > 0; ``math.inf`` for the largest
            :math:`|g_i|`.

    Returns:
        The total norm before clipping (a 0-d tensor).

    Example:
        >>> w = torch.zeros(2, requires_grad=True)
        >>> w.grad = torch.tensor([3.0, 4.0])
        >>> clip_by_norm_([w], max_norm=1.0), w.grad
        (tensor(5.), tensor([0.6000, 0.8000]))
    """
    max_norm = _positive("max_norm", max_norm)
    norm_type = float(norm_type)
    if not norm_type > 0:
        raise ValueError(f"norm_type must be > 0 (or math.inf), got {norm_type}")
    grads = _grads(params)
    total_norm = _total_norm(grads, norm_type)
    # Multiply even when the factor is 1: no `if` on a GPU value, no device sync.
    factor = torch.clamp(max_norm / (total_norm + 1e-6), max=1.0)
    for g in grads:
        g.mul_(factor.to(g.device))
    return total_norm
