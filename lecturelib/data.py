r"""Data generators: batches read from disk on the fly instead of a dataset held in memory.

Loading a whole dataset before training costs memory in proportion to its size
(:math:`n \times` bytes per sample); a generator holds about one batch at a time, so its
memory stays flat as :math:`n` grows, and it can preprocess and augment each sample when it
is read. Here are PyTorch's ways over the on-disk dataset of :mod:`lecturelib.imagefiles`:
a map-style ``Dataset`` for ``DataLoader`` (:class:`ImageFolderDataset`, one sample per
index); the same read a batch at a time (:func:`batch_loader`, :class:`BatchDataset`); a
streaming ``IterableDataset`` (:class:`StreamingImageDataset`); and one ``np.memmap``
file (:class:`MemmapDataset`). The Keras-style generator is in :mod:`lecturelib.sequence`.
See the PyTorch data-loading docs (``torch.utils.data``) and Paszke et al. (2019), NeurIPS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import (
    BatchSampler,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    get_worker_info,
)

from lecturelib.augmentation import shift_images
from lecturelib.imagefiles import LABELS, _positive_int, load_image, load_images, read_labels

__all__ = [
    "Augment",
    "BatchDataset",
    "ImageFolderDataset",
    "MemmapDataset",
    "StreamingImageDataset",
    "batch_loader",
    "load_all",
    "pack_memmap",
]


def _to_batch(images: np.ndarray, labels: np.ndarray, transform: Callable | None) -> tuple:
    """``uint8 (B, H, W)`` -> ``X`` float32 ``(B, 1, H, W)`` in [0, 1] (``transform`` per
    sample), and labels -> ``y`` int64 ``(B,)``."""
    # one pass: uint8 -> float32 and the division together (as fast as a plain copy)
    X = torch.from_numpy(np.divide(images, np.float32(255), dtype=np.float32)).unsqueeze(1)
    if transform is not None:
        X = torch.stack([transform(x) for x in X])
    return X, torch.from_numpy(np.asarray(labels, dtype=np.int64))


class ImageFolderDataset(Dataset):
    """A map-style ``Dataset`` that reads one sample from disk per ``__getitem__``.

    ``dataset[i]`` is ``(x, label)``: ``x`` a float32 tensor ``(1, H, W)`` in [0, 1]
    after ``transform(x)`` (run-time preprocessing or augmentation), ``label`` an int.
    Nothing but the ids and labels stays in memory. The labels file is checked against
    the files once, here; each read checks its file again (see
    :func:`lecturelib.imagefiles.load_images`). ``read_batch`` reads many at once.
    """

    def __init__(self, root: str | Path, transform: Callable | None = None) -> None:
        self.root, self.transform = Path(root), transform
        self.ids, self.labels = read_labels(self.root)
        if not self.ids:
            raise ValueError(f"labels file {self.root / LABELS} lists no samples")
        self.files = [os.path.join(self.root, f"{i}.npy") for i in self.ids]
        try:  # the shape in the first file's header; the rest are read strictly
            self.shape = tuple(np.load(self.files[0], mmap_mode="r").shape)
        except (OSError, ValueError) as error:
            raise ValueError(f"sample file {self.files[0]} is corrupt: {error}") from None

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        x = torch.from_numpy(load_image(self.files[index], self.shape)).float().div_(255)[None]
        return (x if self.transform is None else self.transform(x)), int(self.labels[index])

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, int]]:
        """Several samples, read as one batch; ``DataLoader`` uses this when it exists."""
        X, y = self.read_batch(indices)
        return list(zip(X, y.tolist(), strict=True))

    def read_batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``indices`` as one batch: ``X (B, 1, H, W)`` float32, ``y (B,)`` int64.

        The files are read into one preallocated ``uint8`` array and converted to float
        in one operation; ``transform`` still runs on each sample.
        """
        images = load_images([self.files[i] for i in indices], self.shape)
        return _to_batch(images, self.labels[list(indices)], self.transform)


