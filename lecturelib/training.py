r"""A small training loop that records learning curves, with early stopping and clipping.

Each epoch of :func:`fit`: 1. ``model.train()``, then per shuffled mini-batch: forward,
loss, backward, the callbacks' ``on_after_backward(model)``, ``optimizer.step()``;
2. ``model.eval()``, validation loss and metrics; 3. the callbacks' ``on_epoch_end(epoch,
history, model)``, True to stop. A callback is any object with some of these hooks, or
``on_fit_start``/``on_fit_end(model, history)``. Early stopping: Prechelt (1998), "Early
stopping — but when?", *Neural Networks: Tricks of the Trade*.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

import lecturelib
from lecturelib.clipping import clip_by_norm_, clip_by_value_

__all__ = ["EarlyStopping", "GradientClipping", "History", "fit"]

Data = tuple[torch.Tensor, torch.Tensor] | Dataset | DataLoader
Batches = Callable[[], Iterator[tuple[torch.Tensor, torch.Tensor]]]


@dataclass
class History:
    """The learning curves of a :func:`fit` run, one value per epoch (epochs 1, 2, ...).

    Attributes:
        curves: name -> values (``history[name]`` for short). ``"train_loss"``: mean loss
            over the epoch's mini-batches, in training mode while the weights change (with
            dropout, above the final weights' loss); ``"val_loss"`` (with validation data):
            the loss after the epoch, in eval mode; ``"train_<m>"``, ``"val_<m>"``, alike.
        best_epoch: the epoch of lowest ``val_loss`` (``train_loss`` without validation
            data); with :class:`EarlyStopping`, its best epoch, whose weights it restored.
        stopped_epoch: the epoch after which a callback stopped training, else None.
    """

    curves: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int | None = None
    stopped_epoch: int | None = None

    def __getitem__(self, name: str) -> list[float]:
        return self.curves[name]

    @property
    def train_loss(self) -> list[float]:
        """Mean training loss per epoch."""
        return self.curves.get("train_loss", [])

    @property
    def val_loss(self) -> list[float]:
        """Validation loss per epoch (empty without validation data)."""
        return self.curves.get("val_loss", [])


class EarlyStopping:
    r"""Stop when the monitored curve has not improved for ``patience`` epochs.

    Epoch :math:`t` improves when :math:`v_t < v_\text{best} - \delta` (``min_delta``), or
    :math:`v_t > v_\text{best} + \delta` for a curve named ``"...accuracy"``; NaN never
    does. Training stops after epoch ``best_epoch + patience``. With ``restore_best`` the
    weights are copied at each improvement and loaded back when training ends.

    Args:
        patience: epochs without improvement to wait, >= 1.
        monitor: the curve to watch: ``"val_loss"``, ``"val_accuracy"``, ...
        min_delta: the smallest change that counts as an improvement, >= 0.
        restore_best: load the best epoch's weights back at the end.
    """

    def __init__(
        self,
        patience: int,
        *,
        monitor: str = "val_loss",
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f"patience must be an int >= 1, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta}")
        self.patience, self.monitor, self.min_delta = patience, monitor, float(min_delta)
        self.restore_best, self.sign = restore_best, -1 if monitor.endswith("accuracy") else 1
        self.on_fit_start(None, History(curves={monitor: []}))

    def on_fit_start(self, model: nn.Module | None, history: History) -> None:
        """Check that ``monitor`` will be recorded; forget any earlier run."""
        if self.monitor not in history.curves:
            curves = list(history.curves)
            raise ValueError(f"monitor must be one of {curves}, got {self.monitor!r}")
        self.best_epoch, self.best_value, self.wait, self._best_state = None, None, 0, None

    def on_epoch_end(self, epoch: int, history: History, model: nn.Module) -> bool:
        """Record an improvement (copying the weights) or count one more epoch without."""
        value = history[self.monitor][-1]
        better = self.best_value is None or self.sign * (value - self.best_value) < -self.min_delta
        if math.isfinite(value) and better:
            self.best_epoch, self.best_value, self.wait = epoch, value, 0
            if self.restore_best:
                self._best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        else:
            self.wait += 1
        history.best_epoch = self.best_epoch
        return self.wait >= self.patience

    def on_fit_end(self, model: nn.Module, history: History) -> None:
        """Load the best epoch's weights back (with ``restore_best``)."""
        if self.restore_best and self._best_state is not None:
            model.load_state_dict(self._best_state)


