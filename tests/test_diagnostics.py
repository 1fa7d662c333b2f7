"""Per-layer recordings and blow-up detection, checked against direct computation."""

import math

import numpy as np
import pytest
import torch
from torch import nn

from lecturelib.diagnostics import (
    STATS,
    LayerRecorder,
    NonFiniteDetector,
    first_nonfinite_step,
    gradient_norms_by_layer,
)
from lecturelib.nets import linear_layers, mlp

FUNCTIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "elu": nn.functional.elu,
    "leaky_relu": nn.functional.leaky_relu,
    "identity": lambda z: z,
}


def data(seed=0, n=32, d=6):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, 1, generator=g)


def one_step(net, x, y):
    net.zero_grad()
    loss = nn.functional.mse_loss(net(x), y)
    loss.backward()
    return loss


def hooks_left(model):
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def test_gradient_norms_equal_norms_of_grad():
    net = mlp(6, 1, depth=4, width=10, activation="tanh", init="glorot", seed=0)
    x, y = data()
    with LayerRecorder(net) as rec:
        one_step(net, x, y)
        stats = rec.record()
    direct = [layer.weight.grad for layer in linear_layers(net)]
    expected_norms = np.array([g.norm().item() for g in direct])
    np.testing.assert_allclose(rec.gradient_norms(), expected_norms, rtol=1e-6)
    np.testing.assert_allclose(gradient_norms_by_layer(net), expected_norms, rtol=1e-6)
    np.testing.assert_allclose(stats["grad_std"], [g.std(correction=0).item() for g in direct])
    assert rec.history == [stats]


@pytest.mark.parametrize("activation", list(FUNCTIONS))
@pytest.mark.parametrize("batch_norm", [False, True])
def test_activation_stats_equal_a_forward_pass_by_hand(activation, batch_norm):
    net = mlp(6, 2, depth=3, width=12, activation=activation, batch_norm=batch_norm, seed=1)
    x, _ = data(1)
    with LayerRecorder(net) as rec:
        net(x)
        stats = rec.record()
    phi = FUNCTIONS[activation]
    h, expected = x, []
    layers = linear_layers(net)
    for i, layer in enumerate(layers):
        z = h @ layer.weight.T + layer.bias
        if i < len(layers) - 1:
            if batch_norm:
                bn = net[3 * i + 1]
                mean, var = z.mean(0), z.var(0, correction=0)  # training-mode statistics
                z = (z - mean) / torch.sqrt(var + bn.eps) * bn.weight + bn.bias
            z = phi(z)
        expected.append(z.detach())
        h = z
    np.testing.assert_allclose(
        stats["activation_mean"], [a.mean().item() for a in expected], rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        stats["activation_std"], [a.std(correction=0).item() for a in expected], rtol=1e-5
    )
    assert rec.sources[-1] is layers[-1]  # the output layer has no activation
    assert all(isinstance(s, type(net[2 if batch_norm else 1])) for s in rec.sources[:-1])


def test_relu_dead_fraction_on_a_constructed_net():
    net = mlp(2, 1, depth=1, width=4, activation="relu", init="zeros")
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 1.0], [-1.0, -1.0], [-1.0, 0.0], [1.0, 0.0]]))
    x = torch.tensor([[1.0, 2.0], [3.0, 1.0], [0.5, 0.5]])  # positive inputs: units 1, 2 dead
    with LayerRecorder(net) as rec:
        net(x)
        stats = rec.record()
    assert stats["saturated"][0] == 0.5
    assert math.isnan(stats["saturated"][1])  # the output layer: a Linear, no flat part


