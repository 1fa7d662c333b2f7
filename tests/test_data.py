"""Data generators: every sample once per epoch, reshuffling, seeds, lengths, bad files."""

import math
import time

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from lecturelib.data import (
    Augment,
    BatchDataset,
    ImageFolderDataset,
    MemmapDataset,
    StreamingImageDataset,
    batch_loader,
    load_all,
    pack_memmap,
)
from lecturelib.imagefiles import LABELS, load_image, read_labels, write_image_dataset
from lecturelib.measure import (
    best_in_turns,
    bytes_per_second,
    peak_memory_mib,
    samples_per_second,
)
from lecturelib.sequence import BatchSequence


def loader(root):
    return lambda i: load_image(root / f"{i}.npy", (16, 16))


def test_dataset_items(root):
    ds = ImageFolderDataset(root)
    x, y = ds[3]
    assert len(ds) == 23 and x.shape == (1, 16, 16) and x.dtype == torch.float32
    expected = torch.from_numpy(np.load(root / "000003.npy")).float() / 255
    torch.testing.assert_close(x[0], expected)
    assert y == ds.labels[3]
    flipped = ImageFolderDataset(root, transform=lambda t: t.flip(-1))
    torch.testing.assert_close(flipped[3][0], x.flip(-1))


def test_load_all_equals_the_dataset(root):
    X, y = load_all(root)
    ds = ImageFolderDataset(root)
    assert X.shape == (23, 1, 16, 16) and y.dtype == torch.int64
    torch.testing.assert_close(X, torch.stack([ds[i][0] for i in range(23)]))


@pytest.mark.parametrize(("batch_size", "batches"), [(1, 23), (5, 5), (23, 1), (50, 1)])
def test_sequence_len_and_every_sample_once(root, batch_size, batches):
    ids, labels = read_labels(root)
    seq = BatchSequence(ids, labels, batch_size, seed=0, load=loader(root))
    assert len(seq) == batches == math.ceil(23 / batch_size)
    sizes = [len(seq[k][0]) for k in range(len(seq))]
    assert sum(sizes) == 23 and all(s == batch_size for s in sizes[:-1])
    X = np.concatenate([seq[k][0] for k in range(len(seq))])
    y = np.concatenate([seq[k][1] for k in range(len(seq))])
    by_image = {X[i].tobytes(): y[i] for i in range(23)}
    assert len(by_image) == 23  # each sample once, with its own label
    for i, name in enumerate(ids):
        assert by_image[np.load(root / f"{name}.npy").tobytes()] == labels[i]
    with pytest.raises(IndexError, match="out of range"):
        seq[len(seq)]


def test_sequence_drop_last_and_errors(root):
    ids, labels = read_labels(root)
    seq = BatchSequence(ids, labels, 5, seed=0, load=loader(root), drop_last=True)
    assert len(seq) == 4 and all(len(x) == 5 for x, _ in seq)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        BatchSequence(ids, labels, 0, seed=0, load=loader(root))
    with pytest.raises(ValueError, match="seed must be an int when shuffle=True"):
        BatchSequence(ids, labels, 5, load=loader(root))
    with pytest.raises(ValueError, match="equal lengths"):
        BatchSequence(ids, labels[:-1], 5, seed=0, load=loader(root))


