"""Data augmentation: new training examples made from old ones by label-preserving changes.

For small images a shift by a pixel or two keeps the class: a digit moved one pixel left
is the same digit. Used as a remedy for overfitting (more, varied training data) and by
data generators that augment at run time.
"""

from __future__ import annotations

import torch

__all__ = ["DEFAULT_SHIFTS", "augment_with_shifts", "shift_images"]

DEFAULT_SHIFTS = ((0, 1), (0, -1), (1, 0), (-1, 0))  # (rows, columns): down, up, right, left


def shift_images(images: torch.Tensor, rows: int, cols: int) -> torch.Tensor:
    """Shift a batch of images ``(n, height, width)`` by whole pixels, filling with zeros.

    ``rows > 0`` moves the content down, ``cols > 0`` to the right. A new tensor is
    returned; pixels shifted out of the frame are lost.
    """
    if images.ndim != 3:
        raise ValueError(f"images must have shape (n, height, width), got {tuple(images.shape)}")
    _, height, width = images.shape
    if abs(rows) >= height or abs(cols) >= width:
        raise ValueError(f"shift ({rows}, {cols}) must be smaller than the image {height}x{width}")
    out = torch.zeros_like(images)
    src_r = slice(max(0, -rows), height - max(0, rows))
    src_c = slice(max(0, -cols), width - max(0, cols))
    dst_r = slice(max(0, rows), height - max(0, -rows))
    dst_c = slice(max(0, cols), width - max(0, -cols))
    out[:, dst_r, dst_c] = images[:, src_r, src_c]
    return out


def augment_with_shifts(
    X: torch.Tensor,
    y: torch.Tensor,
    *,
    shape: tuple[int, int],
    shifts: tuple[tuple[int, int], ...] = DEFAULT_SHIFTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The examples plus one shifted copy of each per shift, with the same labels.

    ``X`` holds flattened images, shape ``(n, height * width)`` with ``shape = (height,
    width)``; the result has ``n * (1 + len(shifts))`` rows, originals first.
    """
    if X.ndim != 2 or X.shape[1] != shape[0] * shape[1]:
        raise ValueError(
            f"X must have shape (n, {shape[0] * shape[1]}) for images of shape {shape}, "
            f"got {tuple(X.shape)}"
        )
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    images = X.reshape(-1, *shape)  # (n, height, width)
    copies = [X] + [shift_images(images, r, c).reshape(len(X), -1) for r, c in shifts]
    return torch.cat(copies), y.repeat(1 + len(shifts))
