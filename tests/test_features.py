"""The shipped pre-trained network, the frozen backbone, feature extraction, pretraining."""

import json
import subprocess
import sys
import types

import pytest
import torch
from torch import nn
from torch.testing import assert_close
from torch.utils.data import DataLoader, TensorDataset

from lecturelib.features import (
    CUTS,
    SOURCE_CLASSES,
    TARGET_CLASSES,
    digit_task,
    digits_cnn,
    extract_features,
    freeze,
    load_metadata,
    pca_2d,
    pretrained_backbone,
    pretrained_network,
    sample_per_class,
    torchvision_backbone,
    weights_checksum,
)
from lecturelib.fitting import accuracy
from lecturelib.pretrain import main, pretrain, source_split
from lecturelib.training import fit


@pytest.fixture(scope="module")
def target():
    return digit_task(TARGET_CLASSES)


def test_shipped_weights_are_small_and_load_without_network(monkeypatch):
    import socket

    def no_network(*args, **kwargs):
        raise AssertionError("tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    network = pretrained_network()
    meta = load_metadata()
    assert meta["bytes"] <= 1_000_000
    assert meta["parameters"] == sum(p.numel() for p in network.parameters()) == 40_069
    assert weights_checksum(network) == meta["weights_checksum"]


def test_shipped_weights_give_the_recorded_source_accuracy():
    network = pretrained_network()
    _, X_test, _, y_test = source_split()
    with torch.no_grad():
        measured = accuracy(network(X_test), y_test)
    meta = load_metadata()
    assert abs(measured - meta["source_test_accuracy"]) <= 0.005
    assert meta["source_test_accuracy"] > 0.95
    assert meta["source_classes"] == list(SOURCE_CLASSES)


def test_backbone_is_frozen_in_eval_mode_with_the_documented_feature_sizes(target):
    images = target[0][:10]
    for cut, size in CUTS.items():
        backbone = pretrained_backbone(cut)
        assert not backbone.training and not any(m.training for m in backbone.modules())
        assert all(not p.requires_grad for p in backbone.parameters())
        assert extract_features(backbone, images).shape == (10, size)
    assert "head" not in dict(pretrained_backbone("fc").named_children())


def test_backbone_is_the_network_up_to_the_cut():
    network, backbone = pretrained_network(), pretrained_backbone("fc")
    x = digit_task(SOURCE_CLASSES)[0][:7]
    with torch.no_grad():
        assert_close(network.head(backbone(x)), network(x))
        assert_close(backbone(x), network.fc(network.block3(network.block2(network.block1(x)))))


def test_parameters_do_not_change_while_the_head_trains(target):
    images, labels = target
    backbone = pretrained_backbone()
    before = weights_checksum(backbone)
    head = nn.Linear(CUTS["block2"], len(TARGET_CLASSES))
    model = nn.Sequential(backbone, head)
    head_before = head.weight.detach().clone()
    # the worst case: an optimizer handed every parameter, backbone included, with decay
    opt = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    fit(model, (images[:50], labels[:50]), epochs=3, optimizer=opt, loss_fn=nn.CrossEntropyLoss())
    assert weights_checksum(backbone) == before
    assert not torch.equal(head.weight, head_before)  # the head did train


def test_freeze_stops_sgd_and_sets_eval_mode():
    net = freeze(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)).train())
    assert not net.training and all(not p.requires_grad for p in net.parameters())


def test_feature_extraction_is_deterministic_and_batch_independent(target):
    backbone = pretrained_backbone()
    images = target[0][:300]
    first = extract_features(backbone, images, batch_size=256)
    assert torch.equal(first, extract_features(backbone, images, batch_size=256))
    assert_close(first, extract_features(backbone, images, batch_size=7))
    with torch.no_grad():
        assert_close(first, backbone(images))  # the oracle: one forward pass


def test_feature_extraction_takes_datasets_and_loaders_and_restores_the_mode(target):
    images, labels = target[0][:40], target[1][:40]
    net = digits_cnn(seed=0).train()
    expected = extract_features(net, images)
    assert net.training  # mode restored
    assert_close(extract_features(net, TensorDataset(images, labels), batch_size=16), expected)
    loader = DataLoader(TensorDataset(images), batch_size=9)
    assert_close(extract_features(net, loader), expected)
    assert expected.shape == (40, 5) and not expected.requires_grad


@pytest.mark.parametrize(
    ("data", "batch_size", "error", "match"),
    [
        (torch.zeros(4, 1, 8, 8), 0, ValueError, "batch_size must be an int >= 1, got 0"),
        (torch.zeros(0, 1, 8, 8), 4, ValueError, "data must have shape"),
        ([1, 2], 4, TypeError, "data must be a tensor, Dataset or DataLoader, got list"),
    ],
)
def test_feature_extraction_rejects_bad_arguments(data, batch_size, error, match):
    with pytest.raises(error, match=match):
        extract_features(digits_cnn(seed=0), data, batch_size)