def test_sequence_reshuffles_each_epoch_reproducibly(root):
    ids, labels = read_labels(root)
    seq = BatchSequence(ids, labels, 4, seed=0, load=lambda i: np.array([int(i)]))
    epochs = [np.concatenate([x[:, 0] for x, _ in seq]) for _ in range(3)]  # iter: epoch end
    assert all(sorted(e) == list(range(23)) for e in epochs)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    again = BatchSequence(ids, labels, 4, seed=0, load=lambda i: np.array([int(i)]))
    assert all(np.array_equal(e, np.concatenate([x[:, 0] for x, _ in again])) for e in epochs)
    fixed = BatchSequence(ids, labels, 4, shuffle=False, load=lambda i: np.array([int(i)]))
    assert np.array_equal(np.concatenate([x[:, 0] for x, _ in fixed]), np.arange(23))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_dataloader_every_sample_once_reshuffled_seeded(root, num_workers):
    ds = ImageFolderDataset(root)

    def epochs(seed):
        dl = DataLoader(ds, 5, shuffle=True, num_workers=num_workers,
                        generator=torch.Generator().manual_seed(seed))  # fmt: skip
        assert len(dl) == 5
        return [torch.cat([y for _, y in dl]) for _ in range(2)], [x for x, _ in dl]

    (first, second), batches = epochs(0)
    assert [len(b) for b in batches] == [5, 5, 5, 5, 3]
    assert sorted(first.tolist()) == sorted(ds.labels.tolist()) == sorted(second.tolist())
    X = torch.cat(batches)
    assert len({x.numpy().tobytes() for x in X}) == 23
    assert not torch.equal(first, second)
    again, _ = epochs(0)
    assert torch.equal(again[0], first) and torch.equal(again[1], second)


# -- batch reads: a Dataset whose item is a whole batch, under a real DataLoader -------
def datasets(root, tmp_path):
    files = ImageFolderDataset(root)
    return {
        "files": files,
        "memmap": MemmapDataset(pack_memmap(root, tmp_path / "m.npy"), files.labels),
    }


@pytest.mark.parametrize("kind", ["files", "memmap"])
@pytest.mark.parametrize(
    ("batch_size", "sizes"), [(1, [1] * 23), (5, [5] * 4 + [3]), (23, [23]), (50, [23])]
)
def test_batch_loader_len_and_every_sample_once(root, tmp_path, kind, batch_size, sizes):
    ds = datasets(root, tmp_path)[kind]
    dl = batch_loader(ds, batch_size, shuffle=True, generator=torch.Generator().manual_seed(0))
    assert len(dl) == len(sizes) == math.ceil(23 / batch_size)
    batches = list(dl)
    assert [len(x) for x, _ in batches] == [len(y) for _, y in batches] == sizes
    X, y = torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])
    assert X.shape == (23, 1, 16, 16) and X.dtype == torch.float32 and y.dtype == torch.int64
    by_image = {x.numpy().tobytes(): int(label) for x, label in zip(X, y, strict=True)}
    assert len(by_image) == 23  # each sample once, with its own label
    ids, labels = read_labels(root)
    for name, label in zip(ids, labels, strict=True):
        x = torch.from_numpy(np.load(root / f"{name}.npy")).float() / 255  # NumPy as the oracle
        assert by_image[x[None].numpy().tobytes()] == label
    dropped = batch_loader(ds, 5, drop_last=True)
    assert len(dropped) == 4 and [len(y) for _, y in dropped] == [5] * 4


@pytest.mark.parametrize("num_workers", [0, 2])
def test_batch_loader_reshuffles_seeded_as_dataloader(root, num_workers):
    ds = ImageFolderDataset(root)

    def epochs(make):
        dl = make(ds, 5, shuffle=True, generator=torch.Generator().manual_seed(0))
        return [list(dl) for _ in range(2)]

    fast, per_sample = epochs(batch_loader), epochs(DataLoader)
    first, second = (torch.cat([y for _, y in epoch]) for epoch in fast)
    assert not torch.equal(first, second)  # a new order each epoch
    assert sorted(first.tolist()) == sorted(second.tolist()) == sorted(ds.labels.tolist())
    for a, b in zip(fast[0] + fast[1], per_sample[0] + per_sample[1], strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])  # same batches, same seed
    again = epochs(lambda *a, **k: batch_loader(*a, num_workers=num_workers, **k))
    for a, b in zip(fast[0] + fast[1], again[0] + again[1], strict=True):
        assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])  # reproducible
    in_order = torch.cat([y for _, y in batch_loader(ds, 5, num_workers=num_workers)])
    assert torch.equal(in_order, torch.from_numpy(ds.labels))


