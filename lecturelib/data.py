r"""Data generators: batches read from disk on the fly instead of a dataset held in memory.

Loading a whole dataset before training costs memory in proportion to its size
(:math:`n \times` bytes per sample); a generator holds about one batch at a time, so its
memory stays flat as :math:`n` grows, and it can preprocess and augment each sample when it
is read. Four generators are here: a ``torch.utils.data.Dataset`` for ``DataLoader``
(:class:`ImageFolderDataset`); the Keras-``Sequence``-style :class:`BatchSequence` of
Amidi & Amidi, "A detailed example of how to generate your data in parallel with Keras"
(Stanford, 2018); a streaming ``IterableDataset`` (:class:`StreamingImageDataset`); and
one ``np.memmap`` file (:class:`MemmapDataset`). See the PyTorch data-loading docs
(``torch.utils.data``) and Paszke et al. (2019), NeurIPS.

On disk (:func:`write_image_dataset`): ``<root>/<id>.npy``, one ``uint8`` image of shape
``(H, W)`` per file, and ``<root>/labels.csv`` with lines ``id,label``. A missing,
truncated or corrupt file raises an error that names it; nothing is skipped.
"""

from __future__ import annotations

import functools
import io
import json
import math
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, IterableDataset, get_worker_info

from lecturelib.augmentation import shift_images

__all__ = [
    "LABELS",
    "Augment",
    "BatchSequence",
    "ImageFolderDataset",
    "MemmapDataset",
    "StreamingImageDataset",
    "load_all",
    "load_image",
    "pack_memmap",
    "peak_memory_mib",
    "read_labels",
    "samples_per_second",
    "write_image_dataset",
]

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


def load_image(path: str | Path, shape: tuple[int, int]) -> np.ndarray:
    """Read one sample file: a ``.npy`` file holding a ``uint8`` array of ``shape``.

    The file must be exactly the header of such an array plus ``prod(shape)`` bytes;
    anything else (missing, truncated, another dtype or shape, a damaged header) raises an
    error naming ``path``. Returns a writable ``uint8`` array ``(H, W)``.
    """
    path, header = os.fspath(path), _npy_header(tuple(shape))  # a str: pathlib is slow here
    expected = len(header) + math.prod(shape)
    buf = bytearray(expected + 1)  # one byte more: a longer file is caught too
    try:
        with open(path, "rb", buffering=0) as f:
            size = f.readinto(buf)
    except FileNotFoundError:
        raise FileNotFoundError(f"sample file {path} is missing") from None
    if size != expected or buf[: len(header)] != header:
        raise ValueError(
            f"sample file {path} is truncated or corrupt: expected a {shape} uint8 .npy "
            f"file of {expected} bytes, got {size} bytes"
        )
    return np.frombuffer(buf, np.uint8, math.prod(shape), len(header)).reshape(shape)


def _shape(path: Path) -> tuple[int, int]:
    """The array shape in the header of ``path`` (to read the rest of the files strictly)."""
    try:
        return tuple(np.load(path, mmap_mode="r").shape)
    except (OSError, ValueError) as error:
        raise ValueError(f"sample file {path} is corrupt: {error}") from None


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    """``uint8 (..., H, W)`` -> ``float32 (..., 1, H, W)`` in [0, 1]."""
    return torch.from_numpy(image).unsqueeze(-3).float().div_(255)


class ImageFolderDataset(Dataset):
    """A map-style ``Dataset`` that reads one sample from disk per ``__getitem__``.

    ``dataset[i]`` is ``(x, label)``: ``x`` a float32 tensor ``(1, H, W)`` in [0, 1]
    after ``transform(x)`` (run-time preprocessing or augmentation), ``label`` an int.
    Nothing but the ids and labels stays in memory. The labels file is checked against
    the files once, here; each read checks its file again (see :func:`load_image`).
    """

    def __init__(self, root: str | Path, transform: Callable | None = None) -> None:
        self.root, self.transform = Path(root), transform
        self.ids, self.labels = read_labels(self.root)
        if not self.ids:
            raise ValueError(f"labels file {self.root / LABELS} lists no samples")
        self.files = [os.path.join(self.root, f"{i}.npy") for i in self.ids]
        self.shape = _shape(Path(self.files[0]))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, int]]:
        """Several items at once, converted to float in one operation; ``DataLoader``
        fetches its batches with this method when a dataset has it."""
        images = [load_image(self.files[i], self.shape) for i in indices]
        X = _to_tensor(np.stack(images))  # (B, 1, H, W)
        if self.transform is not None:
            X = [self.transform(x) for x in X]
        return [(x, int(self.labels[i])) for x, i in zip(X, indices, strict=True)]


