"""Make the shipped pre-trained weights from scratch: ``python -m lecturelib.pretrain``.

The source task: scikit-learn's 8x8 digits 0-4 (:data:`lecturelib.features.SOURCE_CLASSES`,
bundled, no download), split 75/25 with seed 0; :func:`lecturelib.features.digits_cnn`
trained with Adam (lr 1e-3, mini-batches of 32) for ``epochs`` epochs, all randomness from
``seed``. It writes the ``state_dict`` to ``--out`` and a JSON record beside it (same name,
suffix ``.json``): the recipe, the source test accuracy, parameters, file size, the
file's SHA-256 and :func:`~lecturelib.features.weights_checksum` of the weights.

Usage::

    python -m lecturelib.pretrain                      # the shipped weights, ~4 s on one CPU core
    python -m lecturelib.pretrain --out /tmp/w.pt --epochs 1 --seed 0

The run is deterministic given its seed (one thread, CPU): the same seed gives the same
weights and accuracy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import torch
from torch import nn

from lecturelib.features import (
    SOURCE_CLASSES,
    WEIGHTS,
    digit_task,
    digits_cnn,
    weights_checksum,
)
from lecturelib.fitting import accuracy, train_test_split
from lecturelib.training import fit

__all__ = ["EPOCHS", "SEED", "TEST_FRACTION", "main", "pretrain", "source_split"]

EPOCHS = 30
"""Epochs of the shipped weights."""

SEED = 0
"""Seed of the shipped weights (initial weights and mini-batch order)."""

TEST_FRACTION = 0.25
"""Share of the source digits held out to measure the source accuracy."""


def source_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The source task's fixed split: ``X_train, X_test, y_train, y_test``.

    Digits 0-4, images ``(n, 1, 8, 8)``; 25% held out with split seed 0 (not the training
    seed, so every training seed is measured on the same test images).
    """
    images, labels = digit_task(SOURCE_CLASSES)
    return tuple(train_test_split(images, labels, test_fraction=TEST_FRACTION, seed=0))


def pretrain(out: str | Path, *, epochs: int = EPOCHS, seed: int = SEED, lr: float = 1e-3) -> dict:
    """Train :func:`~lecturelib.features.digits_cnn` on the source task and save it.

    Writes ``out`` (the ``state_dict``, loadable with ``weights_only=True``) and
    ``out.with_suffix(".json")``, and returns that record. Runs on the CPU, so the result
    does not depend on the machine's GPU.
    """
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    out = Path(out)
    if out.suffix == ".json":
        raise ValueError(f"out must be the weights file, not its .json record, got {out}")
    start = time.perf_counter()
    X_train, X_test, y_train, y_test = source_split()
    network = digits_cnn(num_classes=len(SOURCE_CLASSES), seed=seed)
    history = fit(
        network,
        (X_train, y_train),
        (X_test, y_test),
        epochs=epochs,
        optimizer=torch.optim.Adam(network.parameters(), lr=lr),
        loss_fn=nn.CrossEntropyLoss(),
        metrics={"accuracy": accuracy},
        batch_size=32,
        seed=seed,
        device="cpu",
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), out)
    record = {
        "what": "digits_cnn pre-trained on scikit-learn's 8x8 digits 0-4 (lecturelib.pretrain)",
        "command": f"python -m lecturelib.pretrain --epochs {epochs} --seed {seed}",
        "source_classes": list(SOURCE_CLASSES),
        "split": {"test_fraction": TEST_FRACTION, "split_seed": 0},
        "n_train": len(y_train),
        "n_test": len(y_test),
        "seed": seed,
        "epochs": epochs,
        "optimizer": {"name": "Adam", "lr": lr, "batch_size": 32},
        "source_train_accuracy": history["train_accuracy"][-1],
        "source_test_accuracy": history["val_accuracy"][-1],
        "parameters": sum(p.numel() for p in network.parameters()),
        "bytes": out.stat().st_size,
        "file_sha256": hashlib.sha256(out.read_bytes()).hexdigest(),
        "weights_checksum": weights_checksum(network),
        "torch": torch.__version__,
        "seconds": round(time.perf_counter() - start, 1),
    }
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> dict:
    """Command line: ``python -m lecturelib.pretrain [--out PATH] [--epochs N] [--seed S]``."""
    default = Path(__file__).resolve().parent / "weights" / WEIGHTS
    parser = argparse.ArgumentParser(prog="python -m lecturelib.pretrain", description=__doc__)
    parser.add_argument("--out", type=Path, default=default, help=f"default: {default}")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"default: {EPOCHS}")
    parser.add_argument("--seed", type=int, default=SEED, help=f"default: {SEED}")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # one thread: tiny tensors are faster, and runs repeat bit for bit
    record = pretrain(args.out, epochs=args.epochs, seed=args.seed)
    print(
        f"wrote {args.out} ({record['bytes']} bytes) and {args.out.with_suffix('.json')}: "
        f"source test accuracy {record['source_test_accuracy']:.4f} after {args.epochs} "
        f"epochs, {record['seconds']} s"
    )
    return record


if __name__ == "__main__":
    main()
