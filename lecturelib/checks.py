"""Check functions for the chapters' auto-checked exercises.

A check runs the student's function on a few cases and returns a :class:`CheckResult`
that prints as feedback. An exercise left as its stub (the function returns ``None``)
is "not attempted": the check says so without raising, so the notebook still runs end
to end. A wrong answer raises ``AssertionError`` with a hint about what differs.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "CheckResult",
    "check_backbone_cut",
    "check_curve_labeller",
    "check_descent",
    "check_forward_difference",
    "check_he_init",
    "check_png_dataset",
    "check_rmsprop_step",
]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of a check: ``passed`` and a message for the student."""

    passed: bool
    message: str

    def __repr__(self) -> str:
        # Plain words ("Correct ...", "Not attempted yet ..."), no emoji: an emoji shows as
        # an empty box where no emoji font is installed.
        return self.message

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#9a6700"
        return f'<p style="color:{colour};font-weight:bold">{html.escape(repr(self))}</p>'


# (name, f, its derivative, x, h): smooth functions where the forward difference error
# (f''(x) h / 2) is well above round-off for the h used.
_CASES: list[tuple[str, Callable[[float], float], Callable[[float], float], float, float]] = [
    ("x**2 at x=3, h=0.1", lambda x: x**2, lambda x: 2 * x, 3.0, 0.1),
    ("x**3 at x=-1, h=0.01", lambda x: x**3, lambda x: 3 * x**2, -1.0, 0.01),
    ("sin(x) at x=0.5, h=1e-3", math.sin, math.cos, 0.5, 1e-3),
    ("exp(x) at x=1, h=1e-4", math.exp, math.exp, 1.0, 1e-4),
]


def check_forward_difference(forward_difference: Callable) -> CheckResult:
    """Check ``forward_difference(f, x, h)`` ≈ (f(x + h) − f(x)) / h on a few cases.

    Raises ``AssertionError`` naming the first case that is wrong, with a hint when the
    answer matches a common mistake (the central or backward difference, a missing
    division by h).
    """
    if not callable(forward_difference):
        raise TypeError(
            f"forward_difference must be a function, got {type(forward_difference).__name__}"
        )
    for name, f, df, x, h in _CASES:
        got = forward_difference(f, x, h)
        if got is None:
            return CheckResult(False, "Not attempted yet: your function returns None.")
        expected = (f(x + h) - f(x)) / h
        if math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12):
            continue
        hints = {
            "the central difference (f(x+h) - f(x-h)) / 2h": (f(x + h) - f(x - h)) / (2 * h),
            "the backward difference (f(x) - f(x-h)) / h": (f(x) - f(x - h)) / h,
            "f(x+h) - f(x) without dividing by h": f(x + h) - f(x),
            "the exact derivative": df(x),
        }
        hint = next((f" It looks like {k}." for k, v in hints.items() if math.isclose(got, v)), "")
        raise AssertionError(f"For {name} you return {got!r}, expected {expected!r}.{hint}")
    return CheckResult(True, f"Correct on all {len(_CASES)} cases.")


