"""Auto-checked exercises: right answers pass, wrong ones fail with a useful hint."""

import math

import numpy as np
import pytest
import torch

from lecturelib.checks import (
    check_curve_labeller,
    check_descent,
    check_forward_difference,
    check_he_init,
    check_rmsprop_step,
)
from lecturelib.init import he_normal_, he_uniform_


def test_right_answer_passes():
    result = check_forward_difference(lambda f, x, h: (f(x + h) - f(x)) / h)
    assert result.passed and "Correct" in repr(result)


def test_stub_is_not_attempted_and_does_not_raise():
    result = check_forward_difference(lambda f, x, h: None)
    assert not result.passed and "Not attempted" in result.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h), "central difference"),
        (lambda f, x, h: (f(x) - f(x - h)) / h, "backward difference"),
        (lambda f, x, h: f(x + h) - f(x), "without dividing by h"),
        (lambda f, x, h: 0.0, ""),
    ],
)
def test_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=f"expected .*{hint}"):
        check_forward_difference(answer)


def test_not_a_function():
    with pytest.raises(TypeError, match="forward_difference must be a function"):
        check_forward_difference(3.0)


# -- check_descent -------------------------------------------------------------------
def right_descend(grad, x0, lr, steps):
    points = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        points.append(points[-1] - lr * grad(points[-1]))
    return np.array(points)


def test_descent_right_answer_passes():
    assert check_descent(right_descend).passed


def test_descent_stub_is_not_attempted():
    assert not check_descent(lambda grad, x0, lr, steps: None).passed


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda g, x0, lr, n: right_descend(g, x0, -lr, n), "Your points climb"),
        (lambda g, x0, lr, n: right_descend(g, x0, 1.0, n), "learning rate is missing"),
        (lambda g, x0, lr, n: right_descend(g, x0, lr, n)[1:], "x_0 to x_20"),
        (lambda g, x0, lr, n: right_descend(g, x0, lr / 2, n), "differ from gradient descent"),
    ],
)
def test_descent_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_descent(answer)


# -- check_rmsprop_step --------------------------------------------------------------
def right_rmsprop(theta, g, s, lr, alpha, eps):
    s = alpha * s + (1 - alpha) * g**2
    return theta - lr * g / (s.sqrt() + eps), s


def test_rmsprop_right_answer_passes():
    assert check_rmsprop_step(right_rmsprop).passed


def test_rmsprop_stub_is_not_attempted():
    assert not check_rmsprop_step(lambda *args: None).passed


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (
            lambda t, g, s, lr, a, e: (t, a * s + g**2),
            "weight \\(1 - alpha\\)",
        ),
        (
            lambda t, g, s, lr, a, e: (
                t - lr * g / ((a * s + (1 - a) * g**2 + e).sqrt()),
                a * s + (1 - a) * g**2,
            ),
            "eps outside the square root",
        ),
        (
            lambda t, g, s, lr, a, e: (
                t + lr * g / ((a * s + (1 - a) * g**2).sqrt() + e),
                a * s + (1 - a) * g**2,
            ),
            "Step against the gradient",
        ),
        (lambda t, g, s, lr, a, e: (t, a * s + (1 - a) * g), "squared"),
    ],
)
def test_rmsprop_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_rmsprop_step(answer)


# -- check_he_init -------------------------------------------------------------------
def right_he_normal(fan_in, fan_out, generator):
    return torch.randn(fan_out, fan_in, generator=generator) * math.sqrt(2 / fan_in)


def with_std(std):
    """A he_normal that draws N(0, std(fan_in, fan_out)**2) from the generator."""
    return lambda fan_in, fan_out, g: (
        torch.randn(fan_out, fan_in, generator=g) * std(fan_in, fan_out)
    )


def test_he_init_right_answer_passes_and_matches_torch():
    result = check_he_init(right_he_normal)
    assert result.passed and "draw for draw" in result.message


def test_he_init_torch_kaiming_normal_passes():
    def kaiming(fan_in, fan_out, generator):
        w = torch.empty(fan_out, fan_in)
        return torch.nn.init.kaiming_normal_(w, nonlinearity="relu", generator=generator)

    assert check_he_init(kaiming).passed


