r"""Weight initialisation that keeps signals and gradients at the same scale in every layer.

A layer :math:`y = W x` with independent zero-mean weights of variance :math:`\sigma^2`
multiplies the variance of its input by :math:`n_\text{in} \sigma^2` on the way forward and
the variance of the gradient by :math:`n_\text{out} \sigma^2` on the way back. Choosing
:math:`\sigma^2` to make these factors one is what the schemes below do:

- Glorot & Bengio (2010), "Understanding the difficulty of training deep feedforward
  neural networks", AISTATS: a compromise between the two, :math:`\sigma^2 = 2 /
  (n_\text{in} + n_\text{out})`, for tanh or sigmoid-like units.
- He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers", ICCV: ReLU zeroes half of
  its inputs, so :math:`\sigma^2 = 2 / n_\text{in}`.

The functions mirror ``torch.nn.init`` (``xavier_*``, ``kaiming_*``) and draw their numbers
the same way, so with the same ``torch.Generator`` state they fill in the same values.
"""

from __future__ import annotations

import math

import torch

__all__ = ["glorot_normal_", "glorot_uniform_", "he_normal_", "he_uniform_"]

_MODES = ("fan_in", "fan_out")  # of he_uniform_ and he_normal_


def _fans(tensor: torch.Tensor) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight: Linear ``(out, in)`` or Conv ``(out, in, *kernel)``.

    Each input (output) feature map of a convolution meets every kernel position, so both
    fans are multiplied by the kernel size, as in ``torch.nn.init``.
    """
    if tensor.dim() < 2:
        raise ValueError(
            "tensor must have at least 2 dimensions, (out, in) or (out, in, *kernel), "
            f"to have a fan-in and fan-out; got shape {tuple(tensor.shape)}"
        )
    receptive_field = math.prod(tensor.shape[2:])  # 1 for a Linear weight
    return tensor.shape[1] * receptive_field, tensor.shape[0] * receptive_field


def _at_least_one(fan: int) -> int:
    """``fan``, or 1 when it is 0: the tensor is then empty and the scale goes unused."""
    return max(fan, 1)


def _check_gain(gain: float) -> float:
    gain = float(gain)
    if not (math.isfinite(gain) and gain > 0):
        raise ValueError(f"gain must be a finite number > 0, got {gain}")
    return gain


def _he_fan(tensor: torch.Tensor, mode: str) -> int:
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, _MODES))}, got {mode!r}")
    fan_in, fan_out = _fans(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill_(
    tensor: torch.Tensor, kind: str, scale: float, generator: torch.Generator | None
) -> torch.Tensor:
    """Fill ``tensor`` in place from U(-scale, scale) or N(0, scale^2); a no-op when empty."""
    if tensor.numel() == 0:
        return tensor
    with torch.no_grad():
        if kind == "uniform":
            return tensor.uniform_(-scale, scale, generator=generator)
        return tensor.normal_(0.0, scale, generator=generator)


def glorot_uniform_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Fill ``tensor`` in place with Glorot's "normalized initialization"; return it.

    .. math:: W_{ij} \sim U[-b, b],\quad b = \text{gain}\sqrt{\frac{6}{n_\text{in} +
              n_\text{out}}},\quad \operatorname{Var} W_{ij} = \text{gain}^2
              \frac{2}{n_\text{in} + n_\text{out}}

    Glorot & Bengio (2010), eq. (16). Same as ``torch.nn.init.xavier_uniform_``.

    Args:
        tensor: a weight of shape ``(out, in)`` or ``(out, in, *kernel)``.
        gain: multiplies the bound (1 for tanh; see ``torch.nn.init.calculate_gain``).
        generator: the random generator to draw from (default: PyTorch's global one).

    Example:
        >>> w = glorot_uniform_(torch.empty(3, 5), generator=torch.Generator().manual_seed(0))
        >>> bool(w.abs().max() <= math.sqrt(6 / (5 + 3)))
        True
    """
    fan_in, fan_out = _fans(tensor)
    bound = _check_gain(gain) * math.sqrt(6.0 / _at_least_one(fan_in + fan_out))
    return _fill_(tensor, "uniform", bound, generator)