class GradientClipping:
    """Clip the gradients after each backward pass, before the optimizer step.

    By value with :func:`lecturelib.clipping.clip_by_value_` (each :math:`g_i` into
    ``[-clip_value, clip_value]``) and/or by norm with
    :func:`lecturelib.clipping.clip_by_norm_` (total Euclidean norm at most ``max_norm``);
    with both, by value first: the step then satisfies both bounds.
    """

    def __init__(self, max_norm: float | None = None, clip_value: float | None = None) -> None:
        if max_norm is None and clip_value is None:
            raise ValueError("GradientClipping needs max_norm or clip_value, got neither")
        for name, value in (("max_norm", max_norm), ("clip_value", clip_value)):
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be > 0 or None, got {value}")
        self.max_norm, self.clip_value = max_norm, clip_value

    def on_after_backward(self, model: nn.Module) -> None:
        """Clip the model's gradients in place."""
        params = list(model.parameters())  # those without a gradient are skipped
        if self.clip_value is not None:
            clip_by_value_(params, self.clip_value)
        if self.max_norm is not None:
            clip_by_norm_(params, self.max_norm)


def _batches(data: Data, name: str, batch_size: int | None, shuffle: bool, device: torch.device):
    """A function yielding one pass of ``(x, y)`` batches on ``device``, in a random order
    drawn from PyTorch's global generator with ``shuffle`` (an (X, y) pair moves once)."""
    if isinstance(data, (tuple, list)) and all(isinstance(t, torch.Tensor) for t in data):
        if len(data) != 2 or min(t.ndim for t in data) == 0 or len(data[0]) != len(data[1]):
            shapes = [tuple(t.shape) for t in data]
            raise ValueError(f"{name} must be an (X, y) pair of equal lengths, got {shapes}")
        n = len(data[0])
    elif isinstance(data, (Dataset, DataLoader)):
        n = len(data.dataset if isinstance(data, DataLoader) else data)
    else:
        kind = type(data).__name__
        raise TypeError(f"{name} must be an (X, y) pair of tensors or a Dataset, got {kind}")
    if n == 0:
        raise ValueError(f"{name} must not be empty, got 0 examples")
    batch_size = batch_size or n
    if isinstance(data, (tuple, list)):
        X, y = (t.to(device) for t in data)

        def pairs() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            order = torch.randperm(n) if shuffle else torch.arange(n)
            return ((X[i], y[i]) for i in order.to(device).split(batch_size))

        return pairs
    if not isinstance(data, DataLoader):
        data = DataLoader(data, batch_size, shuffle=shuffle)
    return lambda: ((x.to(device), y.to(device)) for x, y in data)


def _check(model: nn.Module, epochs: object, optimizer: object, batch_size: object) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be an int >= 1 or None, got {batch_size!r}")
    own = {id(p) for p in model.parameters()}
    if not isinstance(optimizer, torch.optim.Optimizer) or any(
        id(p) not in own for group in optimizer.param_groups for p in group["params"]
    ):
        kind = type(optimizer).__name__
        raise ValueError(f"optimizer must be an Optimizer on model.parameters(), got {kind}")


def _call(callbacks: list[object], hook: str, *args: object) -> list[object]:
    return [getattr(cb, hook)(*args) for cb in callbacks if hasattr(cb, hook)]


def _run_epoch(
    part: str,
    batches: Batches,
    step: Callable | None,
    model: nn.Module,
    loss_fn: Callable,
    metrics: dict,
) -> dict[str, float]:
    """``part_loss`` and ``part_<metric>`` over one pass, batches weighted by their sizes.
    With a ``step(loss)`` (backward and update) the model trains, else it is evaluated."""
    model.train(step is not None)  # dropout and batch statistics only while training
    total, sums, n = 0.0, dict.fromkeys(metrics, 0.0), 0
    for x, y in batches():
        with torch.set_grad_enabled(step is not None):
            out = model(x)
            loss = loss_fn(out, y)
        if step is not None:
            step(loss)
        total = total + loss.detach() * len(x)  # a tensor: no device sync per batch
        for name, metric in metrics.items():
            sums[name] += float(metric(out.detach(), y)) * len(x)
        n += len(x)
    return {f"{part}_loss": float(total) / n} | {f"{part}_{k}": s / n for k, s in sums.items()}