def test_he_init_lecturelib_and_numpy_answers_pass():
    def ours(fan_in, fan_out, generator):
        return he_normal_(torch.empty(fan_out, fan_in), generator=generator)

    def numpy_answer(fan_in, fan_out, generator):  # a numpy array, seeded from the generator
        seed = int(torch.randint(0, 2**31, (1,), generator=generator))
        rng = np.random.default_rng(seed)
        return rng.normal(0.0, math.sqrt(2 / fan_in), size=(fan_out, fan_in))

    assert check_he_init(ours).passed
    result = check_he_init(numpy_answer)
    assert result.passed and "draw for draw" not in result.message


def test_he_init_stub_is_not_attempted():
    result = check_he_init(lambda fan_in, fan_out, generator: None)
    assert not result.passed and "Not attempted" in result.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (with_std(lambda i, o: math.sqrt(1 / i)), "LeCun's"),
        (with_std(lambda i, o: math.sqrt(2 / o)), "you used fan_out"),
        (with_std(lambda i, o: math.sqrt(1 / o)), "use fan_in, and a 2"),
        (with_std(lambda i, o: math.sqrt(2 / (i + o))), "Glorot's"),
        (with_std(lambda i, o: 2 / i), "standard deviation"),
        (with_std(lambda i, o: math.sqrt(2) / i), r"not sqrt\(2\)/fan_in"),
        (with_std(lambda i, o: 1.0), r"scale the N\(0, 1\) numbers"),
        (
            lambda i, o, g: torch.randn(i, o, generator=g) * math.sqrt(2 / i),
            r"has shape \(fan_out, fan_in\)",
        ),
        (lambda i, o, g: torch.randn(o, i + 1, generator=g), r"expected \(\d+, \d+\)\.$"),
        (lambda i, o, g: torch.rand(o, i, generator=g) * math.sqrt(2 / i), "mean 0"),
        (
            lambda i, o, g: he_uniform_(torch.empty(o, i), generator=g),
            "look uniform",
        ),
        (lambda i, o, g: torch.randn(o, i) * math.sqrt(2 / i), "generator you are given"),
        (
            lambda i, o, g: (
                torch.randn(o, i, generator=torch.Generator().manual_seed(7)) * math.sqrt(2 / i)
            ),
            "different seeds different ones",
        ),
        (lambda i, o, g: torch.full((o, i), float("nan")), "inf or NaN"),
    ],
)
def test_he_init_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_he_init(answer)


def test_he_init_not_a_function():
    with pytest.raises(TypeError, match="he_normal must be a function"):
        check_he_init("he")


# -- check_curve_labeller ------------------------------------------------------------
def right_labeller(train, val, baseline):
    t, v = train[-1] / baseline, val[-1] / baseline
    if t > 0.3:
        return "underfit"
    if v > 0.3 or v - t > 0.2 or (val[-1] - min(val)) / baseline > 0.05:
        return "overfit"
    return "right fit"


def test_curve_labeller_right_answer_passes():
    assert check_curve_labeller(right_labeller).passed


def test_curve_labeller_stub_is_not_attempted():
    assert not check_curve_labeller(lambda *args: None).passed


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda t, v, b: right_labeller(t, [v[-1]], b), "rose 0.07 above its minimum"),
        (lambda t, v, b: right_labeller(t, v, 1.0), "Divide the errors by the baseline"),
        (
            lambda t, v, b: "overfit" if (v[-1] - t[-1]) / b > 0.2 else right_labeller(t, v, b),
            "Look at the training error first",
        ),
        (
            lambda t, v, b: (
                "right fit" if t[-1] / b <= 0.3 and v[-1] / b <= 0.3 else right_labeller(t, v, b)
            ),
            "Check the gap",
        ),
    ],
)
def test_curve_labeller_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_curve_labeller(answer)


def test_curve_labeller_not_a_function():
    with pytest.raises(TypeError, match="label_curves must be a function"):
        check_curve_labeller("overfit")


# -- check_backbone_cut --------------------------------------------------------------
from lecturelib.checks import check_backbone_cut  # noqa: E402


