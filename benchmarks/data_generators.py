"""Memory and speed of the data generators of chapter 2, printed against the issue's targets.

For n = 1x, 4x and 16x the chapter's base size (250 images of 64x64):

* peak resident memory (Linux VmHWM) of a fresh Python process that loads the whole
  dataset (``load_all``) or iterates it with a generator (a ``DataLoader`` over
  ``ImageFolderDataset``, and the streaming ``IterableDataset``); one process per
  measurement. Target: streaming grows < 1.2x from 1x to 16x, load-all ~linearly.
* samples/s of the loaders on the 16x dataset (warm page cache), beside the rate of just
  reading the files' bytes, the limit of any loader that reads one file per sample.
  Target: within 2x of that.

Usage: python benchmarks/data_generators.py. Figures are printed, never asserted.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from lecturelib.data import (
    BatchSequence,
    ImageFolderDataset,
    MemmapDataset,
    StreamingImageDataset,
    load_image,
    pack_memmap,
    peak_memory_mib,
    samples_per_second,
    write_image_dataset,
)

BASE = 250  # the chapter's base size
SCALES = (1, 4, 16)
BATCH = 64
EPOCHS = 3


def bytes_per_second(paths: list[Path], epochs: int) -> float:
    start = time.perf_counter()
    for _ in range(epochs):
        for path in paths:
            path.read_bytes()
    return len(paths) * epochs / (time.perf_counter() - start)


def main() -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        roots = [Path(tmp) / f"n{BASE * s}" for s in SCALES]
        for root, s in zip(roots, SCALES, strict=True):
            write_image_dataset(root, BASE * s, seed=0)
        methods = ["load_all", "dataloader", "streaming"]
        peaks = peak_memory_mib(roots, methods, batch_size=BATCH, fresh=True, absolute=True)
        print(f"peak RSS of a fresh process, MiB (batch size {BATCH}; one process each)")
        print(f"{'n':>8}{'data MiB':>10}" + "".join(f"{m:>12}" for m in methods))
        for s, row in zip(SCALES, peaks, strict=True):
            data = BASE * s * 64 * 64 * 4 / 2**20
            print(f"{BASE * s:>8}{data:>10.1f}" + "".join(f"{v:>12.1f}" for v in row))
        growth = peaks[-1] / peaks[0]
        pairs = zip(methods, growth, strict=True)
        print("growth 1x -> 16x: " + ", ".join(f"{m} {g:.2f}x" for m, g in pairs))
        ok = "ok" if max(growth[1:]) < 1.2 else "MISSED"
        print(f"target: generators grow < 1.2x ({ok}); load-all grows with n")

        added = peak_memory_mib(roots, methods, batch_size=BATCH)
        print("\npeak memory added by one pass, MiB (one process, high-water mark reset each)")
        print(f"{'n':>8}{'data MiB':>10}" + "".join(f"{m:>12}" for m in methods))
        for s, row in zip(SCALES, added, strict=True):
            data = BASE * s * 64 * 64 * 4 / 2**20
            print(f"{BASE * s:>8}{data:>10.1f}" + "".join(f"{v:>12.1f}" for v in row))

        root = roots[-1]
        dataset = ImageFolderDataset(root)
        paths = [root / f"{i}.npy" for i in dataset.ids]
        bytes_per_second(paths, 1)  # warm the page cache
        limit = bytes_per_second(paths, EPOCHS)
        generator = torch.Generator().manual_seed(0)
        rates = {}
        for workers in (0, 1, 2):
            loader = DataLoader(dataset, BATCH, shuffle=True, num_workers=workers,
                                persistent_workers=workers > 0, generator=generator)  # fmt: skip
            rates[f"DataLoader, {workers} workers"] = samples_per_second(loader, epochs=EPOCHS)

        def load(i):
            return load_image(root / f"{i}.npy", dataset.shape)

        sequence = BatchSequence(dataset.ids, dataset.labels, BATCH, seed=0, load=load)
        rates["BatchSequence (Keras style)"] = samples_per_second(sequence, epochs=EPOCHS)
        stream = DataLoader(StreamingImageDataset(root), BATCH)
        rates["streaming IterableDataset"] = samples_per_second(stream, epochs=EPOCHS)
        memmap = MemmapDataset(pack_memmap(root, Path(tmp) / "images.npy"), dataset.labels)
        rates["memmap (one file)"] = samples_per_second(DataLoader(memmap, BATCH), epochs=EPOCHS)
        print(f"\nsamples/s on n = {len(dataset)} ({EPOCHS} epochs, warm cache, "
              f"{torch.get_num_threads()} torch thread)")  # fmt: skip
        print(f"{'reading the bytes only':<32}{limit:>10.0f}   (the limit)")
        for name, rate in rates.items():
            verdict = "ok" if rate >= limit / 2 else "MISSED"
            print(f"{name:<32}{rate:>10.0f}   {limit / rate:.2f}x slower ({verdict})")
        print("target: within 2x of reading the bytes (memmap reads one file, not n)")


if __name__ == "__main__":
    main()