def test_bad_cut_and_bad_files_are_named(tmp_path):
    with pytest.raises(ValueError, match="cut must be one of"):
        pretrained_backbone("head")
    missing = tmp_path / "nope.pt"
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        pretrained_network(missing)
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a zip file")
    with pytest.raises(ValueError, match="corrupt.pt"):
        pretrained_network(corrupt)
    other = tmp_path / "other.pt"
    torch.save(nn.Linear(2, 2).state_dict(), other)
    with pytest.raises(ValueError, match="other.pt"):
        pretrained_network(other)
    with pytest.raises(FileNotFoundError, match="other.json"):
        load_metadata(other)


def test_digits_cnn_is_seeded_and_leaves_the_global_generator_alone():
    state = torch.get_rng_state()
    a, b, c = digits_cnn(seed=1), digits_cnn(seed=1), digits_cnn(seed=2)
    assert torch.equal(torch.get_rng_state(), state)
    assert weights_checksum(a) == weights_checksum(b) != weights_checksum(c)
    assert a(torch.zeros(3, 1, 8, 8)).shape == (3, 5)
    with pytest.raises(ValueError, match="num_classes must be an int >= 1"):
        digits_cnn(0)


def test_digit_task_and_sampling_per_class():
    images, labels = digit_task(TARGET_CLASSES)
    assert images.shape == (896, 1, 8, 8) and images.min() == 0 and images.max() == 1
    assert torch.bincount(labels).tolist() == [182, 181, 179, 174, 180]  # digits 5..9
    idx = sample_per_class(labels, 3, seed=0)
    assert torch.bincount(labels[idx]).tolist() == [3] * 5
    assert torch.equal(idx, sample_per_class(labels, 3, seed=0))
    assert not torch.equal(idx, sample_per_class(labels, 3, seed=1))
    with pytest.raises(ValueError, match="n must be <= 174"):
        sample_per_class(labels, 175, seed=0)
    with pytest.raises(ValueError, match="classes must be distinct digits"):
        digit_task((1, 1))


def test_pca_2d_agrees_with_sklearn():
    from sklearn.decomposition import PCA

    x = torch.randn(100, 6, generator=torch.Generator().manual_seed(0)) * torch.arange(1, 7)
    projected, explained = pca_2d(x)
    reference = PCA(2).fit(x.numpy())
    assert_close(explained, torch.tensor(reference.explained_variance_ratio_, dtype=torch.float32))
    expected = torch.tensor(reference.transform(x.numpy()), dtype=torch.float32)
    assert_close(projected.abs(), expected.abs(), atol=1e-4, rtol=1e-4)  # up to sign
    assert_close(pca_2d(x[:10], fit_on=x)[0], projected[:10])
    with pytest.raises(ValueError, match="fit_on must have"):
        pca_2d(x, fit_on=x[:, :3])


def test_torchvision_backbone_needs_torchvision_and_cuts_the_classifier(monkeypatch):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # as if not installed
    with pytest.raises(ImportError, match="needs torchvision"):
        torchvision_backbone()
    fake = nn.Module()
    fake.body, fake.fc = nn.Linear(3, 4), nn.Linear(4, 10)
    models = types.SimpleNamespace(get_model=lambda name, weights: fake)
    monkeypatch.setitem(sys.modules, "torchvision", types.SimpleNamespace(models=models))
    backbone = torchvision_backbone("resnet18")
    assert isinstance(backbone.fc, nn.Identity) and not backbone.training
    assert all(not p.requires_grad for p in backbone.parameters())


def test_short_pretraining_writes_loadable_weights_and_a_record(tmp_path):
    out = tmp_path / "w.pt"
    record = main(["--out", str(out), "--epochs", "1", "--seed", "3"])
    assert json.loads(out.with_suffix(".json").read_text()) == record
    assert record["epochs"] == 1 and record["seed"] == 3
    network = pretrained_network(out)
    assert weights_checksum(network) == record["weights_checksum"]
    assert 0.5 < record["source_test_accuracy"] <= 1.0
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        pretrain(out, epochs=0)


def test_the_module_runs_from_the_command_line(tmp_path):
    out = tmp_path / "cli.pt"
    cmd = [sys.executable, "-m", "lecturelib.pretrain", "--out", str(out), "--epochs", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    assert "source test accuracy" in done.stdout and out.is_file()


def test_full_pretraining_reproduces_the_shipped_weights(tmp_path):
    meta = load_metadata()
    with torch.random.fork_rng():
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            record = pretrain(tmp_path / "again.pt", epochs=meta["epochs"], seed=meta["seed"])
        finally:
            torch.set_num_threads(threads)
    assert abs(record["source_test_accuracy"] - meta["source_test_accuracy"]) <= 0.01
    assert record["weights_checksum"] == meta["weights_checksum"]  # bit for bit, here
