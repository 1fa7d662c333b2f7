"""Shift augmentation: pixels move, labels stay, shapes are checked."""

import pytest
import torch

from lecturelib.augmentation import augment_with_shifts, shift_images


def test_shift_moves_content_and_fills_with_zeros():
    image = torch.arange(1, 10, dtype=torch.float32).reshape(1, 3, 3)
    right = shift_images(image, 0, 1)[0]
    assert right.tolist() == [[0, 1, 2], [0, 4, 5], [0, 7, 8]]
    up = shift_images(image, -1, 0)[0]
    assert up.tolist() == [[4, 5, 6], [7, 8, 9], [0, 0, 0]]
    assert torch.equal(shift_images(image, 0, 0), image)
    assert torch.equal(image[0], torch.arange(1, 10, dtype=torch.float32).reshape(3, 3))


def test_shifting_there_and_back_keeps_the_interior():
    images = torch.rand(5, 8, 8)
    back = shift_images(shift_images(images, 1, -1), -1, 1)
    assert torch.equal(back[:, :-1, 1:], images[:, :-1, 1:])


def test_augment_appends_one_shifted_copy_per_shift_with_the_same_labels():
    X, y = torch.rand(10, 64), torch.arange(10)
    X_aug, y_aug = augment_with_shifts(X, y, shape=(8, 8))
    assert X_aug.shape == (50, 64) and torch.equal(y_aug, torch.arange(10).repeat(5))
    assert torch.equal(X_aug[:10], X)
    expected = shift_images(X.reshape(10, 8, 8), 0, 1).reshape(10, 64)
    assert torch.equal(X_aug[10:20], expected)


def test_bad_shapes_are_named():
    with pytest.raises(ValueError, match=r"images must have shape \(n, height, width\)"):
        shift_images(torch.rand(8, 8), 1, 0)
    with pytest.raises(ValueError, match="must be smaller than the image 8x8"):
        shift_images(torch.rand(2, 8, 8), 8, 0)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 64\)"):
        augment_with_shifts(torch.rand(4, 63), torch.arange(4), shape=(8, 8))
    with pytest.raises(ValueError, match="same length"):
        augment_with_shifts(torch.rand(4, 64), torch.arange(3), shape=(8, 8))
