"""Glorot and He initialisation: variances against the papers' formulas and torch.nn.init."""

import math
import re

import pytest
import torch
from torch.testing import assert_close

from lecturelib.init import _fans, glorot_normal_, glorot_uniform_, he_normal_, he_uniform_

# A weight with fan_in != fan_out, so that using the wrong fan would show.
SHAPE = (400, 2500)  # (out, in): fan_in 2500, fan_out 400, a million entries
N = math.prod(SHAPE)

# Excess kurtosis term of the estimator below: Var(mean of w^2) = (E w^4 - sigma^4) / n,
# with E w^4 = 3 sigma^4 for a normal and 9/5 sigma^4 for a uniform distribution.
FOURTH_MOMENT_EXCESS = {"normal": 2.0, "uniform": 0.8}

# name -> (our function, kind, target variance for SHAPE, torch's version)
SCHEMES = {
    "glorot_uniform": (
        glorot_uniform_,
        "uniform",
        2 / (2500 + 400),
        torch.nn.init.xavier_uniform_,
    ),
    "glorot_normal": (glorot_normal_, "normal", 2 / (2500 + 400), torch.nn.init.xavier_normal_),
    "he_uniform": (
        he_uniform_,
        "uniform",
        2 / 2500,
        lambda w, generator: torch.nn.init.kaiming_uniform_(
            w, nonlinearity="relu", generator=generator
        ),
    ),
    "he_normal": (
        he_normal_,
        "normal",
        2 / 2500,
        lambda w, generator: torch.nn.init.kaiming_normal_(
            w, nonlinearity="relu", generator=generator
        ),
    ),
}


def gen(seed):
    return torch.Generator().manual_seed(seed)


def variance_about_zero(w):
    """Mean of w^2: the variance estimate for weights whose mean is known to be 0."""
    return w.double().pow(2).mean().item()


def standard_error(kind, variance, n=N):
    """Standard error of variance_about_zero over n independent draws."""
    return variance * math.sqrt(FOURTH_MOMENT_EXCESS[kind] / n)


@pytest.mark.parametrize("name", SCHEMES)
def test_variance_matches_the_formula(name):
    init_, kind, variance, _ = SCHEMES[name]
    w = init_(torch.empty(SHAPE), generator=gen(0))
    assert abs(variance_about_zero(w) - variance) < 5 * standard_error(kind, variance)
    assert abs(w.double().mean().item()) < 5 * math.sqrt(variance / N)


@pytest.mark.parametrize("name", SCHEMES)
def test_variance_matches_torch_with_independent_draws(name):
    init_, kind, variance, torch_init_ = SCHEMES[name]
    ours = variance_about_zero(init_(torch.empty(SHAPE), generator=gen(1)))
    theirs = variance_about_zero(torch_init_(torch.empty(SHAPE), generator=gen(2)))
    # The difference of two independent estimates has sqrt(2) times their standard error.
    assert abs(ours - theirs) < 5 * math.sqrt(2) * standard_error(kind, variance)


@pytest.mark.parametrize("name", SCHEMES)
@pytest.mark.parametrize("shape", [(30, 50), (16, 8, 3, 3), (4, 6, 5)])
def test_same_generator_state_gives_torchs_values(name, shape):
    # Both draw with tensor.uniform_/normal_ from the same generator. The values come out
    # bit for bit equal here, but the scale is computed differently (sqrt(6/n) here,
    # sqrt(3) * sqrt(2/n) in torch), so allow float32 rounding rather than demand equality.
    init_, _, _, torch_init_ = SCHEMES[name]
    assert_close(
        init_(torch.empty(shape), generator=gen(3)),
        torch_init_(torch.empty(shape), generator=gen(3)),
    )


@pytest.mark.parametrize("shape", [(30, 50), (16, 8, 3, 3)])
def test_he_fan_out_matches_torch(shape):
    for ours, theirs in [
        (he_uniform_, torch.nn.init.kaiming_uniform_),
        (he_normal_, torch.nn.init.kaiming_normal_),
    ]:
        assert_close(
            ours(torch.empty(shape), mode="fan_out", generator=gen(4)),
            theirs(torch.empty(shape), mode="fan_out", nonlinearity="relu", generator=gen(4)),
        )


