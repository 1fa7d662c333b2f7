"""The dataset on disk: written seeded, read strictly, every bad file named in the error."""

import os

import numpy as np
import pytest

from lecturelib.imagefiles import (
    LABELS,
    load_image,
    load_images,
    read_labels,
    write_image_dataset,
)


def test_write_is_seeded_and_uses_the_digits(root, tmp_path):
    ids, labels = write_image_dataset(tmp_path / "a", 23, seed=0, size=16, max_shift=2)
    assert ids == read_labels(root)[0] and np.array_equal(labels, read_labels(root)[1])
    for i in ids:
        assert (tmp_path / "a" / f"{i}.npy").read_bytes() == (root / f"{i}.npy").read_bytes()
    write_image_dataset(tmp_path / "b", 23, seed=1, size=16, max_shift=2)
    assert (tmp_path / "b" / "000000.npy").read_bytes() != (root / "000000.npy").read_bytes()
    from sklearn.datasets import load_digits

    assert np.array_equal(labels, load_digits().target[:23])
    image = np.load(root / "000000.npy")
    assert image.dtype == np.uint8 and image.shape == (16, 16) and image.max() > 200
    assert (root / "000000.npy").stat().st_size == 16 * 16 + 128


def test_load_images_equals_numpy(root):
    ids, _ = read_labels(root)
    order = [5, 0, 22, 5, 13]  # any order, repeats allowed
    paths = [root / f"{ids[i]}.npy" for i in order]
    images = load_images(paths, (16, 16))
    assert images.shape == (5, 16, 16) and images.dtype == np.uint8
    assert np.array_equal(images, np.stack([np.load(p) for p in paths]))
    assert np.array_equal(load_images([os.fspath(p) for p in paths], (16, 16)), images)
    assert np.array_equal(load_image(paths[2], (16, 16)), np.load(paths[2]))
    assert load_images([], (16, 16)).shape == (0, 16, 16)
    single = load_image(paths[0], (16, 16))
    original = int(single[0, 0])
    single[0, 0] = original ^ 1  # writable; the file is untouched
    assert np.load(paths[0])[0, 0] == original


@pytest.mark.parametrize("cut", [1, 100, 16 * 16 + 128])
def test_truncated_file_named(copy, cut):
    bad = copy / "000004.npy"
    bad.write_bytes(bad.read_bytes()[:-cut])
    good = copy / "000003.npy"
    with pytest.raises(ValueError, match=f"sample file {bad} is truncated or corrupt"):
        load_images([good, bad, good], (16, 16))
    with pytest.raises(ValueError, match=f"sample file {bad} is truncated or corrupt"):
        load_image(bad, (16, 16))


@pytest.mark.parametrize(
    "damage",
    [
        b"garbage",
        b"\x93NUMPY" + b"x" * 500,  # too long
        b"\x93NUMPY" + b"x" * (16 * 16 + 128 - 6),  # right size, damaged header
    ],
)
def test_corrupt_file_named(copy, damage):
    bad = copy / "000002.npy"
    bad.write_bytes(damage)
    with pytest.raises(ValueError, match=str(bad)):
        load_image(bad, (16, 16))
    with pytest.raises(ValueError, match=str(bad)):
        load_images([copy / "000001.npy", bad], (16, 16))


def test_wrong_dtype_or_shape_named(copy):
    bad = copy / "000001.npy"
    np.save(bad, np.zeros((16, 16), np.float32))
    with pytest.raises(ValueError, match=str(bad)):
        load_images([bad], (16, 16))
    np.save(bad, np.zeros((8, 32), np.uint8))  # same number of bytes, another shape
    with pytest.raises(ValueError, match=f"sample file {bad} .*header"):
        load_images([copy / "000000.npy", bad], (16, 16))


def test_missing_file_named(copy):
    (copy / "000005.npy").unlink()
    with pytest.raises(FileNotFoundError, match=str(copy / "000005.npy")):
        read_labels(copy)
    with pytest.raises(FileNotFoundError, match="sample file .*000005.npy is missing"):
        load_image(copy / "000005.npy", (16, 16))
    with pytest.raises(FileNotFoundError, match="sample file .*000005.npy is missing"):
        load_images([copy / "000004.npy", copy / "000005.npy"], (16, 16))


def test_unlisted_file_named(copy):
    np.save(copy / "extra.npy", np.zeros((16, 16), np.uint8))
    with pytest.raises(ValueError, match=f"sample file {copy / 'extra.npy'} is not listed"):
        read_labels(copy)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,label\n000000,3\nnonsense\n", "line 3: expected 'id,label'"),
        ("id,label\n000000,3\n000000,3\n", "lists id '000000' twice"),
        ("name,digit\n", "must start with the header"),
    ],
)
def test_bad_labels_file_named(copy, text, message):
    for p in copy.glob("*.npy"):
        if p.name != "000000.npy":
            p.unlink()
    (copy / LABELS).write_text(text)
    with pytest.raises(ValueError, match=f"labels file {copy / LABELS}.*{message}"):
        read_labels(copy)


def test_missing_labels_file_named(copy):
    (copy / LABELS).unlink()
    with pytest.raises(FileNotFoundError, match=f"labels file {copy / LABELS} is missing"):
        read_labels(copy)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="n must be an int >= 1, got 0"):
        write_image_dataset(tmp_path, 0, seed=0)
    with pytest.raises(ValueError, match="max_shift must be in"):
        write_image_dataset(tmp_path, 1, seed=0, size=8, max_shift=8)
