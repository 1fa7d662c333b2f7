"""Gradient clipping by value and by norm, checked against torch.nn.utils."""

import copy
import math

import pytest
import torch
from torch.testing import assert_close

from lecturelib.clipping import clip_by_norm_, clip_by_value_
from lecturelib.nets import mlp


def model_with_grads(seed, scale=1.0):
    """A small random net with random-scale gradients, and an identical copy of it."""
    net = mlp(5, 3, depth=3, width=8, activation="tanh", init="glorot", seed=seed)
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(16, 5, generator=g), torch.randn(16, 3, generator=g)
    (scale * torch.nn.functional.mse_loss(net(x), y)).backward()
    twin = copy.deepcopy(net)  # deepcopy does not copy .grad
    for p, q in zip(net.parameters(), twin.parameters(), strict=True):
        q.grad = p.grad.clone()
    return net, twin


def grads(net):
    return [p.grad for p in net.parameters()]


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("scale", [1.0, 100.0])
@pytest.mark.parametrize("clip_value", [1e-3, 0.05, 1.0, 1e6])
def test_clip_by_value_matches_torch(seed, scale, clip_value):
    ours, theirs = model_with_grads(seed, scale)
    largest = max(p.grad.abs().max() for p in ours.parameters())
    returned = clip_by_value_(ours.parameters(), clip_value)
    torch.nn.utils.clip_grad_value_(theirs.parameters(), clip_value)
    assert_close(grads(ours), grads(theirs), rtol=0, atol=0)
    assert_close(returned, largest)
    assert all(p.grad.abs().max() <= clip_value for p in ours.parameters())


def test_clip_by_value_leaves_small_gradients_alone():
    ours, theirs = model_with_grads(0)
    returned = clip_by_value_(ours.parameters(), 1e6)
    assert returned < 1e6
    assert_close(grads(ours), grads(theirs), rtol=0, atol=0)  # theirs: unclipped


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("norm_type", [1.0, 2.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [1e-3, 0.1, 1.0, 1e6])
def test_clip_by_norm_matches_torch(seed, norm_type, max_norm):
    ours, theirs = model_with_grads(seed, scale=10.0)
    returned = clip_by_norm_(ours.parameters(), max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), max_norm, norm_type)
    assert_close(returned, expected)
    assert_close(grads(ours), grads(theirs))
    total_after = torch.linalg.vector_norm(
        torch.cat([p.grad.flatten() for p in ours.parameters()]), norm_type
    )
    assert total_after <= max_norm * (1 + 1e-5) or total_after == returned


def test_clip_by_norm_returns_the_norm_before_clipping():
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.tensor([3.0, 4.0])
    assert_close(clip_by_norm_(w, 1.0), torch.tensor(5.0))
    assert_close(w.grad, torch.tensor([3.0, 4.0]) / (5.0 + 1e-6))
    w.grad = torch.tensor([3.0, -4.0])
    assert_close(clip_by_norm_([w], 1.0, norm_type=math.inf), torch.tensor(4.0))
    assert_close(w.grad, torch.tensor([3.0, -4.0]) / (4.0 + 1e-6))


def test_no_clipping_when_the_norm_is_small():
    ours, theirs = model_with_grads(2)
    returned = clip_by_norm_(ours.parameters(), max_norm=1e6)
    assert returned < 1e6
    assert_close(grads(ours), grads(theirs), rtol=0, atol=0)


@pytest.mark.parametrize("clip", [clip_by_value_, clip_by_norm_])
def test_a_single_tensor_and_params_without_grad(clip):
    a = torch.zeros(3, requires_grad=True)
    b = torch.zeros(4, requires_grad=True)  # no .grad: skipped
    a.grad = torch.tensor([10.0, -20.0, 0.5])
    clip(a, 1.0)
    first = a.grad.clone()
    a.grad = torch.tensor([10.0, -20.0, 0.5])
    clip([a, b], 1.0)
    assert_close(a.grad, first)
    assert b.grad is None
    assert_close(clip([b], 1.0), torch.tensor(0.0))  # nothing to clip


def test_parameters_as_a_generator_and_with_a_frozen_layer():
    ours, theirs = model_with_grads(3, scale=50.0)
    for net in (ours, theirs):
        net[0].weight.grad = None  # as if frozen
    returned = clip_by_norm_((p for p in ours.parameters()), 0.5)
    expected = torch.nn.utils.clip_grad_norm_(theirs.parameters(), 0.5)
    assert_close(returned, expected)
    assert ours[0].weight.grad is None
    assert_close(grads(ours)[1:], grads(theirs)[1:])


def test_returns_a_scalar_tensor_without_autograd_history():
    ours, _ = model_with_grads(4)
    for returned in (clip_by_norm_(ours.parameters(), 0.1), clip_by_value_(ours.parameters())):
        assert returned.shape == () and not returned.requires_grad


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_clip_value_must_be_positive(bad):
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.ones(2)
    with pytest.raises(ValueError, match=f"clip_value must be > 0, got {bad}"):
        clip_by_value_(w, bad)
    assert_close(w.grad, torch.ones(2))  # untouched


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_max_norm_must_be_positive(bad):
    w = torch.zeros(2, requires_grad=True)
    w.grad = torch.ones(2)
    with pytest.raises(ValueError, match=f"max_norm must be > 0, got {bad}"):
        clip_by_norm_(w, bad)
    with pytest.raises(ValueError, match="norm_type must be > 0"):
        clip_by_norm_(w, 1.0, norm_type=0)