def right_cut(network, cut):
    from collections import OrderedDict

    from lecturelib.features import CUTS

    names = list(CUTS)[: list(CUTS).index(cut) + 1]
    layers = OrderedDict((name, network.get_submodule(name)) for name in names)
    layers["flatten"] = torch.nn.Flatten()
    net = torch.nn.Sequential(layers).eval()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def test_backbone_cut_right_answer_passes():
    assert check_backbone_cut(right_cut).passed


def test_backbone_cut_stub_is_not_attempted():
    assert not check_backbone_cut(lambda network, cut: None).passed


def _unfrozen(network, cut):
    net = right_cut(network, cut)
    for p in net.parameters():
        p.requires_grad_(True)
    return net


def _fresh(network, cut):
    from lecturelib.features import digits_cnn

    return right_cut(digits_cnn(seed=1), cut)


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda n, c: torch.nn.Sequential(*list(right_cut(n, c))[:-1]), "nn.Flatten"),
        (lambda n, c: right_cut(n, "block2"), "That is the size of cut 'block2'"),
        (_fresh, "keep the given network's own blocks"),
        (_unfrozen, "requires_grad=True"),
        (lambda n, c: right_cut(n, c).train(), "train mode"),
        (lambda n, c: "block3", "return an nn.Module"),
    ],
)
def test_backbone_cut_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=hint):
        check_backbone_cut(answer)


def test_backbone_cut_not_a_function():
    with pytest.raises(TypeError, match="cut_backbone must be a function"):
        check_backbone_cut("block3")


# -- check_png_dataset ---------------------------------------------------------------
def png_dataset_class(read):
    """A Dataset over <root>/<id>.png whose __getitem__ is ``read(path, label)``."""
    from pathlib import Path

    from torch.utils.data import Dataset

    class PngFolder(Dataset):
        def __init__(self, root):
            self.root = Path(root)
            rows = [line.split(",") for line in (self.root / "labels.csv").read_text().split()]
            self.ids, self.labels = [r[0] for r in rows[1:]], [int(r[1]) for r in rows[1:]]

        def __len__(self):
            return len(self.ids)

        def __getitem__(self, i):
            return read(self.root / f"{self.ids[i]}.png", self.labels[i])

    return PngFolder


def read_png_right(path, label):
    from PIL import Image

    try:
        with Image.open(path) as image:
            pixels = np.array(image)
    except (OSError, SyntaxError) as error:
        raise ValueError(f"sample file {path} is truncated or corrupt: {error}") from None
    return torch.from_numpy(pixels).float().div(255)[None], label


def read_png_unnamed(path, label):
    from PIL import Image

    with Image.open(path) as image:
        return torch.from_numpy(np.array(image)).float().div(255)[None], label


def test_png_dataset_right_answer_passes():
    from lecturelib.checks import check_png_dataset

    result = check_png_dataset(png_dataset_class(read_png_right))
    assert result.passed and "naming it" in result.message


def test_png_dataset_stub_is_not_attempted():
    from lecturelib.checks import check_png_dataset

    result = check_png_dataset(png_dataset_class(lambda path, label: None))
    assert not result.passed and "Not attempted" in result.message


@pytest.mark.parametrize(
    ("read", "hint"),
    [
        (read_png_unnamed, "must name the file \\(img03.png\\)"),
        (lambda p, y: (read_png_right(p, y)[0] * 255, y), "Divide by 255"),
        (lambda p, y: (read_png_right(p, y)[0][0], y), "add the channel axis"),
        (lambda p, y: (read_png_right(p, y)[0], 0), "your label is 0"),
        (lambda p, y: (torch.zeros(1, 12, 12), y) if "img03" in str(p) else read_png_right(p, y),
         "was read without an error|differ"),
    ],
)  # fmt: skip
def test_png_dataset_wrong_answers_fail_with_a_hint(read, hint):
    from lecturelib.checks import check_png_dataset

    with pytest.raises(AssertionError, match=hint):
        check_png_dataset(png_dataset_class(read))


def test_png_dataset_not_a_class():
    from lecturelib.checks import check_png_dataset

    with pytest.raises(TypeError, match="dataset_class must be a class"):
        check_png_dataset(3)
