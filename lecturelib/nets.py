r"""Deep multilayer perceptrons to watch gradients vanish and explode in.

:func:`mlp` builds ``depth`` hidden blocks ``Linear -> [BatchNorm1d] -> activation`` and an
output ``Linear``, with the activation and the weight initialisation named as in the
lecture, so a notebook can compare, say, sigmoid with Gaussian weights against ReLU with He
weights in one line each.

References: Glorot & Bengio (2010) and He et al. (2015) for the initialisations (see
:mod:`lecturelib.init`); Ioffe & Szegedy (2015), "Batch normalization", ICML, for
``batch_norm=True``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lecturelib.init import glorot_uniform_, he_normal_

__all__ = ["ACTIVATIONS", "INITS", "linear_layers", "mlp"]

_ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,  # negative slope 0.01
    "identity": nn.Identity,  # a deep linear network
}
ACTIVATIONS: tuple[str, ...] = tuple(_ACTIVATION_MODULES)
"""Valid values of ``mlp(activation=...)``."""

INITS: tuple[str, ...] = (
    "normal",
    "uniform",
    "glorot",
    "xavier",
    "he",
    "kaiming",
    "zeros",
    "default",
)
"""Valid values of ``mlp(init=...)``; ``xavier`` and ``kaiming`` are aliases."""


def _one_of(name: str, value: object, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}; got {value!r}")
    return value


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _init_linear_(
    layer: nn.Linear, init: str, std: float | None, generator: torch.Generator | None
) -> None:
    """Initialise one Linear layer in place with the named scheme (see :func:`mlp`)."""
    weight, bias = layer.weight, layer.bias
    with torch.no_grad():
        if init == "default":  # nn.Linear.reset_parameters: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
            bound = 1.0 / math.sqrt(layer.in_features)
            weight.uniform_(-bound, bound, generator=generator)
            if bias is not None:
                bias.uniform_(-bound, bound, generator=generator)
            return
        if init == "normal":
            weight.normal_(0.0, std, generator=generator)
        elif init == "uniform":
            weight.uniform_(-std * math.sqrt(3.0), std * math.sqrt(3.0), generator=generator)
        elif init in ("glorot", "xavier"):
            glorot_uniform_(weight, generator=generator)
        elif init in ("he", "kaiming"):
            he_normal_(weight, generator=generator)
        else:  # "zeros"
            weight.zero_()
        if bias is not None:
            bias.zero_()


def mlp(
    in_features: int,
    out_features: int,
    *,
    depth: int,
    width: int,
    activation: str = "relu",
    init: str = "he",
    batch_norm: bool = False,
    std: float | None = None,
    seed: int | None = None,
) -> nn.Sequential:
    r"""A multilayer perceptron with ``depth`` hidden layers of ``width`` units.

    .. math:: h_0 = x,\quad h_\ell = \phi(\mathrm{BN}(W_\ell h_{\ell-1} + b_\ell))
              \ (\ell = 1, \dots, \text{depth}),\quad y = W_{\text{depth}+1} h_\text{depth}
              + b_{\text{depth}+1}

    The layers are ``[Linear, (BatchNorm1d), activation] * depth + [Linear]`` in one flat
    ``nn.Sequential``. Every Linear, the output one included, is initialised with ``init``:

    - ``"normal"``: :math:`W \sim \mathcal N(0, \text{std}^2)`; needs ``std``.
    - ``"uniform"``: :math:`W \sim U[-\sqrt3\,\text{std}, \sqrt3\,\text{std}]`, which also
      has variance :math:`\text{std}^2`; needs ``std``.
    - ``"glorot"`` / ``"xavier"``: :func:`lecturelib.init.glorot_uniform_` (the paper's
      uniform version).
    - ``"he"`` / ``"kaiming"``: :func:`lecturelib.init.he_normal_` (the paper's Gaussian
      version, gain :math:`\sqrt 2` and fan-in, whatever the activation).
    - ``"zeros"``: all weights zero (every unit of a layer stays identical).
    - ``"default"``: PyTorch's own ``nn.Linear`` initialisation, weights and biases from
      :math:`U[-1/\sqrt{n_\text{in}}, 1/\sqrt{n_\text{in}}]`.

    Biases are zero for every scheme but ``"default"``. ``std`` is ignored by the schemes
    that do not need it, so one call can loop over :data:`INITS`.

    Args:
        in_features, out_features: sizes of the input and the output.
        depth: number of hidden layers, >= 1.
        width: units per hidden layer, >= 1.
        activation: one of :data:`ACTIVATIONS`.
        init: one of :data:`INITS`.
        batch_norm: put a ``BatchNorm1d`` between each hidden Linear and its activation.
        std: weight standard deviation for ``init="normal"`` or ``"uniform"``, > 0.
        seed: with a seed, the weights come from a ``torch.Generator`` seeded with it, so
            equal seeds give equal networks, and PyTorch's global generator is left as it
            was; with None, they come from the global generator.

    Returns:
        The network, on PyTorch's default device; move it with ``.to(device)``.

    Example:
        >>> net = mlp(2, 1, depth=3, width=8, activation="tanh", init="glorot", seed=0)
        >>> len(linear_layers(net)), net(torch.zeros(5, 2)).shape
        (4, torch.Size([5, 1]))
    """
    for name, value in [
        ("in_features", in_features),
        ("out_features", out_features),
        ("depth", depth),
        ("width", width),
    ]:
        _positive_int(name, value)
    _one_of("activation", activation, ACTIVATIONS)
    _one_of("init", init, INITS)
    if init in ("normal", "uniform"):
        if std is None:
            raise ValueError(f"std is required for init={init!r} (the weights' standard deviation)")
        if not (isinstance(std, int | float) and math.isfinite(std) and std > 0):
            raise ValueError(f"std must be a finite number > 0, got {std!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")

    # nn.Linear draws its own weights when built; fork so a seeded call leaves the global
    # generator untouched (the weights are redrawn below anyway).
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        layers: list[nn.Module] = []
        sizes = [in_features] + [width] * depth
        for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers.append(nn.Linear(n_in, n_out))
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(_ACTIVATION_MODULES[activation]())
        layers.append(nn.Linear(width, out_features))
        net = nn.Sequential(*layers)

    generator = None
    if seed is not None:
        generator = torch.Generator(device=layers[0].weight.device).manual_seed(seed)
    for layer in linear_layers(net):
        _init_linear_(layer, init, std, generator)
    return net


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The ``nn.Linear`` modules of ``model``, in registration (for ``mlp``: forward) order.

    Example:
        >>> [layer.out_features for layer in linear_layers(mlp(2, 1, depth=2, width=4))]
        [4, 4, 1]
    """
    return [module for module in model.modules() if isinstance(module, nn.Linear)]
