"""The multilayer perceptrons of the vanishing/exploding gradients chapter."""

import math
import re

import pytest
import torch
from torch import nn
from torch.testing import assert_close

from lecturelib.nets import ACTIVATIONS, INITS, linear_layers, mlp

ACTIVATION_TYPES = {
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "relu": nn.ReLU,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def test_names_are_the_documented_ones():
    assert set(ACTIVATIONS) == set(ACTIVATION_TYPES)
    assert set(INITS) == {"normal", "uniform", "glorot", "xavier", "he", "kaiming", "zeros"} | {
        "default"
    }


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_layers_shapes_and_order(depth):
    net = mlp(3, 2, depth=depth, width=7, activation="tanh", seed=0)
    assert isinstance(net, nn.Sequential)
    assert len(net) == 2 * depth + 1
    linears = linear_layers(net)
    assert len(linears) == depth + 1
    assert [(m.in_features, m.out_features) for m in linears] == [(3, 7)] + [(7, 7)] * (
        depth - 1
    ) + [(7, 2)]
    for i in range(depth):
        assert net[2 * i] is linears[i]
        assert isinstance(net[2 * i + 1], nn.Tanh)
    assert net[-1] is linears[-1]
    assert net(torch.randn(4, 3)).shape == (4, 2)


def test_batch_norm_goes_between_linear_and_activation():
    net = mlp(3, 1, depth=3, width=5, activation="relu", batch_norm=True, seed=0)
    kinds = [type(m) for m in net]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.ReLU] * 3 + [nn.Linear]
    assert all(m.num_features == 5 for m in net if isinstance(m, nn.BatchNorm1d))
    x = torch.randn(8, 3)
    # In training mode each BatchNorm1d output has mean 0 and variance 1 per unit.
    z = net[1](net[0](x))
    assert_close(z.mean(0), torch.zeros(5), atol=1e-5, rtol=0)
    assert net(x).shape == (8, 1)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_builds_and_runs(activation):
    net = mlp(4, 3, depth=2, width=6, activation=activation, seed=0)
    assert [type(m) for m in net[1::2]] == [ACTIVATION_TYPES[activation]] * 2
    out = net(torch.randn(5, 4))
    assert out.shape == (5, 3) and torch.isfinite(out).all()


@pytest.mark.parametrize("init", INITS)
@pytest.mark.parametrize("batch_norm", [False, True])
def test_every_init_builds_runs_and_backpropagates(init, batch_norm):
    net = mlp(4, 3, depth=2, width=6, init=init, std=0.1, batch_norm=batch_norm, seed=0)
    out = net(torch.randn(5, 4))
    out.sum().backward()
    assert out.shape == (5, 3) and torch.isfinite(out).all()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("init", ["normal", "uniform", "glorot", "xavier", "he", "kaiming"])
def test_named_schemes_have_zero_biases(init):
    net = mlp(4, 3, depth=3, width=6, init=init, std=0.1, seed=0)
    for layer in linear_layers(net):
        assert torch.count_nonzero(layer.bias) == 0
        assert torch.count_nonzero(layer.weight) == layer.weight.numel()


def test_zeros_init():
    net = mlp(4, 3, depth=2, width=6, init="zeros", seed=0)
    assert all(torch.count_nonzero(p) == 0 for p in net.parameters())


# init -> expected variance of a hidden 400 x 400 weight (std = 0.05)
VARIANCES = {
    "normal": 0.05**2,
    "uniform": 0.05**2,
    "glorot": 2 / (400 + 400),
    "xavier": 2 / (400 + 400),
    "he": 2 / 400,
    "kaiming": 2 / 400,
    "default": 1 / (3 * 400),  # U(-1/sqrt(400), 1/sqrt(400))
}


@pytest.mark.parametrize("init", VARIANCES)
def test_weight_variance_follows_the_scheme(init):
    net = mlp(10, 1, depth=2, width=400, init=init, std=0.05, seed=1)
    w = linear_layers(net)[1].weight  # 160,000 draws
    variance = VARIANCES[init]
    # 6 standard errors of the mean of w^2 (at most sqrt(2/n) relative, for a normal)
    assert abs(w.double().pow(2).mean().item() - variance) < 6 * variance * math.sqrt(2 / w.numel())