def test_read_batch_equals_items_with_transform(root, tmp_path):
    for transform in (None, lambda t: t.flip(-1)):
        ds = ImageFolderDataset(root, transform)
        X, y = ds.read_batch([3, 0, 3])
        torch.testing.assert_close(X, torch.stack([ds[3][0], ds[0][0], ds[3][0]]), rtol=0, atol=0)
        assert y.tolist() == [ds[3][1], ds[0][1], ds[3][1]]
    mm = datasets(root, tmp_path)["memmap"]
    X_mm, y_mm = mm.read_batch([3, 0, 3])
    assert torch.equal(X_mm, ImageFolderDataset(root).read_batch([3, 0, 3])[0])
    assert torch.equal(y_mm, y)


def test_batch_dataset_errors(root):
    ds = ImageFolderDataset(root)
    with pytest.raises(TypeError, match="indexed by a list of sample indices, got 3"):
        BatchDataset(ds)[3]
    with pytest.raises(TypeError, match="must have a read_batch method, got list"):
        BatchDataset([1, 2])
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        batch_loader(ds, 0)
    with pytest.raises(TypeError):  # the per-sample DataLoader cannot use it by mistake
        list(DataLoader(BatchDataset(ds), batch_size=4))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_batch_loader_names_bad_files(copy, num_workers):
    ds = ImageFolderDataset(copy)
    bad = copy / "000004.npy"
    bad.write_bytes(bad.read_bytes()[:-1])
    with pytest.raises(ValueError, match=f"sample file {bad} is truncated or corrupt"):
        list(batch_loader(ds, 5, shuffle=True, num_workers=num_workers))
    bad.unlink()
    with pytest.raises(FileNotFoundError, match=f"sample file {bad} is missing"):
        list(batch_loader(ds, 5, num_workers=num_workers))


@pytest.mark.parametrize("num_workers", [0, 2])
def test_streaming_every_sample_once(root, num_workers):
    stream = StreamingImageDataset(root, buffer_size=8, seed=0)
    dl = DataLoader(stream, 4, num_workers=num_workers, generator=torch.Generator().manual_seed(0))
    X = torch.cat([x for x, _ in dl])
    assert len(stream) == 23 and len({x.numpy().tobytes() for x in X}) == 23
    plain = torch.cat([y for _, y in DataLoader(StreamingImageDataset(root), 4)])
    assert torch.equal(plain, torch.from_numpy(read_labels(root)[1]))
    if num_workers == 0:  # a new local order each epoch
        first, second = (torch.cat([y for _, y in dl]) for _ in range(2))
        assert not torch.equal(first, second)


def test_memmap_equals_files(root, tmp_path):
    ids, labels = read_labels(root)
    path = pack_memmap(root, tmp_path / "images.npy")
    mm = MemmapDataset(path, labels)
    ds = ImageFolderDataset(root)
    assert len(mm) == 23
    for i in (0, 7, 22):
        torch.testing.assert_close(mm[i][0], ds[i][0])
        assert mm[i][1] == ds[i][1]
    with pytest.raises(ValueError, match=f"memmap file {path} holds shape"):
        MemmapDataset(path, labels[:-1])
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match=f"memmap file {path} is truncated"):
        MemmapDataset(path, labels)


def test_augment_is_seeded_and_bounded():
    x = torch.rand(1, 16, 16)
    a = Augment(3, 0.1, generator=torch.Generator().manual_seed(0))(x)
    b = Augment(3, 0.1, generator=torch.Generator().manual_seed(0))(x)
    assert torch.equal(a, b) and a.shape == x.shape and 0 <= a.min() and a.max() <= 1
    assert torch.equal(Augment()(x), x)
    with pytest.raises(ValueError, match="max_shift and noise must be >= 0"):
        Augment(-1)