def check_descent(descend: Callable) -> CheckResult:
    """Check ``descend(grad, x0, lr, steps)`` returns the iterates x_0, ..., x_steps.

    Compared with :func:`lecturelib.descent.gradient_descent` on a parabola and on a 2-D
    bowl. Raises ``AssertionError`` with a hint for the usual slips: stepping *up* the
    gradient, forgetting the learning rate, returning one point too few.
    """
    from lecturelib.descent import gradient_descent
    from lecturelib.landscapes import IllConditionedBowl, Parabola

    if not callable(descend):
        raise TypeError(f"descend must be a function, got {type(descend).__name__}")
    cases = [
        ("Parabola(a=1) from x0=2 with lr=0.1, 20 steps", Parabola(a=1.0), 2.0, 0.1, 20),
        (
            "the bowl from (2.5, 1) with lr=0.05, 30 steps",
            IllConditionedBowl(),
            np.array([2.5, 1.0]),
            0.05,
            30,
        ),
    ]
    for name, f, x0, lr, steps in cases:
        got = descend(f.grad, x0, lr, steps)
        if got is None:
            return CheckResult(False, "Not attempted yet: your function returns None.")
        got = np.asarray(got, dtype=float)
        expected = gradient_descent(f, x0, lr, steps).points
        if got.shape == expected.shape and np.allclose(got, expected, rtol=1e-9, atol=1e-12):
            continue
        hint = ""
        if got.shape != expected.shape:
            hint = f" You return shape {got.shape}, expected {expected.shape}: x_0 to x_{steps}."
        elif np.allclose(got, _ascent(f, x0, lr, steps)):
            hint = " Your points climb: step against the gradient, x - lr * grad."
        elif np.allclose(got, _ascent(f, x0, -1.0, steps)):
            hint = " The learning rate is missing: x - lr * grad(x)."
        raise AssertionError(f"For {name} your iterates differ from gradient descent's.{hint}")
    return CheckResult(True, f"Correct on all {len(cases)} cases.")


def _ascent(f: Callable, x0: object, lr: float, steps: int) -> np.ndarray:
    """x_{t+1} = x_t + lr grad(x_t): the wrong-sign walk used for hints."""
    points = [np.asarray(x0, dtype=float)]
    for _ in range(steps):
        points.append(points[-1] + lr * f.grad(points[-1]))
    return np.array(points)


def check_rmsprop_step(rmsprop_step: Callable) -> CheckResult:
    r"""Check ``rmsprop_step(theta, g, s, lr, alpha, eps) -> (theta, s)`` against torch.

    One RMSProp step for one tensor: :math:`s \leftarrow \alpha s + (1-\alpha) g^2`,
    :math:`\theta \leftarrow \theta - \text{lr}\, g / (\sqrt{s} + \epsilon)`. Run for 20
    steps beside ``torch.optim.RMSprop`` on the same gradients; the first step and
    quantity that differ are reported, with a hint for the usual slips.
    """
    import torch

    if not callable(rmsprop_step):
        raise TypeError(f"rmsprop_step must be a function, got {type(rmsprop_step).__name__}")
    gen = torch.Generator().manual_seed(0)
    lr, alpha, eps = 0.01, 0.9, 1e-8
    theta0 = torch.randn(5, dtype=torch.float64, generator=gen)
    reference = torch.nn.Parameter(theta0.clone())
    opt = torch.optim.RMSprop([reference], lr=lr, alpha=alpha, eps=eps)
    theta, s = theta0.clone(), torch.zeros_like(theta0)
    for step in range(1, 21):
        g = torch.randn(5, dtype=torch.float64, generator=gen)
        reference.grad = g.clone()
        opt.step()
        out = rmsprop_step(theta.clone(), g.clone(), s.clone(), lr, alpha, eps)
        if out is None:
            return CheckResult(False, "Not attempted yet: your function returns None.")
        theta_new, s_new = (torch.as_tensor(v, dtype=torch.float64) for v in out)
        s_ref = opt.state[reference]["square_avg"]
        if not torch.allclose(s_new, s_ref, rtol=1e-10, atol=1e-14):
            hint = ""
            if torch.allclose(s_new, alpha * s + g**2):
                hint = " The new squared gradient needs the weight (1 - alpha)."
            elif torch.allclose(s_new, alpha * s + (1 - alpha) * g):
                hint = " Average the *squared* gradient, g**2."
            raise AssertionError(f"At step {step} your s (square_avg) differs from torch's.{hint}")
        if not torch.allclose(theta_new, reference.detach(), rtol=1e-10, atol=1e-14):
            hint = ""
            if torch.allclose(theta_new, theta - lr * g / torch.sqrt(s_ref + eps)):
                hint = " torch adds eps outside the square root: sqrt(s) + eps."
            elif torch.allclose(theta_new, theta + lr * g / (torch.sqrt(s_ref) + eps)):
                hint = " Step against the gradient: theta - lr * ..."
            raise AssertionError(f"At step {step} your theta differs from torch's.{hint}")
        theta, s = theta_new, s_new
    return CheckResult(True, "Correct: 20 steps equal to torch.optim.RMSprop.")