class BatchDataset(Dataset):
    """A ``Dataset`` whose items are whole batches: ``batches[indices]`` is one ``(X, y)``.

    Wraps a dataset with ``read_batch(indices)`` (:class:`ImageFolderDataset`,
    :class:`MemmapDataset`). ``len`` is the number of *samples*, which a sampler draws
    from; use it as :func:`batch_loader` does. This is the Keras ``Sequence``'s unit, one
    batch per index, inside PyTorch's ``DataLoader``.
    """

    def __init__(self, dataset: Dataset) -> None:
        if not callable(getattr(dataset, "read_batch", None)):
            raise TypeError(f"dataset must have a read_batch method, got {type(dataset).__name__}")
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(indices, (int, np.integer)):
            raise TypeError(
                f"a BatchDataset is indexed by a list of sample indices, got {indices!r}; "
                "use DataLoader(..., sampler=BatchSampler(...), batch_size=None)"
            )
        return self.dataset.read_batch(indices)


def batch_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
    **loader_kwargs: Any,
) -> DataLoader:
    """A ``DataLoader`` that asks ``dataset`` for whole batches instead of single samples.

    ``DataLoader(BatchDataset(dataset), sampler=BatchSampler(sampler, batch_size,
    drop_last), batch_size=None)`` with a ``RandomSampler`` (a new order each epoch, drawn
    from ``generator``) or, without ``shuffle``, a ``SequentialSampler``. Same batches, in
    the same order for the same seeded ``generator``, as ``DataLoader(dataset,
    batch_size, shuffle=..., generator=...)``; ``loader_kwargs`` (``num_workers``, ...)
    are passed on.
    """
    order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    sampler = BatchSampler(order, _positive_int("batch_size", batch_size), drop_last)
    kwargs = {"batch_size": None, "generator": generator, **loader_kwargs}
    return DataLoader(BatchDataset(dataset), sampler=sampler, **kwargs)


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


def pack_memmap(root: str | Path, path: str | Path, *, chunk: int = 256) -> Path:
    """Copy every sample of ``root`` into one ``uint8`` ``.npy`` file ``(n, H, W)`` at ``path``.

    The file is written through a memory map, ``chunk`` samples at a time, so packing
    does not hold the dataset in memory either. Open it with :class:`MemmapDataset`.
    """
    dataset, path = ImageFolderDataset(root), Path(path)
    out = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.uint8, shape=(len(dataset), *dataset.shape)
    )
    for i in range(0, len(dataset), _positive_int("chunk", chunk)):
        out[i : i + chunk] = load_images(dataset.files[i : i + chunk], dataset.shape)
    out.flush()
    del out
    return path


class MemmapDataset(Dataset):
    """A ``Dataset`` over one ``.npy`` file opened as a memory map (``np.load(mmap_mode="r")``).

    The operating system pages the file in on demand: indexing reads only the bytes of
    that sample, and memory stays flat. Items as in :class:`ImageFolderDataset`;
    ``read_batch`` copies a whole batch out of the map with one fancy index.
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
        image = np.array(self.images[index])  # a copy: the map is read-only
        x = torch.from_numpy(image).float().div_(255)[None]
        return (x if self.transform is None else self.transform(x)), int(self.labels[index])

    def __getitems__(self, indices: Sequence[int]) -> list[tuple[torch.Tensor, int]]:
        """Several samples, read as one batch; ``DataLoader`` uses this when it exists."""
        X, y = self.read_batch(indices)
        return list(zip(X, y.tolist(), strict=True))

    def read_batch(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Samples ``indices`` as one batch: ``X (B, 1, H, W)`` float32, ``y (B,)`` int64."""
        rows = np.asarray(indices, dtype=np.intp)
        return _to_batch(self.images[rows], self.labels[rows], self.transform)