def load_all(root: str | Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The "load everything first" approach: every sample as one float32 tensor.

    Returns ``X (n, 1, H, W)`` in [0, 1] and ``y (n,)`` int64; ``X`` takes
    ``4 n H W`` bytes of memory.
    """
    dataset = ImageFolderDataset(root)
    X = torch.empty(len(dataset), 1, *dataset.shape)
    for i in range(len(dataset)):
        X[i] = dataset[i][0]
    return X, torch.from_numpy(dataset.labels)


class Augment:
    r"""Run-time augmentation of one image ``(1, H, W)`` (or a batch ``(B, 1, H, W)``).

    :math:`x' = \mathrm{clip}(\mathrm{shift}_{(r, c)}(x) + \sigma\varepsilon, 0, 1)` with
    :math:`r, c` uniform integers in ``[-max_shift, max_shift]`` (one shift per call,
    zero fill) and :math:`\varepsilon \sim \mathcal N(0, 1)` per pixel. Draws from
    ``generator``, or from PyTorch's global generator when None (``DataLoader`` seeds that
    in each worker from its own ``generator``, so seed the loader).
    """

    def __init__(
        self, max_shift: int = 0, noise: float = 0.0, generator: torch.Generator | None = None
    ) -> None:
        if max_shift < 0 or noise < 0:
            raise ValueError(f"max_shift and noise must be >= 0, got {max_shift} and {noise}")
        self.max_shift, self.noise, self.generator = int(max_shift), float(noise), generator

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """The augmented copy of ``x``."""
        if self.max_shift:
            r, c = torch.randint(
                -self.max_shift, self.max_shift + 1, (2,), generator=self.generator
            )
            x = shift_images(x.reshape(-1, *x.shape[-2:]), int(r), int(c)).reshape(x.shape)
        if self.noise:
            x = x + self.noise * torch.randn(x.shape, generator=self.generator)
        return x.clamp(0, 1)


class BatchSequence:
    """The Keras-``Sequence`` data generator of Amidi & Amidi, in plain Python.

    ``len(seq)`` is the number of batches per epoch, :math:`\\lceil n / b \\rceil` (the last
    batch is smaller), or :math:`\\lfloor n / b \\rfloor` with ``drop_last``; ``seq[k]`` is
    batch ``k``: ``(X, y)`` with ``X = np.stack([load(id) ...])`` and ``y`` int64;
    ``on_epoch_end()`` reshuffles the order (with ``shuffle``), as Keras calls it after
    each epoch. Iterating gives one epoch's batches and then calls ``on_epoch_end``.

    Args:
        ids, labels: the samples' ids and labels, equal lengths.
        batch_size: samples per batch, >= 1.
        shuffle: a new random order each epoch, drawn from ``seed`` (needed then).
        load: ``load(id) -> array``, reads one sample.
        drop_last: leave out the last, incomplete batch.
    """

    def __init__(
        self,
        ids: Sequence[str],
        labels: Sequence[int] | np.ndarray,
        batch_size: int,
        *,
        shuffle: bool = True,
        seed: int | None = None,
        load: Callable[[str], np.ndarray],
        drop_last: bool = False,
    ) -> None:
        if len(ids) != len(labels):
            raise ValueError(
                f"ids and labels must have equal lengths, got {len(ids)}, {len(labels)}"
            )
        self.batch_size = _positive_int("batch_size", batch_size)
        if shuffle and seed is None:
            raise ValueError("seed must be an int when shuffle=True, got None")
        self.ids, self.labels = list(ids), np.asarray(labels, dtype=np.int64)
        self.shuffle, self.load, self.drop_last = shuffle, load, drop_last
        self.rng = np.random.default_rng(seed)
        self.order = np.arange(len(self.ids))
        self.on_epoch_end()  # Keras shuffles once at the start, too

    def __len__(self) -> int:
        rounding = math.floor if self.drop_last else math.ceil
        return rounding(len(self.ids) / self.batch_size)

    def __getitem__(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        if not -len(self) <= k < len(self):
            raise IndexError(f"batch index {k} out of range for {len(self)} batches")
        rows = self.order[k % len(self) * self.batch_size :][: self.batch_size]
        return np.stack([self.load(self.ids[i]) for i in rows]), self.labels[rows]

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for k in range(len(self)):
            yield self[k]
        self.on_epoch_end()

    def on_epoch_end(self) -> None:
        """Draw a new order of the samples for the next epoch (with ``shuffle``)."""
        if self.shuffle:
            self.order = self.rng.permutation(len(self.ids))


class StreamingImageDataset(IterableDataset):
    """An ``IterableDataset`` that streams the samples in file order, optionally shuffled.

    There is no ``dataset[i]``: items come one by one, as from a network stream or a
    tape. With ``buffer_size`` > 1 an item is drawn at random from a buffer of the next
    ``buffer_size`` items (a local shuffle, memory ``buffer_size`` samples), seeded from
    ``seed`` and the epoch (or, in a ``DataLoader`` worker, the worker's seed). With
    workers, worker ``w`` of ``W`` reads items ``w, w + W, ...``: each item once.
    """

    def __init__(
        self,
        root: str | Path,
        transform: Callable | None = None,
        *,
        buffer_size: int = 1,
        seed: int | None = None,
    ) -> None:
        self.files = ImageFolderDataset(root, transform)
        self.buffer_size = _positive_int("buffer_size", buffer_size)
        if self.buffer_size > 1 and seed is None:
            raise ValueError("seed must be an int when buffer_size > 1, got None")
        self.seed, self.epoch = seed, 0

    def __len__(self) -> int:
        return len(self.files)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, int]]:
        info = get_worker_info()
        rows = range(len(self.files))
        if info is not None:
            rows, stream = rows[info.id :: info.num_workers], info.seed
        else:
            self.epoch, stream = self.epoch + 1, self.epoch
        rng = np.random.default_rng([self.seed or 0, stream])
        buffer: list[int] = []
        for i in rows:
            buffer.append(i)
            if len(buffer) == self.buffer_size:
                yield self.files[buffer.pop(rng.integers(len(buffer)))]
        rng.shuffle(buffer)
        yield from (self.files[i] for i in buffer)


def pack_memmap(root: str | Path, path: str | Path) -> Path:
    """Copy every sample of ``root`` into one ``uint8`` ``.npy`` file ``(n, H, W)`` at ``path``.

    The file is written through a memory map, so packing does not hold the dataset in
    memory either. Open it with :class:`MemmapDataset`.
    """
    dataset, path = ImageFolderDataset(root), Path(path)
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.uint8, shape=(len(dataset), *dataset.shape)
    )
    for i, name in enumerate(dataset.ids):
        out[i] = load_image(dataset.root / f"{name}.npy", dataset.shape)
    out.flush()
    del out
    return path


class MemmapDataset(Dataset):
    """A ``Dataset`` over one ``.npy`` file opened as a memory map (``np.load(mmap_mode="r")``).

    The operating system pages the file in on demand: indexing reads only the bytes of
    that sample, and memory stays flat. Items as in :class:`ImageFolderDataset`.
    """

    def __init__(
        self,
        path: str | Path,
        labels: Sequence[int] | np.ndarray,
        transform: Callable | None = None,
    ) -> None:
        self.path, self.transform = Path(path), transform
        if not self.path.is_file():
            raise FileNotFoundError(f"memmap file {self.path} is missing")
        try:
            self.images = np.load(self.path, mmap_mode="r")
        except (OSError, ValueError) as error:
            raise ValueError(f"memmap file {self.path} is truncated or corrupt: {error}") from None
        self.labels = np.asarray(labels, dtype=np.int64)
        if self.images.ndim != 3 or len(self.images) != len(self.labels):
            raise ValueError(
                f"memmap file {self.path} holds shape {self.images.shape}, expected "
                f"({len(self.labels)}, H, W) for {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = _to_tensor(np.array(self.images[index]))  # a copy: the map is read-only
        return (x if self.transform is None else self.transform(x)), int(self.labels[index])


def samples_per_second(batches: Iterable, *, epochs: int = 1) -> float:
    """Throughput of a loader: samples of all ``(x, y)`` batches over the wall time taken."""
    start, n = time.perf_counter(), 0
    for _ in range(epochs):
        for x, _ in batches:
            n += len(x)
    return n / (time.perf_counter() - start)


_METHODS = {
    "load_all": "X, y = d.load_all(root)",
    "dataloader": "for x, y in DataLoader(d.ImageFolderDataset(root), batch_size): pass",
    "streaming": "for x, y in DataLoader(d.StreamingImageDataset(root), batch_size): pass",
}
_CHILD = """
import gc, json, re, sys
from pathlib import Path
from torch.utils.data import DataLoader
import lecturelib.data as d
def status(field):
    text = Path("/proc/self/status").read_text()
    return int(re.search(field + r":\\s+(\\d+) kB", text).group(1)) / 1024
batch_size, jobs, absolute, peaks = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], []
for method in METHODS if absolute == "0" else ():  # warm up: first-use allocations
    root = jobs[0][0]
    exec(METHODS[method])