def check_he_init(he_normal: Callable) -> CheckResult:
    r"""Check ``he_normal(fan_in, fan_out, generator)`` draws a He-initialised Linear weight.

    Expected: a tensor of shape ``(fan_out, fan_in)`` (that of
    ``nn.Linear(fan_in, fan_out).weight``) with entries from
    :math:`\mathcal N(0,\ 2/\text{fan\_in})`, the distribution of
    ``torch.nn.init.kaiming_normal_(w, nonlinearity="relu")``, drawn from ``generator``.
    Two cases with fan_in ≠ fan_out and 65,536 entries each: the sample variance is then
    within about 0.6 % (one standard error) of the true one, and a 5 % tolerance tells
    the usual slips apart. Raises ``AssertionError`` saying what differs: the shape, the
    mean, the variance (with a hint when it is LeCun's 1/fan_in, Glorot's, one using
    fan_out, or the variance used as a standard deviation), a uniform distribution, or
    numbers not drawn from ``generator``.
    """
    import torch

    if not callable(he_normal):
        raise TypeError(f"he_normal must be a function, got {type(he_normal).__name__}")
    identical_to_torch = True
    for fan_in, fan_out in [(512, 128), (128, 512)]:
        case = f"fan_in={fan_in}, fan_out={fan_out}"
        got = he_normal(fan_in, fan_out, torch.Generator().manual_seed(0))
        if got is None:
            return CheckResult(False, "Not attempted yet: your function returns None.")
        w = torch.as_tensor(got).detach().to(torch.float64)
        if tuple(w.shape) != (fan_out, fan_in):
            hint = ""
            if tuple(w.shape) == (fan_in, fan_out):
                hint = " nn.Linear(fan_in, fan_out).weight has shape (fan_out, fan_in)."
            raise AssertionError(
                f"For {case} your weight has shape {tuple(w.shape)}, expected "
                f"{(fan_out, fan_in)}.{hint}"
            )
        if not torch.isfinite(w).all():
            raise AssertionError(f"For {case} your weight contains inf or NaN.")
        expected = 2.0 / fan_in
        mean, var = w.mean().item(), w.var().item()
        if abs(mean) > 5 * math.sqrt(var / w.numel()):  # 5 standard errors
            raise AssertionError(
                f"For {case} your weights have mean {mean:.3g}; He's weights have mean 0 "
                "(torch.rand draws from [0, 1), torch.randn from N(0, 1))."
            )
        if not math.isclose(var, expected, rel_tol=0.05):
            slips = [  # (variance, what it is)
                (1 / fan_in, "1/fan_in, LeCun's: He doubles it to 2/fan_in, because ReLU "
                 "zeroes half of its inputs"),
                (2 / fan_out, "2/fan_out: you used fan_out; He's rule keeps the forward "
                 "signal, so it counts the inputs of each unit, fan_in"),
                (1 / fan_out, "1/fan_out: use fan_in, and a 2"),
                (2 / (fan_in + fan_out), "2/(fan_in + fan_out), Glorot's: He uses 2/fan_in"),
                (expected**2, "(2/fan_in)**2: you scaled by the variance 2/fan_in, but the "
                 "factor (and the second argument of torch.normal) is the standard "
                 "deviation sqrt(2/fan_in)"),
                (2 / fan_in**2, "2/fan_in**2: the standard deviation is sqrt(2/fan_in), "
                 "not sqrt(2)/fan_in"),
                (1.0, "1: scale the N(0, 1) numbers by the standard deviation sqrt(2/fan_in)"),
            ]  # fmt: skip
            hint = next(
                (
                    f" Your variance is {what}."
                    for v, what in slips
                    if math.isclose(var, v, rel_tol=0.05)
                ),
                "",
            )
            raise AssertionError(
                f"For {case} your weights have variance {var:.4g}, expected 2/fan_in = "
                f"{expected:.4g}.{hint}"
            )
        within_one_std = (w.abs() < math.sqrt(expected)).double().mean().item()
        if abs(within_one_std - 0.6827) > 0.02:  # N(0, s²): 68.3 % within ±s; uniform: 57.7 %
            hint = ""
            if abs(within_one_std - 1 / math.sqrt(3)) < 0.02:
                hint = " They look uniform (He's uniform variant); draw from a normal: torch.randn."
            raise AssertionError(
                f"For {case} {within_one_std:.1%} of your weights lie within one standard "
                f"deviation of 0; for a normal distribution it is 68.3%.{hint}"
            )
        again = torch.as_tensor(he_normal(fan_in, fan_out, torch.Generator().manual_seed(0)))
        other = torch.as_tensor(he_normal(fan_in, fan_out, torch.Generator().manual_seed(1)))
        if not torch.equal(again.to(torch.float64), w) or torch.equal(other.to(torch.float64), w):
            raise AssertionError(
                "Draw the numbers from the generator you are given, e.g. "
                "torch.randn(..., generator=generator): equal seeds must give equal weights, "
                "different seeds different ones."
            )
        reference = torch.nn.init.kaiming_normal_(
            torch.empty(fan_out, fan_in),  # float32, PyTorch's default, as nn.Linear's
            nonlinearity="relu",
            generator=torch.Generator().manual_seed(0),
        )
        identical_to_torch &= torch.allclose(w, reference.double(), rtol=1e-5, atol=1e-7)
    extra = " Your numbers are even those of torch, draw for draw." if identical_to_torch else ""
    return CheckResult(
        True,
        "Correct: shape (fan_out, fan_in), mean 0 and variance 2/fan_in in both cases, "
        f"as torch.nn.init.kaiming_normal_(w, nonlinearity='relu').{extra}",
    )


