"""The Keras-``Sequence``-style data generator that the lecture cites, in plain Python.

Amidi & Amidi, "A detailed example of how to generate your data in parallel with Keras"
(Stanford, 2018), subclass ``keras.utils.Sequence``: the generator is given the sample
IDs, their labels, a batch size and whether to shuffle; ``len`` is the number of batches
per epoch, indexing loads one whole batch, and ``on_epoch_end`` reshuffles. Here it needs
no Keras, so it can be put beside PyTorch's ``Dataset``/``DataLoader``
(:mod:`lecturelib.data`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from lecturelib.imagefiles import _positive_int

__all__ = ["BatchSequence"]


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
