"""The training loop: curves, batching, modes, seeds, early stopping, clipping, errors."""

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.testing import assert_close
from torch.utils.data import DataLoader, TensorDataset

import lecturelib
from lecturelib.fitting import accuracy, label_learning_curves, train_test_split
from lecturelib.nets import mlp
from lecturelib.training import EarlyStopping, GradientClipping, History, fit

CE = nn.CrossEntropyLoss()


def blobs(n, seed):
    """Two well separated Gaussian blobs in 2-D, labels 0 and 1 alternating."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 2
    return torch.randn(n, 2, generator=g) * 0.5 + (4.0 * y[:, None] - 2.0), y


def classifier(seed):
    return mlp(2, 2, depth=1, width=8, activation="tanh", init="glorot", seed=seed)


def dropout_net(seed):
    with torch.random.fork_rng():  # leave the global generator alone
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))


def sgd(model, lr=0.5):
    return torch.optim.SGD(model.parameters(), lr=lr)


def run(model, seed=0, **kwargs):
    """Train on blobs with validation blobs; kwargs override fit's arguments."""
    args = {
        "epochs": 5,
        "optimizer": sgd(model),
        "loss_fn": CE,
        "batch_size": 16,
        "metrics": {"accuracy": accuracy},
        "seed": seed,
    }
    return fit(model, blobs(64, 0), blobs(32, 1), **(args | kwargs))


def state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# -- learning ---------------------------------------------------------------------------
def test_loss_goes_down_on_separable_blobs():
    model = classifier(0)
    history = run(model, epochs=20)
    assert isinstance(history, History)
    assert set(history.curves) == {"train_loss", "val_loss", "train_accuracy", "val_accuracy"}
    assert all(len(curve) == 20 for curve in history.curves.values())
    assert history.train_loss is history["train_loss"] and history.val_loss is history["val_loss"]
    assert history.train_loss[-1] < history.train_loss[0] / 4
    assert history["train_accuracy"][-1] == history["val_accuracy"][-1] == 1.0
    assert history.best_epoch == int(np.argmin(history.val_loss)) + 1
    assert history.stopped_epoch is None
    assert not model.training  # left in eval mode, ready to predict


def test_without_validation_data_only_training_curves():
    model = classifier(0)
    history = fit(model, blobs(64, 0), epochs=3, optimizer=sgd(model), loss_fn=CE)
    assert list(history.curves) == ["train_loss"] and history.val_loss == []
    assert history.best_epoch == int(np.argmin(history.train_loss)) + 1


def test_a_big_network_on_few_digits_overfits():
    # The chapter's experiment in small: 100 training digits, a 64-64-64-10 network
    # (about 9,000 weights).
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y)
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_fraction=0.3, seed=0)
    model = mlp(64, 10, depth=2, width=64, seed=0)
    history = fit(
        model,
        (X_train[:100], y_train[:100]),
        (X_val[:200], y_val[:200]),
        epochs=40,
        optimizer=torch.optim.Adam(model.parameters(), lr=5e-3),
        loss_fn=CE,
        batch_size=None,
        metrics={"accuracy": accuracy},
        seed=0,
    )
    assert history["train_accuracy"][-1] == 1.0 and history["val_accuracy"][-1] < 0.9
    curves = history.train_loss, history.val_loss
    assert label_learning_curves(*curves, baseline=math.log(10)) == "overfit"