def _curve(*points: float, n: int = 20) -> np.ndarray:
    """A learning curve through ``points``, linearly interpolated over ``n`` epochs."""
    return np.interp(np.linspace(0, len(points) - 1, n), np.arange(len(points)), points)


# (what the case shows, train curve, validation curve, baseline, expected label, hint)
_CURVE_CASES = [
    ("both stay high", _curve(2.0, 0.8), _curve(2.1, 0.85), 1.0, "underfit", ""),
    ("validation ends high", _curve(2.0, 0.05), _curve(2.0, 0.6), 1.0, "overfit", ""),
    ("a large gap", _curve(2.0, 0.0), _curve(2.0, 0.25), 1.0, "overfit", " Check the gap v - t."),
    (
        "validation turned up",
        _curve(2.0, 0.1),
        _curve(2.0, 0.15, 0.22),
        1.0,
        "overfit",
        " The validation curve rose 0.07 above its minimum: that counts as overfitting.",
    ),
    ("both low, still falling", _curve(2.0, 0.1), _curve(2.1, 0.15), 1.0, "right fit", ""),
    ("a small wiggle", _curve(2.0, 0.1), _curve(2.0, 0.15, 0.18), 1.0, "right fit", ""),
    (
        "the same in other units",
        2.3 * _curve(2.0, 0.1),
        2.3 * _curve(2.1, 0.15),
        2.3,
        "right fit",
        " Divide the errors by the baseline before comparing with 0.3.",
    ),
    (
        "high training error and a gap",
        _curve(2.0, 0.5),
        _curve(2.0, 1.2),
        1.0,
        "underfit",
        " Look at the training error first: if it is high, the model underfits.",
    ),
]


