"""Shared, tested helpers for the CSE4261 training companion.

One module per lecture concept (``gradients``, ``landscapes``, ``sliders``, ...).
Importing the package has no side effects: no plotting style, no downloads, no output.
"""

from __future__ import annotations

import random

import numpy as np
import torch

__all__ = ["device", "set_seed"]


def set_seed(seed: int) -> None:
    """Seed Python's ``random``, NumPy's global generator and PyTorch (CPU and CUDA).

    Library functions take their own ``seed`` argument; this is for notebook code that
    uses the global generators.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed must be in [0, 2**32), got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def device() -> torch.device:
    """The device to compute on: the first CUDA GPU when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