def test_fan_out_mode_uses_the_number_of_outputs():
    w = he_normal_(torch.empty(SHAPE), mode="fan_out", generator=gen(5))
    variance = 2 / 400
    assert abs(variance_about_zero(w) - variance) < 5 * standard_error("normal", variance)


@pytest.mark.parametrize(
    ("init_", "bound"),
    [(glorot_uniform_, math.sqrt(6 / (2500 + 400))), (he_uniform_, math.sqrt(6 / 2500))],
)
def test_uniform_bounds_are_respected_and_reached(init_, bound):
    w = init_(torch.empty(SHAPE), generator=gen(6))
    largest = w.abs().max().item()
    assert largest <= bound * (1 + 1e-6)
    assert largest > 0.999 * bound  # a million draws come within 0.1% of the edge


def test_gain_scales_the_standard_deviation():
    w1 = glorot_normal_(torch.empty(50, 70), generator=gen(7))
    w3 = glorot_normal_(torch.empty(50, 70), gain=3.0, generator=gen(7))
    assert_close(w3, 3 * w1)
    lecun = he_uniform_(torch.empty(50, 70), gain=1.0, generator=gen(7))
    assert lecun.abs().max() <= math.sqrt(3 / 70)


@pytest.mark.parametrize(
    ("shape", "fans"),
    [
        ((3, 5), (5, 3)),
        ((16, 8, 3, 3), (72, 144)),
        ((4, 6, 5), (30, 20)),
        ((2, 3, 2, 2, 2), (24, 16)),
    ],
)
def test_fans_of_linear_and_conv_weights(shape, fans):
    assert _fans(torch.empty(shape)) == fans


def test_conv_weight_variance():
    w = he_normal_(torch.empty(64, 32, 5, 5), generator=gen(8))  # fan_in = 32 * 25
    variance, n = 2 / 800, w.numel()
    assert abs(variance_about_zero(w) - variance) < 5 * standard_error("normal", variance, n)


@pytest.mark.parametrize("init_", [glorot_uniform_, glorot_normal_, he_uniform_, he_normal_])
def test_in_place_without_autograd_and_returns_the_tensor(init_):
    p = torch.nn.Parameter(torch.zeros(6, 4))
    out = init_(p, generator=gen(9))
    assert out is p
    assert p.abs().sum() > 0
    assert p.grad_fn is None and p.requires_grad


def test_global_generator_is_used_without_a_generator():
    torch.manual_seed(10)
    a = he_normal_(torch.empty(5, 5))
    torch.manual_seed(10)
    assert_close(he_normal_(torch.empty(5, 5)), a)


@pytest.mark.parametrize("init_", [glorot_uniform_, glorot_normal_, he_uniform_, he_normal_])
@pytest.mark.parametrize("shape", [(), (7,)])
def test_fewer_than_two_dims_is_an_error_naming_the_shape(init_, shape):
    with pytest.raises(
        ValueError, match=rf"at least 2 dimensions.*got shape {re.escape(str(shape))}"
    ):
        init_(torch.empty(shape))


@pytest.mark.parametrize("init_", [he_uniform_, he_normal_])
def test_unknown_mode_lists_the_valid_ones(init_):
    with pytest.raises(ValueError, match="mode must be one of 'fan_in', 'fan_out', got 'fan_avg'"):
        init_(torch.empty(3, 3), mode="fan_avg")


@pytest.mark.parametrize("gain", [0.0, -1.0, math.inf, math.nan])
def test_bad_gain(gain):
    with pytest.raises(ValueError, match="gain must be a finite number > 0"):
        glorot_uniform_(torch.empty(3, 3), gain=gain)


@pytest.mark.parametrize("init_", [glorot_uniform_, glorot_normal_, he_uniform_, he_normal_])
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0), (4, 0, 3)])
def test_empty_tensor_is_left_alone(init_, shape):
    w = torch.empty(shape)
    assert init_(w) is w