def check_curve_labeller(label_curves: Callable) -> CheckResult:
    """Check ``label_curves(train_curve, val_curve, baseline)`` on constructed curves.

    The expected labels are those of :func:`lecturelib.fitting.label_learning_curves`
    with its defaults (low 0.3, gap 0.2, rise 0.05, all in units of the baseline).
    """
    from lecturelib.fitting import label_learning_curves

    if not callable(label_curves):
        raise TypeError(f"label_curves must be a function, got {type(label_curves).__name__}")
    for name, train, val, baseline, expected, hint in _CURVE_CASES:
        assert label_learning_curves(train, val, baseline=baseline) == expected  # the cases
        got = label_curves(train.copy(), val.copy(), baseline)
        if got is None:
            return CheckResult(False, "Not attempted yet: your function returns None.")
        if got != expected:
            raise AssertionError(
                f"For curves where {name}, you say {got!r}, expected {expected!r}.{hint}"
            )
    return CheckResult(True, f"Correct on all {len(_CURVE_CASES)} pairs of curves.")


def check_backbone_cut(cut_backbone: Callable) -> CheckResult:
    """Check ``cut_backbone(network, cut)`` against ``lecturelib.features.pretrained_backbone``.

    Given the pre-trained network and a block name, the answer must keep that network's
    blocks up to and including ``cut``, return features of shape ``(n, CUTS[cut])`` equal
    to the library's, and be frozen: every parameter ``requires_grad=False``, eval mode.
    Tried for ``"block3"`` and ``"block1"``. Raises ``AssertionError`` with a hint: a 4-D
    output (flatten it), a wrong feature size (another cut), other weights (a new network
    instead of the pre-trained one), trainable parameters, train mode.
    """
    import torch

    from lecturelib.features import (
        CUTS,
        SOURCE_CLASSES,
        digit_task,
        pretrained_backbone,
        pretrained_network,
    )

    if not callable(cut_backbone):
        raise TypeError(f"cut_backbone must be a function, got {type(cut_backbone).__name__}")
    images = digit_task(SOURCE_CLASSES)[0][::50]  # 19 images
    for cut in ("block3", "block1"):
        network = pretrained_network()
        got = cut_backbone(network, cut)
        if got is None:
            return CheckResult(False, "Not attempted yet: your function returns None.")
        if not isinstance(got, torch.nn.Module):
            raise AssertionError(f"For cut={cut!r} return an nn.Module, got {type(got).__name__}.")
        with torch.no_grad():
            features = got(images)
            expected = pretrained_backbone(cut)(images)
        if features.ndim != 2:
            raise AssertionError(
                f"For cut={cut!r} your backbone returns shape {tuple(features.shape)}; features "
                "are one vector an image: end a convolutional cut with nn.Flatten()."
            )
        if features.shape[1] != CUTS[cut]:
            other = [name for name, size in CUTS.items() if size == features.shape[1]]
            hint = f" That is the size of cut {other[0]!r}." if other else ""
            raise AssertionError(
                f"For cut={cut!r} your features have {features.shape[1]} numbers an image, "
                f"expected {CUTS[cut]}.{hint}"
            )
        if not torch.allclose(features, expected, rtol=1e-5, atol=1e-6):
            raise AssertionError(
                f"For cut={cut!r} your features differ from the pre-trained backbone's: keep "
                "the given network's own blocks (network.block1, ...), in order, unchanged."
            )
        if any(p.requires_grad for p in got.parameters()):
            raise AssertionError(
                f"For cut={cut!r} some parameters still have requires_grad=True: freeze them, "
                "or training a head could change the backbone."
            )
        if any(m.training for m in got.modules()):
            raise AssertionError(f"For cut={cut!r} your backbone is in train mode: call .eval().")
    return CheckResult(True, "Correct: frozen backbones cut after block3 and after block1.")


def _write_png_dataset(root: object, n: int, size: int) -> list[tuple[str, np.ndarray, int]]:
    """``n`` random grey ``size`` x ``size`` PNGs ``<id>.png`` and ``labels.csv`` in ``root``."""
    from pathlib import Path

    from PIL import Image

    rng = np.random.default_rng(0)
    samples = []
    for i in range(n):
        image = rng.integers(0, 256, size=(size, size), dtype=np.uint8)
        Image.fromarray(image).save(Path(root) / f"img{i:02d}.png")
        samples.append((f"img{i:02d}", image, int(rng.integers(10))))
    lines = "".join(f"{name},{label}\n" for name, _, label in samples)
    (Path(root) / "labels.csv").write_text("id,label\n" + lines)
    return samples