def glorot_normal_(
    tensor: torch.Tensor, gain: float = 1.0, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    r"""Fill ``tensor`` in place with Glorot's variance from a normal distribution; return it.

    .. math:: W_{ij} \sim \mathcal{N}\!\left(0,\ \text{gain}^2
              \frac{2}{n_\text{in} + n_\text{out}}\right)

    Glorot & Bengio (2010). Same as ``torch.nn.init.xavier_normal_``.

    Args:
        tensor: a weight of shape ``(out, in)`` or ``(out, in, *kernel)``.
        gain: multiplies the standard deviation.
        generator: the random generator to draw from (default: PyTorch's global one).

    Example:
        >>> w = glorot_normal_(torch.empty(300, 100), generator=torch.Generator().manual_seed(0))
        >>> round(w.var().item() * (300 + 100) / 2, 1)  # about 1
        1.0
    """
    fan_in, fan_out = _fans(tensor)
    std = _check_gain(gain) * math.sqrt(2.0 / _at_least_one(fan_in + fan_out))
    return _fill_(tensor, "normal", std, generator)


def he_uniform_(
    tensor: torch.Tensor,
    gain: float = math.sqrt(2.0),
    *,
    mode: str = "fan_in",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` in place with He's variance from a uniform distribution; return it.

    .. math:: W_{ij} \sim U[-b, b],\quad b = \text{gain}\sqrt{\frac{3}{n}} =
              \sqrt{\frac{6}{n}},\quad \operatorname{Var} W_{ij} = \frac{\text{gain}^2}{n}
              = \frac{2}{n}

    with :math:`n = n_\text{in}` (``mode="fan_in"``, keeps the forward signal's variance) or
    :math:`n_\text{out}` (``"fan_out"``, keeps the gradient's). He et al. (2015), eq. (10).
    With the default gain :math:`\sqrt 2` this is
    ``torch.nn.init.kaiming_uniform_(tensor, mode=mode, nonlinearity="relu")``.

    Args:
        tensor: a weight of shape ``(out, in)`` or ``(out, in, *kernel)``.
        gain: :math:`\sqrt 2` for ReLU; 1 gives LeCun's :math:`1/n`.
        mode: ``"fan_in"`` or ``"fan_out"``.
        generator: the random generator to draw from (default: PyTorch's global one).

    Example:
        >>> w = he_uniform_(torch.empty(3, 6), generator=torch.Generator().manual_seed(0))
        >>> bool(w.abs().max() <= 1.0)  # b = sqrt(6 / 6)
        True
    """
    bound = _check_gain(gain) * math.sqrt(3.0 / _at_least_one(_he_fan(tensor, mode)))
    return _fill_(tensor, "uniform", bound, generator)


def he_normal_(
    tensor: torch.Tensor,
    gain: float = math.sqrt(2.0),
    *,
    mode: str = "fan_in",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    r"""Fill ``tensor`` in place with He's variance from a normal distribution; return it.

    .. math:: W_{ij} \sim \mathcal{N}\!\left(0,\ \frac{\text{gain}^2}{n}\right)
              = \mathcal{N}\!\left(0,\ \frac{2}{n}\right)

    with :math:`n = n_\text{in}` or :math:`n_\text{out}` as chosen by ``mode``; the
    initialisation of He et al. (2015), eq. (10). With the default gain this is
    ``torch.nn.init.kaiming_normal_(tensor, mode=mode, nonlinearity="relu")``.

    Args:
        tensor: a weight of shape ``(out, in)`` or ``(out, in, *kernel)``.
        gain: :math:`\sqrt 2` for ReLU; 1 gives LeCun's :math:`1/n`.
        mode: ``"fan_in"`` or ``"fan_out"``.
        generator: the random generator to draw from (default: PyTorch's global one).

    Example:
        >>> w = he_normal_(torch.empty(100, 400), generator=torch.Generator().manual_seed(0))
        >>> round(w.var().item() * 400 / 2, 1)  # about 1
        1.0
    """
    std = _check_gain(gain) / math.sqrt(_at_least_one(_he_fan(tensor, mode)))
    return _fill_(tensor, "normal", std, generator)