def test_uniform_init_bound():
    w = linear_layers(mlp(10, 1, depth=2, width=100, init="uniform", std=0.2, seed=0))[1].weight
    assert w.abs().max() <= 0.2 * math.sqrt(3) * (1 + 1e-6)
    assert w.abs().max() > 0.99 * 0.2 * math.sqrt(3)


def test_default_init_is_pytorchs_own():
    # nn.Linear draws weight then bias from the global generator; mlp draws them in the
    # same order from its own generator, so the same seed gives the same numbers.
    net = mlp(3, 2, depth=2, width=5, init="default", seed=11)
    torch.manual_seed(11)
    reference = [nn.Linear(3, 5), nn.Linear(5, 5), nn.Linear(5, 2)]
    for ours, theirs in zip(linear_layers(net), reference, strict=True):
        assert_close(ours.weight, theirs.weight)
        assert_close(ours.bias, theirs.bias)


@pytest.mark.parametrize("init", INITS)
def test_seed_makes_construction_reproducible(init):
    def params(seed):
        net = mlp(4, 2, depth=3, width=8, init=init, std=0.3, seed=seed)
        return [p.detach().clone() for p in net.parameters()]

    for a, b in zip(params(5), params(5), strict=True):
        assert torch.equal(a, b)
    if init != "zeros":
        assert not all(torch.equal(a, b) for a, b in zip(params(5), params(6), strict=True))


def test_seeded_construction_leaves_the_global_generator_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    mlp(4, 2, depth=3, width=8, seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_without_seed_the_global_generator_decides():
    torch.manual_seed(2)
    a = mlp(4, 2, depth=2, width=8)
    torch.manual_seed(2)
    b = mlp(4, 2, depth=2, width=8)
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_net_can_be_converted_like_any_module():
    net = mlp(4, 2, depth=2, width=8, seed=0).to(torch.float64)
    assert net(torch.randn(3, 4, dtype=torch.float64)).dtype == torch.float64


def test_linear_layers_of_a_nested_model():
    inner = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(3, 4), nn.Sequential(nn.Tanh(), nn.Linear(4, 1)))
    assert linear_layers(model) == [inner[0], model[1], model[2][1]]
    assert linear_layers(nn.ReLU()) == []


def test_unknown_activation_lists_the_valid_names():
    listed = ", ".join(repr(name) for name in ACTIVATIONS)
    with pytest.raises(ValueError, match=re.escape(f"one of {listed}; got 'gelu'")):
        mlp(2, 1, depth=1, width=3, activation="gelu")


def test_unknown_init_lists_the_valid_names():
    listed = ", ".join(repr(name) for name in INITS)
    with pytest.raises(ValueError, match=re.escape(f"init must be one of {listed}; got 'lecun'")):
        mlp(2, 1, depth=1, width=3, init="lecun")


@pytest.mark.parametrize("init", ["normal", "uniform"])
def test_std_is_required_for_normal_and_uniform(init):
    with pytest.raises(ValueError, match=f"std is required for init='{init}'"):
        mlp(2, 1, depth=1, width=3, init=init)
    for bad in [0.0, -1.0, math.nan, math.inf]:
        with pytest.raises(ValueError, match="std must be a finite number > 0"):
            mlp(2, 1, depth=1, width=3, init=init, std=bad)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"depth": 0}, ValueError, "depth must be >= 1, got 0"),
        ({"width": 0}, ValueError, "width must be >= 1, got 0"),
        ({"depth": 2.0}, TypeError, "depth must be an int, got float"),
        ({"in_features": 0}, ValueError, "in_features must be >= 1"),
        ({"out_features": True}, TypeError, "out_features must be an int, got bool"),
        ({"seed": 1.5}, TypeError, "seed must be an int or None, got float"),
    ],
)
def test_bad_sizes_and_seed(kwargs, error, message):
    arguments = {"in_features": 2, "out_features": 1, "depth": 1, "width": 3} | kwargs
    with pytest.raises(error, match=re.escape(message)):
        mlp(**arguments)