for root, method in jobs:
    d.read_labels(root)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # reset the high-water mark to VmRSS
    before = status("VmRSS")
    exec(METHODS[method])
    X = x = None
    peaks.append(status("VmHWM") - (before if absolute == "0" else 0))
print(json.dumps(peaks))
"""


def peak_memory_mib(
    roots: Sequence[str | Path],
    methods: Sequence[str],
    *,
    batch_size: int = 64,
    fresh: bool = False,
    absolute: bool = False,
) -> np.ndarray:
    """Peak memory that one pass over each dataset adds, in MiB: ``(len(roots), len(methods))``.

    Measured in a new Python process (not this one, whose memory history would blur the
    numbers): for each dataset and method it resets Linux's peak resident memory
    (``VmHWM``, via ``/proc/self/clear_refs``), notes the resident memory ``VmRSS``, makes
    one pass, and reports ``VmHWM`` minus the noted value. All measurements share one
    process (one ``import torch``, after a warm-up pass of each method), or each gets its
    own with ``fresh``. With ``absolute``: the process's peak ``VmHWM`` itself, no
    warm-up. Methods:
    ``"load_all"`` (:func:`load_all`), ``"dataloader"`` (a ``DataLoader`` over
    :class:`ImageFolderDataset`), ``"streaming"`` (over :class:`StreamingImageDataset`).
    """
    if unknown := [m for m in methods if m not in _METHODS]:
        raise ValueError(f"methods must be among {sorted(_METHODS)}, got {unknown}")
    jobs = [[str(root), method] for root in roots for method in methods]
    code = f"METHODS = {_METHODS!r}\n{_CHILD}"
    batches = [[job] for job in jobs] if fresh else [jobs]
    peaks = []
    for batch in batches:
        args = [sys.executable, "-c", code, str(_positive_int("batch_size", batch_size))]
        # A fixed mmap threshold: glibc then returns every large block to the system when it
        # is freed, so one measurement does not leave reusable memory to the next.
        env = os.environ | {"OMP_NUM_THREADS": "1", "MALLOC_MMAP_THRESHOLD_": "131072"}
        result = subprocess.run(
            args + [json.dumps(batch), str(int(absolute))], capture_output=True, text=True, env=env
        )
        if result.returncode != 0:
            raise RuntimeError(f"measuring peak memory failed:\n{result.stderr}")
        peaks += json.loads(result.stdout)
    return np.array(peaks).reshape(len(roots), len(methods))