# -- batching and averaging ----------------------------------------------------------------
class InputRecorder(nn.Module):
    """A linear model that remembers the first feature of each batch it sees."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.seen = {True: [], False: []}  # by training mode

    def forward(self, x):
        self.seen[self.training].append(x[:, 0].clone())
        return self.linear(x)


def test_each_epoch_visits_every_example_once_in_a_new_order():
    model = InputRecorder()
    X, y = torch.arange(10.0)[:, None], torch.zeros(10, 1)
    fit(
        model,
        (X, y),
        (X, y),
        epochs=2,
        optimizer=sgd(model, 0.0),
        loss_fn=nn.MSELoss(),
        batch_size=3,
        seed=0,
    )
    train, val = model.seen[True], model.seen[False]
    assert [len(b) for b in train] == [3, 3, 3, 1] * 2  # ceil(10 / 3) batches per epoch
    first, second = torch.cat(train[:4]), torch.cat(train[4:])
    assert torch.equal(first.sort().values, X[:, 0]) and torch.equal(second.sort().values, X[:, 0])
    assert not torch.equal(first, X[:, 0]) and not torch.equal(first, second)  # shuffled
    assert torch.equal(torch.cat(val[:4]), X[:, 0])  # validation: in order


@pytest.mark.parametrize(("batch_size", "steps"), [(None, 1), (64, 1), (16, 4), (10, 7)])
def test_one_step_per_mini_batch(batch_size, steps):
    class CountSteps:
        count = 0

        def on_after_backward(self, model):
            self.count += 1

    counter = CountSteps()
    run(classifier(0), epochs=3, batch_size=batch_size, callbacks=[counter])
    assert counter.count == 3 * steps


def test_losses_and_metrics_are_means_over_examples():
    # With lr = 0 the weights stay put, so every epoch's numbers are those of the fixed
    # model on the whole set, whatever the (uneven) batches.
    model = nn.Linear(3, 1)
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(10, 3, generator=g), torch.randn(10, 1, generator=g)
    Xv, yv = torch.randn(7, 3, generator=g), torch.randn(7, 1, generator=g)
    mae = {"mae": lambda out, target: (out - target).abs().mean()}
    history = fit(
        model,
        (X, y),
        (Xv, yv),
        epochs=2,
        optimizer=sgd(model, 0.0),
        loss_fn=nn.MSELoss(),
        batch_size=4,
        metrics=mae,
    )
    with torch.no_grad():
        for part, (inputs, targets) in {"train": (X, y), "val": (Xv, yv)}.items():
            loss = nn.functional.mse_loss(model(inputs), targets).item()
            assert_close(history[f"{part}_loss"][1], loss)
            assert_close(history[f"{part}_mae"][0], (model(inputs) - targets).abs().mean().item())


# -- modes ---------------------------------------------------------------------------------
def test_training_mode_while_training_eval_mode_while_validating():
    model = InputRecorder()
    X, y = torch.arange(8.0)[:, None], torch.zeros(8, 1)
    fit(
        model,
        (X, y),
        (X[:4], y[:4]),
        epochs=3,
        optimizer=sgd(model, 0.01),
        loss_fn=nn.MSELoss(),
        batch_size=4,
    )
    assert len(model.seen[True]) == 3 * 2  # two training batches per epoch, in train mode
    assert len(model.seen[False]) == 3  # one validation batch per epoch, in eval mode
    assert not model.training


def test_dropout_is_on_in_training_and_off_in_validation():
    model = dropout_net(0)
    X, y = blobs(64, 0)
    history = fit(
        model,
        (X, y),
        (X, y),
        epochs=1,
        optimizer=sgd(model, 0.0),
        loss_fn=CE,
        batch_size=None,
        seed=0,
    )
    with torch.no_grad():
        eval_loss = CE(model.eval()(X), y).item()
    assert_close(history.val_loss[0], eval_loss)  # same data, same weights, no dropout
    assert abs(history.train_loss[0] - eval_loss) > 1e-3  # the training pass used dropout


# -- seeds ---------------------------------------------------------------------------------
def test_same_seed_same_run_even_with_dropout():
    a, b = dropout_net(0), dropout_net(0)
    history_a, history_b = run(a, seed=7), run(b, seed=7)
    assert history_a.curves == history_b.curves  # identical numbers, not just close
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_different_seed_different_run():
    assert run(dropout_net(0), seed=1).curves != run(dropout_net(0), seed=2).curves
    assert run(classifier(0), seed=1).curves != run(classifier(0), seed=2).curves


def test_a_seed_leaves_the_global_generator_alone_and_none_uses_it():
    before = torch.get_rng_state()
    run(dropout_net(0), seed=3)
    assert torch.equal(torch.get_rng_state(), before)
    torch.manual_seed(11)
    first = run(dropout_net(0), seed=None).curves
    torch.manual_seed(11)
    assert run(dropout_net(0), seed=None).curves == first


# -- early stopping ------------------------------------------------------------------------
class StateRecorder:
    """A callback keeping a copy of the weights after every epoch."""

    def __init__(self):
        self.states = {}

    def on_epoch_end(self, epoch, history, model):
        self.states[epoch] = state(model)


def turning_problem():
    """Fit w in y = w x to targets y = x, validate on y = x / 2. With x = 1 and lr 0.05,
    gradient descent from w = 0 gives w_t = 1 - 0.9^t, which passes 1/2 between epochs 6
    (0.469) and 7 (0.522): the validation loss falls to epoch 7, then rises."""
    model = nn.Linear(1, 1, bias=False)
    nn.init.zeros_(model.weight)
    x = torch.ones(8, 1)
    return model, (x, x.clone()), (x, x / 2)


def stop_early(epochs, **kwargs):
    model, train, val = turning_problem()
    recorder = StateRecorder()
    history = fit(
        model,
        train,
        val,
        epochs=epochs,
        optimizer=sgd(model, 0.05),
        loss_fn=nn.MSELoss(),
        batch_size=None,
        callbacks=[recorder, EarlyStopping(3, **kwargs)],
    )
    return model, history, recorder.states


def test_early_stopping_stops_after_patience_and_restores_the_best_weights():
    model, history, states = stop_early(50)
    best = int(np.argmin(history.val_loss)) + 1
    assert best == 7 and history.best_epoch == best
    assert history.stopped_epoch == best + 3 == len(history.val_loss) == len(history.train_loss)
    assert_close(state(model), states[best], rtol=0, atol=0)
    assert not torch.equal(model.weight, states[history.stopped_epoch]["weight"])


def test_early_stopping_without_restoring_keeps_the_last_weights():
    model, history, states = stop_early(50, restore_best=False)
    assert history.best_epoch == 7 and history.stopped_epoch == 10
    assert_close(state(model), states[10], rtol=0, atol=0)


def test_early_stopping_restores_even_when_the_epochs_run_out_first():
    model, history, states = stop_early(9)  # best 7, patience 3: would stop after 10
    assert history.stopped_epoch is None and len(history.val_loss) == 9
    assert history.best_epoch == 7
    assert_close(state(model), states[7], rtol=0, atol=0)


def feed(stopper, values, monitor):
    """Call the callback by hand on a made-up curve; its answers until it stops."""
    model, history = nn.Linear(1, 1), History(curves={monitor: []})
    stopper.on_fit_start(model, history)
    answers = []
    for epoch, value in enumerate(values, start=1):
        history.curves[monitor].append(value)
        answers.append(stopper.on_epoch_end(epoch, history, model))
        if answers[-1]:
            break
    return answers, history


def test_early_stopping_maximises_accuracy():
    stopper = EarlyStopping(2, monitor="val_accuracy")
    answers, history = feed(stopper, [0.5, 0.7, 0.7, 0.69, 0.9], "val_accuracy")
    assert answers == [False, False, False, True]  # 0.7 again is no improvement
    assert stopper.best_epoch == history.best_epoch == 2 and stopper.best_value == 0.7


def test_early_stopping_min_delta_and_nan():
    stopper = EarlyStopping(2, min_delta=0.1)
    answers, history = feed(stopper, [1.0, 0.95, 0.92, 0.5], "val_loss")
    assert answers == [False, False, True] and history.best_epoch == 1  # < 0.1 better
    answers, history = feed(EarlyStopping(2), [math.nan, 1.0, math.nan, 0.9], "val_loss")
    assert answers == [False, False, False, False] and history.best_epoch == 4


@pytest.mark.parametrize("monitor", ["val_los", "val_accuracy", "loss"])
def test_early_stopping_rejects_an_unknown_monitor_before_training(monitor):
    model = classifier(0)
    before = state(model)
    with pytest.raises(ValueError, match=f"monitor must be one of .*got '{monitor}'"):
        run(model, metrics=None, callbacks=[EarlyStopping(2, monitor=monitor)])
    assert_close(state(model), before, rtol=0, atol=0)  # no training happened


def test_early_stopping_on_val_loss_needs_validation_data():
    model = classifier(0)
    with pytest.raises(ValueError, match="monitor must be one of \\['train_loss'\\]"):
        fit(
            model,
            blobs(8, 0),
            epochs=2,
            optimizer=sgd(model),
            loss_fn=CE,
            callbacks=[EarlyStopping(1)],
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"patience": 0}, "patience must be"),
        ({"patience": 1.5}, "patience must be"),
        ({"patience": 2, "min_delta": -0.1}, "min_delta must be"),
    ],
)
def test_early_stopping_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EarlyStopping(**kwargs)


# -- gradient clipping ---------------------------------------------------------------------
class RecordingSGD(torch.optim.SGD):
    """SGD that records the gradient it is about to use: total norm and largest entry."""

    def __init__(self, params, lr):
        super().__init__(params, lr=lr)
        self.norms, self.largest = [], []

    @torch.no_grad()
    def step(self, closure=None):
        grads = [p.grad for group in self.param_groups for p in group["params"]]
        self.norms.append(torch.linalg.vector_norm(torch.cat([g.flatten() for g in grads])).item())
        self.largest.append(max(g.abs().max().item() for g in grads))
        return super().step(closure)


def clipped_run(callbacks):
    model = mlp(3, 1, depth=2, width=8, activation="tanh", init="glorot", seed=0)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(32, 3, generator=g)
    y = 100 * X.sum(1, keepdim=True)  # large targets: large gradients
    opt = RecordingSGD(model.parameters(), lr=1e-3)
    fit(
        model,
        (X, y),
        epochs=3,
        optimizer=opt,
        loss_fn=nn.MSELoss(),
        batch_size=8,
        callbacks=callbacks,
        seed=0,
    )
    return model, opt


def test_unclipped_gradients_are_large():  # so that the tests below mean something
    _, opt = clipped_run([])
    assert min(opt.norms) > 10 and min(opt.largest) > 1


def test_clipping_by_norm_bounds_the_step_the_optimizer_takes():
    _, opt = clipped_run([GradientClipping(max_norm=1.0)])
    assert len(opt.norms) == 12 and max(opt.norms) <= 1.0 + 1e-5
    assert min(opt.norms) > 0.99  # every step was clipped, keeping its length at 1


def test_clipping_by_value_bounds_every_entry():
    _, opt = clipped_run([GradientClipping(clip_value=0.01)])
    assert max(opt.largest) <= 0.01


def test_clipping_by_both_satisfies_both_bounds():
    _, opt = clipped_run([GradientClipping(max_norm=0.02, clip_value=0.01)])
    assert max(opt.norms) <= 0.02 + 1e-7 and max(opt.largest) <= 0.01


def test_clipping_matches_torch_clip_grad_norm():
    class TorchClipping:
        def on_after_backward(self, model):
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)

    ours, _ = clipped_run([GradientClipping(max_norm=1.0)])
    theirs, _ = clipped_run([TorchClipping()])
    assert_close(state(ours), state(theirs))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({}, "needs max_norm or clip_value"),
        ({"max_norm": 0.0}, "max_norm must be > 0"),
        ({"clip_value": -1.0}, "clip_value must be > 0"),
    ],
)
def test_clipping_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GradientClipping(**kwargs)


# -- callbacks, data forms, device, progress -----------------------------------------------
def test_hooks_are_called_in_order_and_any_object_works():
    class Log:
        def __init__(self):
            self.calls = []

        def on_fit_start(self, model, history):
            self.calls.append(("start", list(history.curves)))

        def on_after_backward(self, model):
            self.calls.append("backward")

        def on_epoch_end(self, epoch, history, model):
            self.calls.append(("epoch", epoch, len(history.train_loss)))
            return epoch == 2  # stop after the second epoch

        def on_fit_end(self, model, history):
            self.calls.append("end")

    class OnlyEnd:
        ended = False

        def on_fit_end(self, model, history):
            self.ended = True

    log, only_end = Log(), OnlyEnd()
    history = run(classifier(0), epochs=5, batch_size=32, metrics=None, callbacks=[log, only_end])
    assert log.calls == [
        ("start", ["train_loss", "val_loss"]),
        *["backward", "backward", ("epoch", 1, 1)],
        *["backward", "backward", ("epoch", 2, 2)],
        "end",
    ]
    assert history.stopped_epoch == 2 and only_end.ended


def test_datasets_and_data_loaders_work_like_tensor_pairs():
    X, y = blobs(64, 0)
    model = classifier(0)
    history = fit(
        model,
        TensorDataset(X, y),
        DataLoader(TensorDataset(*blobs(32, 1)), 8),
        epochs=10,
        optimizer=sgd(model),
        loss_fn=CE,
        batch_size=16,
        metrics={"accuracy": accuracy},
        seed=0,
    )
    assert len(history.val_loss) == 10 and history["val_accuracy"][-1] == 1.0
    again = classifier(0)
    repeat = fit(
        again,
        TensorDataset(X, y),
        DataLoader(TensorDataset(*blobs(32, 1)), 8),
        epochs=10,
        optimizer=sgd(again),
        loss_fn=CE,
        batch_size=16,
        metrics={"accuracy": accuracy},
        seed=0,
    )
    assert repeat.curves == history.curves


def test_default_device_comes_from_lecturelib(monkeypatch):
    calls = []

    def cpu():
        calls.append(1)
        return torch.device("cpu")

    monkeypatch.setattr(lecturelib, "device", cpu)
    model = classifier(0)
    run(model, epochs=1)
    assert calls and next(model.parameters()).device == torch.device("cpu")
    calls.clear()
    run(classifier(0), epochs=1, device="cpu")
    assert not calls


def test_progress_bar_shows_the_epochs_and_latest_numbers_and_can_be_turned_off(capsys):
    run(classifier(0), epochs=5, progress=True, metrics=None)
    err = capsys.readouterr().err
    assert "epochs: 100%" in err and "5/5" in err and "train_loss=" in err and "val_loss=" in err
    run(classifier(0), epochs=2)
    assert capsys.readouterr() == ("", "")


# -- bad input -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"epochs": 0}, ValueError, "epochs must be an int >= 1, got 0"),
        ({"epochs": 2.5}, ValueError, "epochs must be"),
        ({"batch_size": 0}, ValueError, "batch_size must be"),
        ({"progress": 2}, ValueError, "progress must be True or False, got 2"),
        (
            {"train": (torch.zeros(0, 2), torch.zeros(0, dtype=torch.long))},
            ValueError,
            "train must not be empty",
        ),
        (
            {"train": (torch.zeros(5, 2), torch.zeros(4, dtype=torch.long))},
            ValueError,
            "train must be an \\(X, y\\) pair of equal lengths",
        ),
        (
            {"val": (torch.zeros(5, 2), torch.zeros(4, dtype=torch.long))},
            ValueError,
            "val must be an \\(X, y\\) pair",
        ),
        ({"train": (torch.zeros(5, 2),) * 3}, ValueError, "train must be an \\(X, y\\) pair"),
        ({"train": (np.zeros((5, 2)), np.zeros(5))}, TypeError, "train must be an \\(X, y\\)"),
        ({"val": TensorDataset(torch.zeros(0, 2))}, ValueError, "val must not be empty"),
        ({"optimizer": sgd(classifier(1))}, ValueError, "optimizer must be an Optimizer"),
        ({"optimizer": lambda params: sgd(params)}, ValueError, "optimizer must be"),
    ],
)
def test_fit_rejects_bad_input(change, error, match):
    model = classifier(0)
    args = {
        "train": blobs(8, 0),
        "val": blobs(4, 1),
        "epochs": 2,
        "optimizer": sgd(model),
        "loss_fn": CE,
    }
    args |= change
    with pytest.raises(error, match=match):
        fit(model, args.pop("train"), args.pop("val"), **args)
