"""Polynomial fits, splits, error measures and the under/over/right-fit labels."""

import math

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal

from lecturelib.fitting import (
    LABELS,
    accuracy,
    fit_label,
    fit_polynomial,
    label_learning_curves,
    make_curve_data,
    mse,
    polynomial_features,
    predict_polynomial,
    rmse,
    train_test_split,
    true_curve,
)


# -- data ------------------------------------------------------------------------------
def test_true_curve_is_sin_2pi_x():
    assert_allclose(true_curve(np.array([0.0, 0.25, 0.5, 0.75])), [0, 1, 0, -1], atol=1e-15)


def test_curve_data_shapes_range_and_seed():
    x, y = make_curve_data(50, noise=0.3, seed=1)
    assert x.shape == y.shape == (50,)
    assert np.all((0 <= x) & (x <= 1)) and np.all(np.diff(x) >= 0)  # sorted, in [0, 1]
    x2, y2 = make_curve_data(50, noise=0.3, seed=1)
    assert_array_equal(x, x2)
    assert_array_equal(y, y2)
    assert not np.array_equal(y, make_curve_data(50, noise=0.3, seed=2)[1])


def test_curve_data_noise_is_gaussian_with_the_given_sd():
    x, y = make_curve_data(1, noise=0.0, seed=0)
    assert_allclose(y, true_curve(x))
    x, y = make_curve_data(20_000, noise=0.3, seed=0)
    residual = y - true_curve(x)
    assert abs(residual.mean()) < 0.01 and abs(residual.std() - 0.3) < 0.01


def test_curve_data_takes_another_curve():
    x, y = make_curve_data(10, noise=0.0, seed=0, curve=lambda x: 2 * x + 1)
    assert_allclose(y, 2 * x + 1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"n": 0}, "n must be"), ({"n": 2.5}, "n must be"), ({"noise": -0.1}, "noise must be")],
)
def test_curve_data_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_curve_data(**({"n": 10, "noise": 0.1, "seed": 0} | kwargs))


# -- splits ----------------------------------------------------------------------------
def test_split_is_disjoint_complete_aligned_and_ordered():
    x = np.arange(20) * 10
    y = np.arange(20)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_fraction=0.25, seed=0)
    assert len(x_te) == len(y_te) == 5 and len(x_tr) == len(y_tr) == 15
    assert_array_equal(x_tr, 10 * y_tr)  # pairs stay together
    assert_array_equal(x_te, 10 * y_te)
    assert set(y_tr).isdisjoint(y_te) and sorted([*y_tr, *y_te]) == list(range(20))
    assert np.all(np.diff(y_tr) > 0) and np.all(np.diff(y_te) > 0)  # original order kept


def test_split_is_reproducible_and_the_seed_matters():
    y = np.arange(100)
    first = train_test_split(y, test_fraction=0.3, seed=4)
    again = train_test_split(y, test_fraction=0.3, seed=4)
    other = train_test_split(y, test_fraction=0.3, seed=5)
    assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[1], other[1])


def test_split_keeps_tensors_as_tensors_and_rounds_the_test_size():
    X, y = torch.randn(7, 3), torch.arange(7)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_fraction=0.5, seed=0)
    assert isinstance(X_tr, torch.Tensor) and X_te.shape == (4, 3) and y_tr.shape == (3,)
    assert torch.equal(X_te, X[y_te])
    assert len(train_test_split(np.arange(10), test_fraction=0.01, seed=0)[1]) == 1  # >= 1
    assert len(train_test_split(np.arange(10), test_fraction=0.99, seed=0)[0]) == 1  # <= n-1


