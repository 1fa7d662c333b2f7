r"""An image dataset on disk: one file per sample plus a labels file, written and read strictly.

Layout (:func:`write_image_dataset`): ``<root>/<id>.npy``, one ``uint8`` image of shape
``(H, W)`` per file (NumPy's ``.npy`` format: a 128-byte header, then the pixels), and
``<root>/labels.csv`` with a header ``id,label`` and one line ``id,label`` per sample. The
readers check every file they open: a missing, truncated or corrupt file, or a labels
file that does not match the files, raises an error that names the file; nothing is
skipped. :func:`load_images` reads a whole batch of files into one preallocated array, the
cheapest way found here to get many small files into memory.
"""

from __future__ import annotations

import functools
import io
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from lecturelib.augmentation import shift_images

__all__ = ["LABELS", "load_image", "load_images", "read_labels", "write_image_dataset"]

LABELS = "labels.csv"
"""Name of the labels file in a dataset's root: a header ``id,label``, then one line each."""


@functools.lru_cache
def _npy_header(shape: tuple[int, ...]) -> bytes:
    """The bytes before the pixels in a ``.npy`` file holding a ``uint8`` array of ``shape``."""
    buf = io.BytesIO()
    np.save(buf, np.zeros(shape, np.uint8))
    return buf.getvalue()[: -math.prod(shape)]


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def write_image_dataset(
    root: str | Path,
    n: int,
    *,
    seed: int,
    size: int = 64,
    max_shift: int = 6,
    noise: float = 0.06,
    start: int = 0,
) -> tuple[list[str], np.ndarray]:
    r"""Write ``n`` labelled images to ``root``: one ``<id>.npy`` file each and ``labels.csv``.

    Image :math:`i` is scikit-learn's handwritten digit :math:`(\text{start} + i) \bmod
    1797` (8x8, no download; disjoint ``start`` ranges give disjoint training and
    validation digits), upscaled bilinearly to ``size`` x ``size``, then varied with a seeded
    random shift of up to ``max_shift`` pixels in each direction, a contrast factor in
    [0.7, 1] and Gaussian noise of standard deviation ``noise``: :math:`x =
    \mathrm{clip}(c\,\mathrm{shift}(d) + \varepsilon, 0, 1)`, stored as ``uint8``
    (:math:`\mathrm{round}(255 x)`). A file is ``size**2 + 128`` bytes.

    Returns:
        ``(ids, labels)``: the ids (``"000000"``, ...) and an int64 array of digits 0-9.
    """
    from sklearn.datasets import load_digits

    n, size = _positive_int("n", n), _positive_int("size", size)
    if not 0 <= max_shift < size:
        raise ValueError(f"max_shift must be in [0, {size}), got {max_shift}")
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    digits = load_digits()
    base = torch.tensor(digits.images / 16, dtype=torch.float32)[:, None]  # (1797, 1, 8, 8)
    big = torch.nn.functional.interpolate(base, size=(size, size), mode="bilinear")[:, 0]
    rng = np.random.default_rng(seed)
    source = (start + np.arange(n)) % len(big)
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    contrast = rng.uniform(0.7, 1.0, size=n)
    ids = [f"{i:06d}" for i in range(n)]
    for i, name in enumerate(ids):
        image = shift_images(big[source[i] : source[i] + 1], *shifts[i])[0].numpy()
        image = contrast[i] * image + noise * rng.standard_normal(image.shape)
        np.save(root / f"{name}.npy", np.round(255 * np.clip(image, 0, 1)).astype(np.uint8))
    labels = digits.target[source].astype(np.int64)
    lines = "".join(f"{name},{label}\n" for name, label in zip(ids, labels, strict=True))
    (root / LABELS).write_text("id,label\n" + lines)
    return ids, labels


