r"""A pre-trained network, used unchanged, as a feature extractor.

A classifier is split into a *backbone* :math:`g_\theta` (the layers up to a cut point)
and a *head* :math:`h_W`, so that :math:`f(x) = h_W(g_\theta(x))`. The backbone is
pre-trained on a source task and then frozen: for a new target task only a new head is
trained, on the features :math:`z = g_{\theta^*}(x)`, which can be computed once:

.. math:: \min_{W, b}\ \frac1n \sum_{i=1}^n L(W z_i + b,\ y_i),\qquad
          z_i = g_{\theta^*}(x_i)\ \text{fixed.}

The book ships its own pre-trained model, since model hubs cannot be reached offline: a
small CNN (:func:`digits_cnn`) trained on the digits 0-4 of scikit-learn's 8x8 digits
(:data:`SOURCE_CLASSES`), its weights in ``lecturelib/weights/digits_cnn.pt``, made by
``python -m lecturelib.pretrain`` (:mod:`lecturelib.pretrain`). The target task, digits
5-9 (:data:`TARGET_CLASSES`), holds classes the backbone never saw.

A larger model, where torchvision and its weights are installed on your machine (the book
never needs it): ``backbone = torchvision_backbone("resnet18")``, then
``extract_features(backbone, images)`` with images of shape ``(n, 3, 224, 224)``
normalised as the weights expect (``weights.transforms()``); 8x8 digits must be resized.

References: Yosinski et al. (2014), "How transferable are features in deep neural
networks?", NeurIPS; Razavian et al. (2014), "CNN features off-the-shelf: an astounding
baseline for recognition", CVPR workshops.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, Dataset

__all__ = [
    "CUTS",
    "SOURCE_CLASSES",
    "TARGET_CLASSES",
    "WEIGHTS",
    "digit_task",
    "digits_cnn",
    "extract_features",
    "freeze",
    "load_metadata",
    "pca_2d",
    "pretrained_backbone",
    "pretrained_network",
    "sample_per_class",
    "torchvision_backbone",
    "weights_checksum",
]

SOURCE_CLASSES: tuple[int, ...] = (0, 1, 2, 3, 4)
"""The digits of the source task the shipped network was pre-trained on."""

TARGET_CLASSES: tuple[int, ...] = (5, 6, 7, 8, 9)
"""The digits of the target task: classes the pre-trained network never saw."""

CUTS: dict[str, int] = {"block1": 16 * 8 * 8, "block2": 32 * 4 * 4, "block3": 64 * 2 * 2, "fc": 64}
"""Cut points of :func:`digits_cnn` (a backbone ends after that block) -> feature size."""

WEIGHTS = "digits_cnn.pt"
"""File name of the shipped weights in ``lecturelib/weights/`` (metadata: ``.json``)."""


def digits_cnn(num_classes: int = len(SOURCE_CLASSES), *, seed: int | None = None) -> nn.Sequential:
    r"""The small CNN for 8x8 digit images, ``(n, 1, 8, 8) -> (n, num_classes)`` logits.

    ======  =========================================  ==============
    block   layers                                     output shape
    ======  =========================================  ==============
    block1  Conv 3x3 (1 -> 16 channels), ReLU          (16, 8, 8)
    block2  Conv 3x3 (16 -> 32), ReLU, MaxPool 2x2     (32, 4, 4)
    block3  Conv 3x3 (32 -> 64), ReLU, MaxPool 2x2     (64, 2, 2)
    fc      Flatten, Linear 256 -> 64, ReLU            (64,)
    head    Linear 64 -> num_classes                   (num_classes,)
    ======  =========================================  ==============

    Convolutions pad by one pixel, so they keep the image size. 40,069 parameters with
    five classes. With a seed, equal seeds give equal weights (PyTorch's default
    initialisation drawn from a generator seeded with it) and the global generator is
    left as it was.
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
    with torch.random.fork_rng(devices=[], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        conv = {"kernel_size": 3, "padding": 1}
        return nn.Sequential(
            OrderedDict(
                block1=nn.Sequential(nn.Conv2d(1, 16, **conv), nn.ReLU()),
                block2=nn.Sequential(nn.Conv2d(16, 32, **conv), nn.ReLU(), nn.MaxPool2d(2)),
                block3=nn.Sequential(nn.Conv2d(32, 64, **conv), nn.ReLU(), nn.MaxPool2d(2)),
                fc=nn.Sequential(nn.Flatten(), nn.Linear(256, 64), nn.ReLU()),
                head=nn.Linear(64, num_classes),
            )
        )


def freeze(module: nn.Module) -> nn.Module:
    """Make ``module`` unchangeable by training: ``requires_grad=False`` everywhere, eval mode.

    In place; returns ``module``. Without gradients no optimizer can move its weights, and
    in eval mode dropout and batch normalisation behave as at inference.
    """
    for p in module.parameters():
        p.requires_grad_(False)
    return module.eval()


def _weights_dir() -> Path:
    return Path(str(importlib.resources.files("lecturelib") / "weights"))


def load_metadata(path: str | Path | None = None) -> dict:
    """The JSON record of how the weights were made: seed, epochs, source accuracy, ...

    ``path`` is the weights file (default: the shipped one); the record sits beside it
    with the suffix ``.json``.
    """
    path = Path(path) if path is not None else _weights_dir() / WEIGHTS
    meta = path.with_suffix(".json")
    try:
        return json.loads(meta.read_text())
    except FileNotFoundError:
        raise FileNotFoundError(f"no metadata file {meta} beside the weights {path}") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"metadata file {meta} is not valid JSON: {err}") from None


