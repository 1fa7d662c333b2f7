r"""Overfitting and underfitting, measured: polynomial fits, splits, errors and labels.

The running example (Bishop (2006), *Pattern Recognition and Machine Learning*, §1.1):
noisy points from :math:`\sin(2\pi x)` fitted by polynomials of degree :math:`M`,
:math:`\hat y(x; w) = \sum_{k=0}^{M} w_k x^k`, a model linear in the features
:math:`(1, x, \dots, x^M)`. :func:`fit_label` and :func:`label_learning_curves` turn the
lecture's table into an explicit rule: *underfitting*, training and test error both high
(gap small); *right fit*, both low; *overfitting*, training error low, test error high.
The error measures accept NumPy arrays or PyTorch tensors (on any device).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from numpy.polynomial import Polynomial

__all__ = [
    "LABELS",
    "accuracy",
    "fit_label",
    "fit_polynomial",
    "label_learning_curves",
    "make_curve_data",
    "mse",
    "polynomial_features",
    "predict_polynomial",
    "rmse",
    "train_test_split",
    "true_curve",
]

LABELS = ("underfit", "right fit", "overfit")
"""The three answers of :func:`fit_label` and :func:`label_learning_curves`."""


def _as_numpy(name: str, values: object) -> np.ndarray:
    """A float or int array from a list, an array or a tensor; rejects empty and NaN."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    array = np.asarray(values)
    if array.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise ValueError(f"{name} must hold real numbers, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        where = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ValueError(f"{name} must be finite, got NaN or inf at index {where}")
    return array


def _check_degree(degree: object) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 0:
        raise ValueError(f"degree must be an int >= 0, got {degree!r}")
    return int(degree)


def _xy(x: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    x, y = _as_numpy("x", x).astype(np.float64), _as_numpy("y", y).astype(np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-D of equal length, got shapes {x.shape}, {y.shape}")
    return x, y


# -- data ------------------------------------------------------------------------------
def true_curve(x: np.ndarray) -> np.ndarray:
    r"""The curve behind the data, :math:`f(x) = \sin(2\pi x)`; same shape as ``x``."""
    return np.sin(2 * np.pi * np.asarray(x, dtype=np.float64))


def make_curve_data(
    n: int, *, noise: float, seed: int, curve: Callable[[np.ndarray], np.ndarray] = true_curve
) -> tuple[np.ndarray, np.ndarray]:
    r"""Noisy points from a known curve: :math:`y = f(x) + \sigma\varepsilon`.

    :math:`x \sim U(0, 1)`, sorted ascending; :math:`\varepsilon \sim \mathcal N(0, 1)`;
    :math:`\sigma` = ``noise``; :math:`f` = ``curve`` (default :func:`true_curve`). The
    best any model can do on fresh data is a mean squared error of :math:`\sigma^2`.

    Returns:
        ``x`` and ``y``, both of shape ``(n,)``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(0.0, 1.0, size=n))
    return x, np.asarray(curve(x), dtype=np.float64) + noise * rng.standard_normal(n)


def train_test_split(
    *arrays: np.ndarray | torch.Tensor, test_fraction: float, seed: int
) -> list[np.ndarray | torch.Tensor]:
    """Split arrays of equal length into a random training part and a test part.

    ``round(test_fraction * n)`` items (at least 1, at most n - 1) go to the test part,
    chosen by a permutation drawn from ``seed``; each part keeps the original order.

    Returns:
        ``[a_train, a_test, b_train, b_test, ...]``, one pair per array, each a tensor if
        the array was one, else a NumPy array: ``x_tr, x_te, y_tr, y_te = split(x, y, ...)``.
    """
    if not arrays:
        raise ValueError("train_test_split needs at least one array")
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    lengths = [len(a) for a in arrays]
    if len(set(lengths)) > 1:
        raise ValueError(f"arrays must have equal lengths, got {lengths}")
    n = lengths[0]
    if n < 2:
        raise ValueError(f"arrays must hold at least 2 items to split, got {n}")
    n_test = min(max(round(test_fraction * n), 1), n - 1)
    order = np.random.default_rng(seed).permutation(n)
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    parts = []
    for a in arrays:
        a = a if isinstance(a, torch.Tensor) else np.asarray(a)
        parts += [a[train], a[test]]
    return parts


# -- polynomial fits -------------------------------------------------------------------
def polynomial_features(x: np.ndarray, degree: int) -> np.ndarray:
    r"""The Vandermonde matrix :math:`\Phi_{ik} = x_i^k`, :math:`k = 0, \dots, M`.

    Returns shape ``(n, degree + 1)``: columns ``1, x, x**2, ..., x**degree``.
    """
    degree = _check_degree(degree)
    x = _as_numpy("x", x).astype(np.float64)
    if x.ndim != 1:
        raise ValueError(f"x must be 1-D, got shape {x.shape}")
    return np.vander(x, degree + 1, increasing=True)


def fit_polynomial(x: np.ndarray, y: np.ndarray, degree: int) -> np.ndarray:
    r"""Least-squares polynomial coefficients, :math:`w = \arg\min_w \lVert \Phi w - y\rVert^2`.

    Raw powers of :math:`x` are nearly collinear on :math:`[0, 1]`, so ``np.linalg.lstsq``
    solves for :math:`u = (x - c)/h \in [-1, 1]` (``c``, ``h``: centre and half-width of
    the range of ``x``) and the result is expanded back into powers of :math:`x`. It equals
    ``np.polyfit(x, y, degree)[::-1]`` where that is well conditioned; with ``degree >= n``
    the fit is not unique and this is the one of least norm in :math:`u`.

    Returns:
        ``w`` of shape ``(degree + 1,)``, increasing powers: ``w[k]`` multiplies
        ``x**k``, as in :func:`polynomial_features` and :func:`predict_polynomial`.
    """
    degree = _check_degree(degree)
    x, y = _xy(x, y)
    centre, half_width = (x.max() + x.min()) / 2, (x.max() - x.min()) / 2
    half_width = half_width if half_width > 0 else 1.0  # all x equal: only shift
    u = (x - centre) / half_width
    w_u, *_ = np.linalg.lstsq(polynomial_features(u, degree), y, rcond=None)
    # Substitute u = (x - c)/h into sum_k w_u[k] u^k to get coefficients of x^k.
    w = Polynomial(w_u)(Polynomial([-centre / half_width, 1 / half_width])).coef
    return np.pad(w, (0, degree + 1 - len(w)))


def predict_polynomial(coef: np.ndarray, x: np.ndarray) -> np.ndarray:
    r""":math:`\hat y = \Phi w`, i.e. :math:`\hat y_i = \sum_k w_k x_i^k`; shape of ``x``.

    ``coef`` holds increasing powers, as returned by :func:`fit_polynomial`.
    """
    coef = _as_numpy("coef", coef).astype(np.float64)
    if coef.ndim != 1:
        raise ValueError(f"coef must be 1-D, got shape {coef.shape}")
    return polynomial_features(x, len(coef) - 1) @ coef


# -- error measures --------------------------------------------------------------------
def _pair(y: object, y_hat: object) -> tuple[np.ndarray, np.ndarray]:
    y, y_hat = _as_numpy("y", y), _as_numpy("y_hat", y_hat)
    if y.shape != y_hat.shape:
        raise ValueError(f"y and y_hat must have the same shape, got {y.shape}, {y_hat.shape}")
    return y.astype(np.float64), y_hat.astype(np.float64)


def mse(y: np.ndarray | torch.Tensor, y_hat: np.ndarray | torch.Tensor) -> float:
    r"""Mean squared error, :math:`\frac1n \sum_i (y_i - \hat y_i)^2`."""
    y, y_hat = _pair(y, y_hat)
    return float(np.mean((y - y_hat) ** 2))


def rmse(y: np.ndarray | torch.Tensor, y_hat: np.ndarray | torch.Tensor) -> float:
    r"""Root mean squared error, :math:`\sqrt{\mathrm{MSE}}`, in the units of ``y``."""
    return float(np.sqrt(mse(y, y_hat)))


def _labels(name: str, values: object) -> np.ndarray:
    """Class labels ``(n,)`` as given, or the argmax of scores/logits ``(n, classes)``."""
    array = _as_numpy(name, values)
    if array.ndim == 2 and array.shape[1] >= 2:
        return array.argmax(axis=1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be labels (n,) or scores (n, classes), got {array.shape}")
    return array


def accuracy(labels: np.ndarray | torch.Tensor, predictions: np.ndarray | torch.Tensor) -> float:
    r"""Fraction of correct predictions, :math:`\frac1n \sum_i [\hat c_i = c_i]`.

    Either argument may be class labels ``(n,)`` or scores/logits ``(n, classes)``, turned
    into labels by argmax. The measure is symmetric, so ``accuracy(logits, y)`` works too
    and it serves as a :func:`lecturelib.training.fit` metric as it is.
    """
    labels, predictions = _labels("labels", labels), _labels("predictions", predictions)
    if labels.shape != predictions.shape:
        shapes = f"{labels.shape}, {predictions.shape}"
        raise ValueError(f"labels and predictions must have equal lengths, got {shapes}")
    return float(np.mean(labels == predictions))


# -- labels ----------------------------------------------------------------------------
def _check_positive(**values: float) -> None:
    for name, value in values.items():
        if not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a finite number > 0, got {value}")


def fit_label(
    train_error: float, test_error: float, *, baseline: float, low: float = 0.3, gap: float = 0.2
) -> str:
    r"""Label a fit ``"underfit"``, ``"overfit"`` or ``"right fit"`` from its two errors.

    Errors count in units of ``baseline``, the error of a model that learned nothing:
    :math:`t` = ``train_error / baseline``, :math:`v` = ``test_error / baseline``. For the
    mean squared error take the variance of the training targets (the error of predicting
    their mean); for an error rate, that of always guessing the most frequent class. Then:

    1. :math:`t >` ``low``: ``"underfit"``, it cannot even fit its training data;
    2. else :math:`v >` ``low`` or :math:`v - t >` ``gap``: ``"overfit"``, it fits the
       training data but does clearly worse on new data;
    3. else ``"right fit"``: both errors low, gap small.

    Borderline cases: a value exactly on a threshold counts as low / small. A high
    training error *and* a large gap is ``"underfit"``: rule 1 comes first, as in the
    usual recipe (first get the training error down, then close the gap). With the
    defaults, a fit explaining less than 70% of the training targets' variance underfits.

    Args:
        train_error, test_error: the errors (e.g. :func:`mse` on each part), >= 0.
        baseline: the error of a model that learned nothing, > 0.
        low: the largest relative error that counts as low, > 0.
        gap: the largest relative gap :math:`v - t` that counts as small, > 0.
    """
    _check_positive(baseline=baseline, low=low, gap=gap)
    for name, value in (("train_error", train_error), ("test_error", test_error)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    t, v = train_error / baseline, test_error / baseline
    if t > low:
        return "underfit"
    if v > low or v - t > gap:
        return "overfit"
    return "right fit"


def label_learning_curves(
    train_curve: np.ndarray,
    val_curve: np.ndarray,
    *,
    baseline: float,
    low: float = 0.3,
    gap: float = 0.2,
    rise: float = 0.05,
) -> str:
    r"""Label a pair of learning curves (one value per epoch) like :func:`fit_label`.

    1. :func:`fit_label` on the last values, ``train_curve[-1]`` and ``val_curve[-1]``:
       training error high is ``"underfit"``; validation error high, or a large gap, is
       ``"overfit"``;
    2. a ``"right fit"`` whose validation curve has *turned up*, its last value above its
       minimum by more than ``rise`` (in units of ``baseline``), is ``"overfit"``:
       training went on past the best epoch.

    For a cross-entropy loss, ``baseline`` is that of uniform guessing, :math:`\ln K` for
    :math:`K` classes. Curves still falling are labelled for where they are now.

    Args:
        train_curve, val_curve: losses or errors per epoch, equal lengths >= 1, >= 0.
        baseline, low, gap: as in :func:`fit_label`.
        rise: how far the validation curve must climb above its minimum to count as
            turned up, relative to ``baseline``, > 0.
    """
    _check_positive(baseline=baseline, rise=rise)
    train = _as_numpy("train_curve", train_curve).astype(np.float64)
    val = _as_numpy("val_curve", val_curve).astype(np.float64)
    if train.ndim != 1 or train.shape != val.shape:
        raise ValueError(
            f"train_curve and val_curve must be 1-D of equal length, got {train.shape}, {val.shape}"
        )
    label = fit_label(train[-1], val[-1], baseline=baseline, low=low, gap=gap)
    if label == "right fit" and (val[-1] - val.min()) / baseline > rise:
        return "overfit"
    return label