@pytest.mark.parametrize(
    ("activation", "z", "expected"),
    [
        # sigmoid(-5) = 0.0067 < 0.01, sigmoid(4.5) = 0.989 is not > 0.99, sigmoid(5) is
        ("sigmoid", [-5.0, -1.0, 0.0, 4.5, 5.0, 9.0], 3 / 6),
        # tanh(2.6) = 0.9890 is not > 0.99, tanh(2.7) = 0.9910 is
        ("tanh", [-3.0, -2.6, 0.1, 2.6, 2.7, 10.0], 3 / 6),
        # elu(-5) = -0.9933 < -0.99, elu(-4) = -0.9817 is not
        ("elu", [-5.0, -4.0, 0.0, 1.0], 1 / 4),
        ("relu", [-5.0, -4.0, 0.0, 1.0], 3 / 4),
        ("leaky_relu", [-5.0, 1.0], math.nan),
        ("identity", [-5.0, 1.0], math.nan),
    ],
)
def test_saturation_thresholds(activation, z, expected):
    # A one-unit layer with weight 1 and bias 0 passes each input through to the activation.
    net = mlp(1, 1, depth=1, width=1, activation=activation, init="zeros")
    with torch.no_grad():
        net[0].weight.fill_(1.0)
    with LayerRecorder(net, layers=[net[0]]) as rec:
        net(torch.tensor(z).unsqueeze(1))
        saturated = rec.record()["saturated"]
    np.testing.assert_allclose(saturated, [expected])


def test_update_ratio_of_a_known_update():
    net = mlp(3, 1, depth=2, width=4, seed=2)
    layers = linear_layers(net)
    with LayerRecorder(net) as rec:
        first = rec.record()
        before = [layer.weight.detach().clone() for layer in layers]
        deltas = [0.01 * torch.ones_like(w) * (i + 1) for i, w in enumerate(before)]
        with torch.no_grad():
            for layer, delta in zip(layers, deltas, strict=True):
                layer.weight.add_(delta)
        second = rec.record()
    assert np.isnan(first["update_ratio"]).all()
    expected = [(d.norm() / w.norm()).item() for d, w in zip(deltas, before, strict=True)]
    np.testing.assert_allclose(second["update_ratio"], expected, rtol=1e-5)


def test_update_ratio_during_sgd_is_lr_times_grad_over_weight():
    net = mlp(6, 1, depth=3, width=8, activation="tanh", init="glorot", seed=3)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = data(3)
    with LayerRecorder(net) as rec:
        one_step(net, x, y)
        rec.record()
        expected = [
            (0.1 * layer.weight.grad.norm() / layer.weight.norm()).item()
            for layer in linear_layers(net)
        ]
        opt.step()
        one_step(net, x, y)
        rec.record()
    np.testing.assert_allclose(rec.series("update_ratio")[1], expected, rtol=1e-4)


def test_series_and_missing_values():
    net = mlp(6, 1, depth=2, width=5, seed=4)
    x, y = data(4)
    with LayerRecorder(net) as rec:
        stats = rec.record()  # no forward, no backward yet
        for _ in range(3):
            one_step(net, x, y)
            rec.record()
    assert set(stats) == set(STATS)
    assert all(np.isnan(stats[name]).all() for name in STATS)
    for name in STATS:
        assert rec.series(name).shape == (4, 3)
    np.testing.assert_array_equal(rec.series("grad_norm")[-1], rec.gradient_norms())
    assert np.isfinite(rec.series("activation_std")[1:]).all()


def test_chosen_layers_only():
    net = mlp(6, 1, depth=3, width=5, activation="sigmoid", seed=5)
    layers = linear_layers(net)
    with LayerRecorder(net, layers=[layers[2], layers[0]]) as rec:
        one_step(net, *data(5))
        rec.record()
    assert rec.sources == [net[5], net[1]]
    np.testing.assert_allclose(
        rec.gradient_norms(),
        [layers[2].weight.grad.norm().item(), layers[0].weight.grad.norm().item()],
        rtol=1e-6,
    )


def test_hooks_are_removed_on_exit_and_by_remove():
    net = mlp(6, 1, depth=3, width=5, batch_norm=True, seed=6)
    with LayerRecorder(net):
        assert hooks_left(net) == 4
    assert hooks_left(net) == 0
    rec = LayerRecorder(net)
    assert hooks_left(net) == 4
    rec.remove()
    rec.remove()  # twice is harmless
    assert hooks_left(net) == 0


def test_hooks_are_removed_when_the_block_raises():
    net = mlp(6, 1, depth=2, width=5, seed=7)
    with pytest.raises(RuntimeError), LayerRecorder(net):
        net(torch.zeros(3, 2))  # wrong input size
    assert hooks_left(net) == 0