def pretrained_network(path: str | Path | None = None) -> nn.Sequential:
    """The whole pre-trained source classifier (:func:`digits_cnn` with its head), frozen.

    Loads ``path`` (default: the shipped weights) with ``torch.load(weights_only=True)``:
    no network, no code from the file. Returned on the CPU: move it with
    ``.to(lecturelib.device())``; :func:`extract_features` follows it there. Raises
    ``FileNotFoundError`` or ``ValueError`` naming the file when it is missing or does not
    hold this network's weights.
    """
    path = Path(path) if path is not None else _weights_dir() / WEIGHTS
    if not path.is_file():
        raise FileNotFoundError(f"no weights file {path}; make one: python -m lecturelib.pretrain")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises several types for a corrupt file
        raise ValueError(f"cannot load weights from {path}: {err}") from None
    if not isinstance(state, dict) or "head.weight" not in state:
        raise ValueError(f"{path} does not hold a digits_cnn state_dict")
    network = digits_cnn(num_classes=state["head.weight"].shape[0], seed=0)
    try:
        network.load_state_dict(state)
    except RuntimeError as err:
        raise ValueError(f"{path} does not hold digits_cnn weights: {err}") from None
    return freeze(network)


def pretrained_backbone(cut: str = "block2", *, path: str | Path | None = None) -> nn.Sequential:
    """The pre-trained network up to and including block ``cut``, frozen, its head removed.

    ``cut`` is one of :data:`CUTS`: ``"block1"`` gives 1024 features an image, ``"block2"``
    512, ``"block3"`` 256, ``"fc"`` 64. The default, ``"block2"``, transfers best to the
    target digits: the later layers are specific to the five source classes (Yosinski et
    al., 2014; measured in the book's chapter). A convolutional cut ends with ``Flatten``, so the
    output is always ``(n, CUTS[cut])``. Every parameter has ``requires_grad=False`` and
    the network is in eval mode.
    """
    if cut not in CUTS:
        raise ValueError(f"cut must be one of {list(CUTS)}, got {cut!r}")
    network = pretrained_network(path)
    names = list(CUTS)[: list(CUTS).index(cut) + 1]
    layers = OrderedDict((name, network.get_submodule(name)) for name in names)
    if cut != "fc":
        layers["flatten"] = nn.Flatten()
    return freeze(nn.Sequential(layers))