@pytest.mark.parametrize(
    ("arrays", "fraction", "match"),
    [
        ((np.arange(5), np.arange(6)), 0.2, "equal lengths"),
        ((np.arange(0),), 0.2, "at least 2"),
        ((np.arange(1),), 0.2, "at least 2"),
        ((), 0.2, "at least one array"),
        ((np.arange(5),), 0.0, "test_fraction"),
        ((np.arange(5),), 1.0, "test_fraction"),
        ((np.arange(5),), 1.5, "test_fraction"),
    ],
)
def test_split_rejects_bad_input(arrays, fraction, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(*arrays, test_fraction=fraction, seed=0)


# -- polynomials -----------------------------------------------------------------------
def test_features_are_increasing_powers():
    x = np.array([0.5, 2.0, -1.0])
    phi = polynomial_features(x, 3)
    assert phi.shape == (3, 4)
    assert_allclose(phi, np.stack([x**0, x, x**2, x**3], axis=1))
    assert_array_equal(polynomial_features(x, 0), np.ones((3, 1)))


@pytest.mark.parametrize("degree", [0, 1, 2, 3, 5, 7])
def test_fit_matches_numpy_polyfit_and_lstsq(degree):
    x, y = make_curve_data(40, noise=0.2, seed=degree)
    w = fit_polynomial(x, y, degree)
    assert w.shape == (degree + 1,)
    assert_allclose(w, np.polyfit(x, y, degree)[::-1], rtol=1e-7, atol=1e-9)
    w_lstsq, *_ = np.linalg.lstsq(polynomial_features(x, degree), y, rcond=None)
    assert_allclose(w, w_lstsq, rtol=1e-6, atol=1e-8)
    assert_allclose(predict_polynomial(w, x), np.polyval(np.polyfit(x, y, degree), x))


def test_fit_recovers_an_exact_polynomial_on_any_range():
    x = np.linspace(-3.0, 5.0, 25)
    coef = np.array([1.0, -2.0, 0.5, 0.25])
    assert_allclose(fit_polynomial(x, predict_polynomial(coef, x), 3), coef, atol=1e-10)
    assert_allclose(fit_polynomial(x, predict_polynomial(coef, x), 5), [*coef, 0, 0], atol=1e-9)


@pytest.mark.parametrize("degree", [9, 14])
def test_degree_n_minus_1_and_above_interpolates(degree):
    x, y = make_curve_data(10, noise=0.3, seed=0)
    w = fit_polynomial(x, y, degree)
    assert w.shape == (degree + 1,)
    assert_allclose(predict_polynomial(w, x), y, atol=1e-6)


def test_predict_by_hand():
    assert_allclose(predict_polynomial([1.0, 2.0, 3.0], np.array([0.0, 1.0, 2.0])), [1, 6, 17])


def test_fit_accepts_tensors():
    x, y = make_curve_data(20, noise=0.1, seed=0)
    assert_allclose(fit_polynomial(torch.tensor(x), torch.tensor(y), 3), fit_polynomial(x, y, 3))


@pytest.mark.parametrize(
    ("x", "y", "degree", "match"),
    [
        ([0.0, 1.0], [1.0, 2.0], -1, "degree must be"),
        ([0.0, 1.0], [1.0, 2.0], 1.5, "degree must be"),
        ([], [], 1, "x must not be empty"),
        ([0.0, 1.0, 2.0], [1.0, 2.0], 1, "equal length"),
        ([0.0, np.nan], [1.0, 2.0], 1, "x must be finite"),
        ([0.0, 1.0], [np.inf, 2.0], 1, "y must be finite"),
    ],
)
def test_fit_rejects_bad_input(x, y, degree, match):
    with pytest.raises(ValueError, match=match):
        fit_polynomial(np.array(x), np.array(y), degree)


def test_features_and_predict_reject_bad_input():
    with pytest.raises(ValueError, match="degree must be"):
        polynomial_features(np.ones(3), -2)
    with pytest.raises(ValueError, match="x must be 1-D"):
        polynomial_features(np.ones((3, 2)), 2)
    with pytest.raises(ValueError, match="coef must be finite"):
        predict_polynomial([1.0, np.nan], np.ones(3))


# -- error measures --------------------------------------------------------------------
def test_errors_by_hand():
    y, y_hat = np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 5.0])
    assert mse(y, y_hat) == pytest.approx(5 / 3)  # (0 + 1 + 4) / 3
    assert rmse(y, y_hat) == pytest.approx(math.sqrt(5 / 3))
    assert mse(torch.tensor(y), torch.tensor(y_hat)) == pytest.approx(5 / 3)
    assert isinstance(mse(y, y_hat), float)


def test_accuracy_by_hand_from_labels_or_logits():
    labels = np.array([0, 1, 2, 1])
    assert accuracy(labels, np.array([0, 1, 1, 1])) == 0.75
    logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.5], [0.0, 3.0, 1.0], [0.0, 0.0, 1.0]])
    assert accuracy(labels, logits) == 0.5  # argmax: 0, 1, 1, 2
    assert accuracy(logits, torch.tensor(labels)) == 0.5  # either order: fit's metric(out, y)


@pytest.mark.parametrize(
    ("y", "y_hat", "match"),
    [
        ([1.0, 2.0], [1.0], "same shape"),
        ([], [], "must not be empty"),
        ([1.0, np.nan], [1.0, 2.0], "y must be finite"),
        ([1.0, 2.0], [np.nan, 2.0], "y_hat must be finite"),
    ],
)
def test_errors_reject_bad_input(y, y_hat, match):
    with pytest.raises(ValueError, match=match):
        mse(np.array(y), np.array(y_hat))


def test_accuracy_rejects_bad_input():
    with pytest.raises(ValueError, match="equal lengths"):
        accuracy([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="predictions must be labels"):
        accuracy([0, 1], np.zeros((2, 1)))  # one score column is ambiguous
    with pytest.raises(ValueError, match="labels must not be empty"):
        accuracy([], [])


# -- labels ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("train", "test", "label"),
    [
        (0.8, 0.9, "underfit"),  # both high, gap small
        (0.5, 3.0, "underfit"),  # both high, gap large: the training error comes first
        (0.01, 2.0, "overfit"),  # training low, test high
        (0.02, 0.28, "overfit"),  # both below `low`, but the gap 0.26 > 0.2
        (0.10, 0.15, "right fit"),  # both low, gap small
        (0.31, 0.31, "underfit"),  # just above `low`
    ],
)
def test_fit_label_on_constructed_cases(train, test, label):
    assert fit_label(train, test, baseline=1.0) == label
    assert fit_label(10 * train, 10 * test, baseline=10.0) == label  # only ratios count
    assert label in LABELS