def check_png_dataset(dataset_class: Callable) -> CheckResult:
    """Check a ``Dataset`` class whose ``__getitem__`` reads ``<root>/<id>.png`` files.

    ``dataset_class(root)`` is built on 10 random 12x12 PNGs; ``dataset[i]`` must be
    ``(x, label)`` with ``x`` a float tensor ``(1, 12, 12)`` equal to the pixels / 255.
    Then a ``DataLoader(batch_size=4, shuffle=True)`` must give batches of 4, 4 and 2
    with every sample once per epoch in a new order each epoch, and a truncated file must
    raise an error whose message names the file. Raises ``AssertionError`` saying what
    differs.
    """
    import tempfile
    from pathlib import Path

    import torch
    from torch.utils.data import DataLoader

    if not callable(dataset_class):
        raise TypeError(f"dataset_class must be a class, got {type(dataset_class).__name__}")
    with tempfile.TemporaryDirectory() as tmp:
        samples = _write_png_dataset(tmp, 10, 12)
        dataset = dataset_class(tmp)
        if dataset[0] is None:
            return CheckResult(False, "Not attempted yet: your __getitem__ returns None.")
        for i, (name, image, label) in enumerate(samples):
            x, y = dataset[i]
            x = torch.as_tensor(x)
            if tuple(x.shape) != (1, 12, 12) or not x.is_floating_point():
                raise AssertionError(
                    f"For {name}.png your x has shape {tuple(x.shape)} and dtype {x.dtype}; "
                    "expected a float tensor of shape (1, 12, 12): add the channel axis."
                )
            expected = torch.from_numpy(image).float().div(255)[None]
            if not torch.allclose(x.float(), expected, atol=1e-6):
                hint = " Divide by 255." if torch.allclose(x.float(), expected * 255) else ""
                raise AssertionError(f"For {name}.png your pixels differ from the file's.{hint}")
            if int(y) != label:
                raise AssertionError(f"For {name}.png your label is {y!r}, expected {label}.")
        loader = DataLoader(dataset, batch_size=4, shuffle=True)
        torch.manual_seed(0)
        epochs = [[(x, y) for x, y in loader] for _ in range(2)]
        sizes = [len(x) for x, _ in epochs[0]]
        if sizes != [4, 4, 2]:
            raise AssertionError(f"Batches of 4 from 10 samples have sizes [4, 4, 2], got {sizes}.")
        orders = []
        for batches in epochs:
            seen = torch.cat([x.reshape(len(x), -1) for x, _ in batches])
            index = {img.tobytes(): k for k, (_, img, _) in enumerate(samples)}
            pixels = (seen.float() * 255).round().clamp(0, 255).to(torch.uint8).numpy()
            order = [index.get(row.tobytes()) for row in pixels]
            if sorted(o for o in order if o is not None) != list(range(10)):
                raise AssertionError("An epoch must give every sample exactly once.")
            orders.append(order)
        if orders[0] == orders[1]:
            raise AssertionError("Two epochs came in the same order: the loader must reshuffle.")
        bad = Path(tmp) / f"{samples[3][0]}.png"
        bad.write_bytes(bad.read_bytes()[:-60])  # header intact, pixel data cut
        try:
            dataset[3]
        except Exception as error:  # noqa: BLE001 - any error type will do, if it names the file
            if bad.name not in str(error):
                raise AssertionError(
                    f"A truncated file raised {type(error).__name__}: {error}; the message "
                    f"must name the file ({bad.name}): catch the error and raise one with "
                    "the path in it."
                ) from None
        else:
            raise AssertionError(f"The truncated file {bad.name} was read without an error.")
    return CheckResult(
        True,
        "Correct: pixels and labels right, batches of 4, 4, 2, every sample once per "
        "reshuffled epoch, and a truncated file raises an error naming it.",
    )