def read_labels(root: str | Path) -> tuple[list[str], np.ndarray]:
    """Read ``root/labels.csv`` and check it against the sample files in ``root``.

    Raises ``FileNotFoundError`` naming the labels file or the first listed sample file
    that is missing, ``ValueError`` naming a malformed line, a repeated id, or a sample
    file that the labels file does not list.
    """
    root = Path(root)
    path = root / LABELS
    if not path.is_file():
        raise FileNotFoundError(f"labels file {path} is missing")
    lines = path.read_text().splitlines()
    if not lines or lines[0] != "id,label":
        raise ValueError(f"labels file {path} must start with the header 'id,label'")
    ids, labels = [], []
    for number, line in enumerate(lines[1:], start=2):
        match = re.fullmatch(r"([\w.-]+),(\d+)", line)
        if match is None:
            raise ValueError(
                f"labels file {path}, line {number}: expected 'id,label', got {line!r}"
            )
        ids.append(match[1])
        labels.append(int(match[2]))
    if len(set(ids)) != len(ids):
        repeated = next(i for i in ids if ids.count(i) > 1)
        raise ValueError(f"labels file {path} lists id {repeated!r} twice")
    files = {p.name for p in root.iterdir() if p.suffix == ".npy"}
    listed = {f"{i}.npy" for i in ids}
    if missing := sorted(listed - files):
        raise FileNotFoundError(f"sample file {root / missing[0]} (listed in {path}) is missing")
    if extra := sorted(files - listed):
        raise ValueError(f"sample file {root / extra[0]} is not listed in labels file {path}")
    return ids, np.array(labels, dtype=np.int64)


def _missing(path: str | Path) -> FileNotFoundError:
    return FileNotFoundError(f"sample file {os.fspath(path)} is missing")


def _wrong_size(path: str | Path, fd: int, size: int, expected: int, row: memoryview) -> None:
    """Raise unless file ``fd``, of which ``size`` bytes were read, is ``expected`` bytes."""
    while size <= expected and (more := os.readv(fd, [row[size:]])):  # short reads are legal
        size += more
    if size != expected:
        raise ValueError(
            f"sample file {os.fspath(path)} is truncated or corrupt: expected {expected} "
            f"bytes, got {size if size <= expected else 'more'}"
        )


def _bad_header(path: str | Path, shape: tuple[int, ...]) -> ValueError:
    return ValueError(
        f"sample file {os.fspath(path)} is truncated or corrupt: its header is not that of a "
        f"{tuple(shape)} uint8 .npy file"
    )


def load_images(paths: Sequence[str | Path], shape: tuple[int, int]) -> np.ndarray:
    """Read several sample files into one ``uint8`` array ``(len(paths), H, W)``.

    Each file is read straight into its row of one preallocated buffer, with one
    ``open``/``readv``/``close`` and no Python file object (for files of a few KiB these
    calls are most of the cost); then the headers of all rows are checked at once. Every
    file must be exactly the header of a ``uint8`` array of ``shape`` plus ``prod(shape)``
    bytes; anything else (missing, truncated, longer, another dtype or shape, a damaged
    header) raises an error naming the file.
    """
    shape = tuple(shape)
    header = _npy_header(shape)
    start, expected = len(header), len(header) + math.prod(shape)
    stride = expected + 1  # one byte more: a longer file is caught too
    buf = np.empty((len(paths), stride), np.uint8)  # (B, header + pixels + 1)
    flat = memoryview(buf.reshape(-1))
    open_, readv, close, flags = os.open, os.readv, os.close, os.O_RDONLY
    for i, path in enumerate(paths):
        try:
            fd = open_(path, flags)
        except FileNotFoundError:
            raise _missing(path) from None
        try:
            row = flat[i * stride : (i + 1) * stride]
            if (size := readv(fd, (row,))) != expected:
                _wrong_size(path, fd, size, expected, row)
        finally:
            close(fd)
    wrong = np.any(buf[:, :start] != np.frombuffer(header, np.uint8), axis=1)
    if wrong.any():
        raise _bad_header(paths[int(np.argmax(wrong))], shape)
    return buf[:, start:expected].reshape(len(paths), *shape)


def load_image(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read one sample file, checked as in :func:`load_images`: a ``uint8`` array ``(H, W)``."""
    header = _npy_header(tuple(shape))
    row = memoryview(bytearray(len(header) + math.prod(shape) + 1))
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        raise _missing(path) from None
    try:
        if (size := os.readv(fd, (row,))) != len(row) - 1:
            _wrong_size(path, fd, size, len(row) - 1, row)
    finally:
        os.close(fd)
    if row[: len(header)] != header:
        raise _bad_header(path, shape)
    return np.frombuffer(row, np.uint8, math.prod(shape), len(header)).reshape(shape)
