"""Memory and speed of the data generators of chapter 2, printed against the issue's targets.

For n = 1x, 4x and 16x the chapter's base size (250 images of 64x64):

* peak resident memory (Linux VmHWM) of a fresh Python process that loads the whole
  dataset (``load_all``) or iterates it with a generator (a ``DataLoader`` over
  ``ImageFolderDataset``, ``batch_loader`` over it, and the streaming
  ``IterableDataset``); one process per measurement. Target: the generators grow < 1.2x
  from 1x to 16x, load-all ~linearly.
* samples/s of the loaders on the 16x dataset (warm page cache), beside the rate of just
  reading the files' bytes (``bytes_per_second``: ``os.open`` + ``readv`` into one buffer,
  in a shuffled order), the floor of any loader that reads one file per sample; the
  simpler ``Path.read_bytes`` loop of the last session is printed too. Each rate is the
  best of several one-epoch runs taken in turns (``best_in_turns``), since other programs
  on this shared machine can only slow a run down. Target: within 2x of the floor.

Usage: python benchmarks/data_generators.py. Figures are printed, never asserted.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from torch.utils.data import DataLoader

from lecturelib.data import (
    ImageFolderDataset,
    MemmapDataset,
    StreamingImageDataset,
    batch_loader,
    pack_memmap,
)
from lecturelib.imagefiles import load_image, write_image_dataset
from lecturelib.measure import (
    best_in_turns,
    bytes_per_second,
    peak_memory_mib,
    samples_per_second,
)
from lecturelib.sequence import BatchSequence

BASE = 250  # the chapter's base size
SCALES = (1, 4, 16)
BATCH = 64
EPOCHS = 1
REPEATS = 7


def read_bytes_per_second(paths: list[Path], epochs: int) -> float:
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
        methods = ["load_all", "dataloader", "batch_loader", "streaming"]
        peaks = peak_memory_mib(roots, methods, batch_size=BATCH, fresh=True, absolute=True)
        print(f"peak RSS of a fresh process, MiB (batch size {BATCH}; one process each)")
        print(f"{'n':>8}{'data MiB':>10}" + "".join(f"{m:>12}" for m in methods))
        for s, row in zip(SCALES, peaks, strict=True):
            data = BASE * s * 64 * 64 * 4 / 2**20
            print(f"{BASE * s:>8}{data:>10.1f}" + "".join(f"{v:>12.1f}" for v in row))
        growth = peaks[-1] / peaks[0]
        pairs = zip(methods, growth, strict=True)
        print("growth 1x -> 16x: " + ", ".join(f"{m} {g:.2f}x" for m, g in pairs))
        ok = "met" if max(growth[1:]) < 1.2 else "MISSED"  # every generator column
        print(f"target: generators grow < 1.2x ({ok}); load-all grows with n")

        added = peak_memory_mib(roots, methods, batch_size=BATCH)
        print("\npeak memory added by one pass, MiB (one process, high-water mark reset each)")
        print(f"{'n':>8}{'data MiB':>10}" + "".join(f"{m:>12}" for m in methods))
        for s, row in zip(SCALES, added, strict=True):
            data = BASE * s * 64 * 64 * 4 / 2**20
            print(f"{BASE * s:>8}{data:>10.1f}" + "".join(f"{v:>12.1f}" for v in row))

        root = roots[-1]
        dataset = ImageFolderDataset(root)
        bytes_per_second(dataset.files)  # warm the page cache
        paths = [Path(p) for p in dataset.files]
        memmap = MemmapDataset(pack_memmap(root, Path(tmp) / "images.npy"), dataset.labels)

        def seeded():
            return torch.Generator().manual_seed(0)

        def workers(w):
            return {"num_workers": w, "persistent_workers": w > 0, "generator": seeded()}

        loaders = {f"DataLoader, {w} workers": DataLoader(dataset, BATCH, True, **workers(w))
                   for w in (0, 1, 2)}  # fmt: skip
        for w in (0, 2):
            loaders[f"batch_loader, {w} workers"] = batch_loader(
                dataset, BATCH, shuffle=True, **workers(w)
            )
        loaders["BatchSequence (Keras style)"] = BatchSequence(
            dataset.ids,
            dataset.labels,
            BATCH,
            seed=0,
            load=lambda i: load_image(root / f"{i}.npy", dataset.shape),
        )
        loaders["streaming IterableDataset"] = DataLoader(StreamingImageDataset(root), BATCH)
        loaders["memmap, DataLoader"] = DataLoader(memmap, BATCH, True, generator=seeded())
        loaders["memmap, batch_loader"] = batch_loader(
            memmap, BATCH, shuffle=True, generator=seeded()
        )
        measures = {
            "floor": partial(bytes_per_second, dataset.files, epochs=EPOCHS, seed=0),
            "read_bytes": partial(read_bytes_per_second, paths, EPOCHS),
        }
        for name, loader in loaders.items():
            samples_per_second(loader)  # one epoch first: workers start, memory is warm
            measures[name] = partial(samples_per_second, loader, epochs=EPOCHS)
        rates = best_in_turns(measures, rounds=REPEATS)
        floor, simple = rates.pop("floor"), rates.pop("read_bytes")
        print(f"\nsamples/s on n = {len(dataset)} (best of {REPEATS} runs of {EPOCHS} epoch, "
              f"taken in turns; warm cache, {torch.get_num_threads()} torch thread)")  # fmt: skip
        print(f"{'reading the bytes only (floor)':<32}{floor:>10.0f}   os.open + readv into "
              "one buffer, shuffled order")  # fmt: skip
        print(
            f"{'Path.read_bytes, file order':<32}{simple:>10.0f}   "
            f"{floor / simple:.2f}x the floor's time (the reference of the last session)"
        )
        for name, rate in rates.items():
            verdict = "ok" if rate >= floor / 2 else "MISSED"
            print(f"{name:<32}{rate:>10.0f}   {floor / rate:.2f}x the floor's time "
                  f"({verdict}); {simple / rate:.2f}x Path.read_bytes'")  # fmt: skip
        print("target: within 2x of reading the bytes (memmap reads one file, not n):")
        for name in ("DataLoader, 0 workers", "batch_loader, 0 workers", "memmap, batch_loader"):
            ok = "met" if rates[name] >= floor / 2 else "MISSED"
            print(f"  {name}: {floor / rates[name]:.2f}x the floor -> {ok}")


if __name__ == "__main__":
    main()