def test_fit_label_borderline_values_count_as_low_and_small():
    # Binary-exact numbers, so "exactly on the threshold" is exact.
    assert fit_label(0.25, 0.25, baseline=1.0, low=0.25) == "right fit"  # t = v = low
    assert fit_label(0.0, 0.25, baseline=1.0, low=0.25, gap=0.25) == "right fit"  # v - t = gap
    assert fit_label(0.0, 0.25, baseline=1.0, low=0.25, gap=0.125) == "overfit"
    assert fit_label(0.25, 0.25, baseline=1.0, low=0.125) == "underfit"


def test_fit_label_thresholds_are_arguments():
    assert fit_label(0.4, 0.45, baseline=1.0) == "underfit"
    assert fit_label(0.4, 0.45, baseline=1.0, low=0.5) == "right fit"
    assert fit_label(0.1, 0.25, baseline=1.0, gap=0.1) == "overfit"


def test_fit_label_measures_the_polynomial_example():
    # The lecture's picture, measured: 15 noisy points, a large fresh test set.
    x, y = make_curve_data(15, noise=0.2, seed=0)
    x_test, y_test = make_curve_data(1000, noise=0.2, seed=100)
    labels = {}
    for degree in (0, 1, 3, 9):
        w = fit_polynomial(x, y, degree)
        train, test = mse(y, predict_polynomial(w, x)), mse(y_test, predict_polynomial(w, x_test))
        labels[degree] = fit_label(train, test, baseline=np.var(y))
    assert labels == {0: "underfit", 1: "underfit", 3: "right fit", 9: "overfit"}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"baseline": 0.0}, "baseline must be"),
        ({"baseline": -1.0}, "baseline must be"),
        ({"low": 0.0}, "low must be"),
        ({"gap": np.nan}, "gap must be"),
        ({"train_error": -0.1}, "train_error must be"),
        ({"test_error": np.nan}, "test_error must be"),
    ],
)
def test_fit_label_rejects_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fit_label(**({"train_error": 0.1, "test_error": 0.2, "baseline": 1.0} | kwargs))


EPOCHS = np.arange(1, 31)
FALLING = 0.05 + 0.9 * np.exp(-EPOCHS / 4)  # from 0.74 down to 0.05


@pytest.mark.parametrize(
    ("train", "val", "label"),
    [
        # too small a model: both flat and high, close together
        (0.8 + 0.2 * np.exp(-EPOCHS / 3), 0.85 + 0.2 * np.exp(-EPOCHS / 3), "underfit"),
        # too big: training loss falls to 0 while validation loss ends high
        (0.01 * FALLING, 0.3 + 0.02 * (EPOCHS - 10) ** 2 / 20, "overfit"),
        # both low at the end, but validation turned up from 0.10 to 0.20 > 0.10 + rise
        (FALLING, 0.10 + 0.1 * np.abs(EPOCHS - 10) / 20, "overfit"),
        # both fall and settle low, together
        (FALLING, FALLING + 0.05, "right fit"),
        # training low, validation flat at 0.28: below `low` but the gap 0.23 > 0.2
        (FALLING, np.full(30, 0.28), "overfit"),
    ],
)
def test_label_learning_curves_on_constructed_cases(train, val, label):
    assert label_learning_curves(train, val, baseline=1.0) == label
    assert label_learning_curves(2 * train, 2 * val, baseline=2.0) == label


def test_label_learning_curves_rise_threshold():
    val = np.r_[np.linspace(0.5, 0.1, 10), np.linspace(0.1, 0.2, 10)]
    train = np.linspace(0.5, 0.02, 20)
    assert label_learning_curves(train, val, baseline=1.0) == "overfit"
    assert label_learning_curves(train, val, baseline=1.0, rise=0.15) == "right fit"
    # A rise of exactly `rise` (binary-exact numbers) does not count as turned up.
    val = np.array([0.5, 0.25, 0.125, 0.125, 0.1875])
    train = np.array([0.5, 0.25, 0.125, 0.0625, 0.0625])
    assert label_learning_curves(train, val, baseline=1.0, rise=0.0625) == "right fit"
    assert label_learning_curves(train, val, baseline=1.0, rise=0.03125) == "overfit"


@pytest.mark.parametrize(
    ("train", "val", "kwargs", "match"),
    [
        ([0.1, 0.2], [0.1], {}, "equal length"),
        ([], [], {}, "train_curve must not be empty"),
        ([[0.1]], [[0.1]], {}, "1-D"),
        ([0.1, np.nan], [0.1, 0.2], {}, "train_curve must be finite"),
        ([0.1, 0.2], [0.1, 0.2], {"rise": 0.0}, "rise must be"),
        ([0.1, 0.2], [0.1, 0.2], {"baseline": 0.0}, "baseline must be"),
    ],
)
def test_label_learning_curves_rejects_bad_input(train, val, kwargs, match):
    with pytest.raises(ValueError, match=match):
        label_learning_curves(np.array(train), np.array(val), **({"baseline": 1.0} | kwargs))
