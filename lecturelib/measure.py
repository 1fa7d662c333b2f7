"""Measuring data loaders: the peak memory of one pass, and samples per second.

Peak memory is what the operating system sees (Linux's ``VmHWM``, the high-water mark of
resident memory), measured in a new Python process. Python's ``tracemalloc`` would miss
PyTorch's tensors, which are not allocated through Python's allocator.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from lecturelib.imagefiles import _positive_int

__all__ = ["best_in_turns", "bytes_per_second", "peak_memory_mib", "samples_per_second"]


def bytes_per_second(
    paths: Sequence[str | Path], *, epochs: int = 1, seed: int | None = None, repeat: int = 1
) -> float:
    """Files per second of only reading the files' bytes: the floor for any loader that
    reads one file per sample.

    Each file is opened, read into its row of one preallocated buffer and closed
    (``os.open``, ``os.readv``, ``os.close``; no Python file objects), ``epochs`` times,
    in a new random order each epoch when ``seed`` is given (as a shuffling loader reads).
    The best of ``repeat`` such measurements (other processes only ever slow one down).
    """
    size = max(os.path.getsize(p) for p in paths) + 1
    flat = memoryview(bytearray(size * len(paths)))
    rows = [flat[i * size : (i + 1) * size] for i in range(len(paths))]
    rng, order = np.random.default_rng(seed), [os.fspath(p) for p in paths]
    best = 0.0
    for _ in range(_positive_int("repeat", repeat)):
        elapsed = 0.0
        for _ in range(_positive_int("epochs", epochs)):
            if seed is not None:
                order = [order[i] for i in rng.permutation(len(order))]
            start = time.perf_counter()
            for path, row in zip(order, rows, strict=True):
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.readv(fd, [row])
                finally:
                    os.close(fd)
            elapsed += time.perf_counter() - start
        best = max(best, len(paths) * epochs / elapsed)
    return best


def samples_per_second(batches: Iterable, *, epochs: int = 1, repeat: int = 1) -> float:
    """Throughput of a loader: samples of all ``(x, y)`` batches over the wall time taken
    for ``epochs`` passes; the best of ``repeat`` such measurements."""
    best = 0.0
    for _ in range(_positive_int("repeat", repeat)):
        start, n = time.perf_counter(), 0
        for _ in range(epochs):
            for x, _ in batches:
                n += len(x)
        best = max(best, n / (time.perf_counter() - start))
    return best


def best_in_turns(
    measures: Mapping[Hashable, Callable[[], float]], *, rounds: int = 5
) -> dict[Hashable, float]:
    """The best (highest) of ``rounds`` calls of each rate measurement, taken in turns.

    Round-robin, so that a burst of load from other programs slows every measurement
    alike instead of one; the best, since such load can only ever slow a run down.
    """
    best = dict.fromkeys(measures, 0.0)
    for _ in range(_positive_int("rounds", rounds)):
        for key, measure in measures.items():
            best[key] = max(best[key], measure())
    return best


_METHODS = {
    "load_all": "X, y = d.load_all(root)",
    "dataloader": "for x, y in DataLoader(d.ImageFolderDataset(root), batch_size): pass",
    "streaming": "for x, y in DataLoader(d.StreamingImageDataset(root), batch_size): pass",
    "batch_loader": "for x, y in d.batch_loader(d.ImageFolderDataset(root), batch_size): pass",
}
_CHILD = """
import gc, json, re, sys
from pathlib import Path
from torch.utils.data import DataLoader
import lecturelib.data as d
from lecturelib.imagefiles import read_labels
def status(field):
    text = Path("/proc/self/status").read_text()
    return int(re.search(field + r":\\s+(\\d+) kB", text).group(1)) / 1024
batch_size, jobs, absolute, peaks = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3], []
for method in METHODS if absolute == "0" else ():  # warm up: first-use allocations
    root = jobs[0][0]
    exec(METHODS[method])
for root, method in jobs:
    read_labels(root)
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
    ``"load_all"`` (:func:`~lecturelib.data.load_all`), ``"dataloader"`` (a ``DataLoader``
    over :class:`~lecturelib.data.ImageFolderDataset`), ``"streaming"`` (over
    :class:`~lecturelib.data.StreamingImageDataset`), ``"batch_loader"``
    (:func:`~lecturelib.data.batch_loader` over ``ImageFolderDataset``).
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