def fit(
    model: nn.Module,
    train: Data,
    val: Data | None = None,
    *,
    epochs: int,
    optimizer: torch.optim.Optimizer,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    batch_size: int | None = 32,
    callbacks: Iterable[object] = (),
    metrics: Mapping[str, Callable] | None = None,
    seed: int | None = None,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> History:
    r"""Train ``model`` by mini-batch gradient descent, recording its learning curves.

    Each epoch takes one ``optimizer.step()`` on :math:`\frac1{|B|}\sum_{i\in B}
    L(f_\theta(x_i), y_i)` per random mini-batch :math:`B` of the training set, then
    measures ``val`` in eval mode. The model ends in eval mode, on ``device``.

    Args:
        model: the network, moved to ``device``.
        train, val: ``(X, y)`` tensor pairs, or ``Dataset``\ s or ``DataLoader``\ s of
            ``(x, y)`` (a ``DataLoader`` is used as it is: own batches and order).
        epochs: passes over ``train``, >= 1 (fewer if a callback stops training).
        optimizer: an instance built on ``model.parameters()``, e.g.
            ``torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=1e-3)``.
        loss_fn: ``loss_fn(output, y)``, the batch mean, e.g. ``nn.CrossEntropyLoss()``.
        batch_size: examples per mini-batch; None for the whole set (full-batch descent).
        callbacks: e.g. :class:`EarlyStopping`, :class:`GradientClipping` (see the module).
        metrics: name -> ``metric(output, y)``, a number, e.g. ``{"accuracy":
            lecturelib.fitting.accuracy}``; recorded as ``"train_<name>"``, ``"val_<name>"``.
        seed: seeds all randomness during training (shuffling, dropout) without changing
            PyTorch's global generator: equal seeds, equal initial weights and a fresh
            optimizer give identical runs. None: the global generator is used as it is.
        device: where to train; default :func:`lecturelib.device`.
        progress: show a tqdm progress bar over the epochs, with the latest numbers.

    Example:
        >>> fit(net, (X, y), (Xv, yv), epochs=50, optimizer=torch.optim.SGD(net.parameters(),
        ...     lr=0.1), loss_fn=nn.CrossEntropyLoss(), callbacks=[EarlyStopping(5)])
    """
    _check(model, epochs, optimizer, batch_size)
    if not isinstance(progress, bool):
        raise ValueError(f"progress must be True or False, got {progress!r}")
    metrics, callbacks = dict(metrics or {}), list(callbacks)
    device = torch.device(device) if device is not None else lecturelib.device()
    train_batches = _batches(train, "train", batch_size, True, device)
    val_batches = None if val is None else _batches(val, "val", batch_size, False, device)
    model.to(device)

    def step(loss: torch.Tensor) -> None:
        optimizer.zero_grad()
        loss.backward()
        _call(callbacks, "on_after_backward", model)
        optimizer.step()

    parts = ("train",) if val is None else ("train", "val")
    history = History(curves={f"{p}_{m}": [] for p in parts for m in ("loss", *metrics)})
    _call(callbacks, "on_fit_start", model, history)
    best = math.inf
    bar = tqdm(total=epochs, desc="epochs", unit="epoch", disable=not progress)
    with bar, torch.random.fork_rng(range(torch.cuda.device_count()), enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)  # inside fork_rng: the global state is restored after
        for epoch in range(1, epochs + 1):
            numbers = _run_epoch("train", train_batches, step, model, loss_fn, metrics)  # 1.
            if val_batches is not None:  # 2.
                numbers |= _run_epoch("val", val_batches, None, model, loss_fn, metrics)
            for name, value in numbers.items():
                history.curves[name].append(value)
            if (watched := numbers.get("val_loss", numbers["train_loss"])) < best:
                best, history.best_epoch = watched, epoch
            stop = any(_call(callbacks, "on_epoch_end", epoch, history, model))  # 3.
            bar.set_postfix({k: f"{v[-1]:.4g}" for k, v in history.curves.items()}, refresh=False)
            bar.update()
            if stop:
                history.stopped_epoch = epoch
                break
    _call(callbacks, "on_fit_end", model, history)
    model.eval()
    return history