def extract_features(
    backbone: nn.Module, data: torch.Tensor | Dataset | DataLoader, batch_size: int = 256
) -> torch.Tensor:
    """The backbone's outputs :math:`z_i = g(x_i)` for every example, computed once.

    ``data`` is a tensor of inputs ``(n, ...)``, or a ``Dataset``/``DataLoader`` of inputs
    or of ``(x, y)`` pairs (labels ignored). Runs in eval mode without gradients, in
    batches of ``batch_size``, in order; the same inputs give the same features. Returns
    ``(n, d)`` float features on the CPU (outputs are flattened), ready to cache. The
    backbone's train/eval mode is restored afterwards.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
    if isinstance(data, torch.Tensor):
        if data.ndim < 2 or len(data) == 0:
            raise ValueError(f"data must have shape (n, ...) with n >= 1, got {tuple(data.shape)}")
        batches = data.split(batch_size)
    elif isinstance(data, DataLoader):
        batches = data
    elif isinstance(data, Dataset):
        batches = DataLoader(data, batch_size=batch_size, shuffle=False)
    else:
        raise TypeError(f"data must be a tensor, Dataset or DataLoader, got {type(data).__name__}")
    params = next(backbone.parameters(), None)
    where = params.device if params is not None else torch.device("cpu")
    was_training = backbone.training
    backbone.eval()
    out = []
    try:
        with torch.no_grad():
            for batch in batches:
                x = batch[0] if isinstance(batch, (tuple, list)) else batch
                out.append(backbone(x.to(where)).flatten(1).cpu())  # (b, d)
    finally:
        backbone.train(was_training)
    if not out:
        raise ValueError("data must not be empty, got no batches")
    return torch.cat(out)


def weights_checksum(module: nn.Module) -> str:
    """SHA-256 of all parameters and buffers (names, shapes, values) of ``module``, in hex.

    Equal checksums mean bit-identical weights: the proof that training a head left a
    frozen backbone unchanged.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def digit_task(classes: tuple[int, ...]) -> tuple[torch.Tensor, torch.Tensor]:
    """The scikit-learn digits of the given classes (bundled, no download).

    Returns:
        ``images`` ``(n, 1, 8, 8)`` float32 in [0, 1] (pixel / 16) and ``labels`` ``(n,)``
        int64 in ``0 .. len(classes) - 1``: label ``k`` is digit ``classes[k]``.
    """
    classes = tuple(classes)
    if not classes or len(set(classes)) != len(classes) or not set(classes) <= set(range(10)):
        raise ValueError(f"classes must be distinct digits 0-9, got {classes}")
    digits = load_digits()
    keep = np.isin(digits.target, classes)
    images = torch.tensor(digits.images[keep] / 16.0, dtype=torch.float32).unsqueeze(1)
    lookup = {digit: k for k, digit in enumerate(classes)}
    labels = torch.tensor([lookup[d] for d in digits.target[keep]], dtype=torch.int64)
    return images, labels


def sample_per_class(labels: torch.Tensor, n: int, *, seed: int) -> torch.Tensor:
    """Indices of ``n`` examples of every class in ``labels``, drawn with ``seed``, sorted.

    A few labelled examples a class, as in few-shot transfer. Raises ``ValueError`` when a
    class has fewer than ``n`` examples.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be an int >= 1, got {n!r}")
    gen = torch.Generator().manual_seed(seed)
    chosen = []
    for c in torch.unique(labels):
        where = torch.nonzero(labels == c).flatten()
        if len(where) < n:
            raise ValueError(f"n must be <= {len(where)} (the examples of class {int(c)}), got {n}")
        chosen.append(where[torch.randperm(len(where), generator=gen)[:n]])
    return torch.sort(torch.cat(chosen)).values


def pca_2d(
    x: torch.Tensor, *, fit_on: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Project rows onto the first two principal components (PCA by SVD).

    With :math:`\mu` the mean and :math:`V_2` the top two right singular vectors of the
    centred ``fit_on`` (default ``x``): :math:`p_i = (x_i - \mu) V_2`. Signs are fixed so
    that each component's largest loading is positive, so the picture is reproducible.

    Returns:
        the projection ``(n, 2)`` and the fraction of the variance each component explains.
    """
    x = x.detach().flatten(1).double().cpu()
    ref = x if fit_on is None else fit_on.detach().flatten(1).double().cpu()
    if ref.shape[0] < 2 or ref.shape[1] < 2 or ref.shape[1] != x.shape[1]:
        raise ValueError(
            f"fit_on must have >= 2 rows and the columns of x, got {tuple(ref.shape)} for x "
            f"{tuple(x.shape)}"
        )
    mean = ref.mean(0)
    _, s, vh = torch.linalg.svd(ref - mean, full_matrices=False)
    v = vh[:2].T  # (d, 2)
    v = v * torch.sign(v.gather(0, v.abs().argmax(0, keepdim=True)))
    explained = (s[:2] ** 2) / (s**2).sum()
    return ((x - mean) @ v).float(), explained.float()


def torchvision_backbone(name: str = "resnet18", weights: str = "DEFAULT") -> nn.Module:
    """A larger pre-trained backbone from torchvision, its classifier removed, frozen.

    Optional, never needed by the book: it needs ``torchvision`` installed and the weights
    in its cache (``~/.cache/torch/hub/checkpoints``); otherwise torchvision tries to
    download them. The last ``fc`` (ResNets) or ``classifier`` (VGG, EfficientNet, ...) is
    replaced by ``nn.Identity``, so the model returns its penultimate features.
    """
    try:
        import torchvision  # noqa: PLC0415 (optional dependency)
    except ImportError:
        raise ImportError(
            "torchvision_backbone needs torchvision (pip install torchvision); the book's own "
            "pretrained_backbone() needs nothing"
        ) from None
    model = torchvision.models.get_model(name, weights=weights)
    for attr in ("fc", "classifier", "heads", "head"):
        if isinstance(getattr(model, attr, None), nn.Module):
            setattr(model, attr, nn.Identity())
            break
    else:
        raise ValueError(f"name {name!r}: found no fc/classifier/heads/head layer to cut off")
    return freeze(model)