# -- bad files: an error that names the file, never a silent skip -----------------------
def test_truncated_file_named(copy):
    bad = copy / "000004.npy"
    bad.write_bytes(bad.read_bytes()[:-1])
    ds = ImageFolderDataset(copy)
    ds[3]
    with pytest.raises(ValueError, match=f"sample file {bad} is truncated or corrupt"):
        ds[4]
    with pytest.raises(ValueError, match=str(bad)):
        list(DataLoader(ds, 5))
    with pytest.raises(ValueError, match=str(bad)):
        load_all(copy)


def test_wrong_dtype_named(copy):
    bad = copy / "000001.npy"
    np.save(bad, np.zeros((16, 16), np.float32))
    with pytest.raises(ValueError, match=str(bad)):
        ImageFolderDataset(copy)[1]


def test_missing_file_named(copy):
    (copy / "000005.npy").unlink()
    with pytest.raises(FileNotFoundError, match=str(copy / "000005.npy")):
        ImageFolderDataset(copy)
    with pytest.raises(FileNotFoundError, match="sample file .*000005.npy is missing"):
        load_image(copy / "000005.npy", (16, 16))


def test_deleted_after_start_named(copy):
    ds = ImageFolderDataset(copy)
    (copy / "000006.npy").unlink()
    with pytest.raises(FileNotFoundError, match=str(copy / "000006.npy")):
        [ds[i] for i in range(len(ds))]


def test_missing_labels_file_named(copy):
    (copy / LABELS).unlink()
    with pytest.raises(FileNotFoundError, match=f"labels file {copy / LABELS} is missing"):
        ImageFolderDataset(copy)


def test_argument_errors(tmp_path):
    with pytest.raises(ValueError, match="methods must be among"):
        peak_memory_mib([tmp_path], ["everything"])


def test_peak_memory_grows_with_loading_all_only(tmp_path):
    roots = [tmp_path / "small", tmp_path / "big"]
    write_image_dataset(roots[0], 200, seed=0)
    write_image_dataset(roots[1], 1600, seed=0)
    peaks = peak_memory_mib(roots, ["dataloader", "load_all"])
    data_mib = np.array([200, 1600]) * 64 * 64 * 4 / 2**20
    assert np.allclose(peaks[:, 1], data_mib, rtol=0.2, atol=1.0)  # load-all: the data
    assert peaks[:, 0].max() < 4  # a generator: about one batch


def test_samples_per_second_counts_samples():
    class Slow:  # 5 samples per pass, 0.1 s per pass
        def __iter__(self):
            for n in (3, 2):
                time.sleep(0.05)
                yield torch.zeros(n), None

    assert 30 < samples_per_second(Slow(), epochs=2) <= 50


def test_bytes_per_second_reads_every_file(root, monkeypatch):
    paths = sorted(root.glob("*.npy"))
    clock = iter(range(100))  # a fake clock: one second per call
    monkeypatch.setattr("lecturelib.measure.time.perf_counter", lambda: float(next(clock)))
    assert bytes_per_second(paths, epochs=2, seed=0) == 23.0  # 2 x 23 files in 2 "seconds"
    assert bytes_per_second(paths, repeat=3) == 23.0
    with pytest.raises(FileNotFoundError, match="gone.npy"):
        bytes_per_second([*paths, root / "gone.npy"])


def test_best_in_turns_takes_turns_and_the_best():
    calls = []

    def measure(key, values):
        values = iter(values)
        return lambda: calls.append(key) or next(values)

    best = best_in_turns({"a": measure("a", [1, 3, 2]), "b": measure("b", [5, 4, 6])}, rounds=3)
    assert best == {"a": 3, "b": 6} and calls == ["a", "b"] * 3
    with pytest.raises(ValueError, match="rounds must be an int >= 1, got 0"):
        best_in_turns({}, rounds=0)