def test_recorder_errors():
    net = mlp(6, 1, depth=2, width=5, seed=8)
    rec = LayerRecorder(net)
    with pytest.raises(ValueError, match="nothing recorded yet"):
        rec.gradient_norms()
    with pytest.raises(ValueError, match="name must be one of 'activation_mean'"):
        rec.series("grad")
    rec.remove()
    with pytest.raises(ValueError, match="at least one nn.Linear"):
        LayerRecorder(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="layers must be modules of model"):
        LayerRecorder(net, layers=[nn.Linear(2, 2)])


def test_gradient_norms_by_layer_is_nan_without_grad():
    net = mlp(6, 1, depth=2, width=5, seed=9)
    assert np.isnan(gradient_norms_by_layer(net)).all()
    assert gradient_norms_by_layer(net).shape == (3,)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([1.0, 2.0, 3.0], None),
        ([], None),
        ([1.0, 2.0, math.inf, math.nan], 2),
        ([math.nan], 0),
        (np.array([0.5, 1e30, -math.inf]), 2),
        (torch.tensor([0.5, 2.0, 3.0, math.nan]), 3),
        ([torch.tensor(1.0), torch.tensor(math.inf)], 1),
    ],
)
def test_first_nonfinite_step(values, expected):
    assert first_nonfinite_step(values) == expected


def test_detector_keeps_the_first_bad_step():
    detector = NonFiniteDetector()
    losses = [3.0, 2.0, torch.tensor(math.nan), math.inf]
    seen = [detector.check(step, loss) for step, loss in enumerate(losses)]
    assert seen == [False, False, True, True]
    assert (detector.step, detector.what) == (2, "loss")


def test_detector_names_the_layer_with_a_bad_gradient():
    net = mlp(6, 1, depth=3, width=5, batch_norm=True, seed=10)
    one_step(net, *data(10))
    detector = NonFiniteDetector()
    assert not detector.check(0, 1.0, net)
    assert (detector.step, detector.what) == (None, None)
    linear_layers(net)[2].bias.grad[1] = math.inf
    linear_layers(net)[3].weight.grad[0, 0] = math.nan
    assert detector.check(1, 1.0, net)
    assert (detector.step, detector.what) == (1, "gradient of layer 2 bias")
    other = NonFiniteDetector()
    net[1].weight.grad[0] = math.nan  # the first BatchNorm1d
    other.check(5, 1.0, net)
    assert (other.step, other.what) == (5, "gradient of 1.weight")


def test_detector_finds_a_real_explosion():
    # Gaussian weights with std 0.5 in 32-unit ReLU layers multiply the signal's variance by
    # 32 * 0.25 / 2 = 4 per layer; with a large step size, SGD overflows within a few steps.
    net = mlp(6, 1, depth=6, width=32, activation="relu", init="normal", std=0.5, seed=0)
    opt = torch.optim.SGD(net.parameters(), lr=0.1)
    x, y = data(11, n=64)
    detector, losses = NonFiniteDetector(), []
    for step in range(20):
        loss = one_step(net, x, y)
        losses.append(loss.item())
        detector.check(step, loss, net)
        opt.step()
    bad = first_nonfinite_step(losses)
    assert bad is not None and 1 <= bad < 20  # finite at first, then blown up
    assert all(math.isfinite(v) for v in losses[:bad]) and not math.isfinite(losses[bad])
    assert detector.step is not None and detector.step <= bad
    if detector.what == "loss":
        assert detector.step == bad
    else:
        assert detector.what.startswith("gradient of layer")


def test_gradient_norms_neither_underflow_nor_overflow_in_float32():
    from lecturelib.diagnostics import gradient_norms_by_layer

    net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Linear(4, 4))
    for layer, value in zip(net, (1e-25, 1e25), strict=True):
        layer.weight.grad = torch.full((4, 4), value, dtype=torch.float32)
    norms = gradient_norms_by_layer(net)
    np.testing.assert_allclose(norms, [4e-25, 4e25], rtol=1e-5)  # sqrt(16) * value
