"""Optimizers: ours against torch.optim step by step, state dicts, validation, landscapes."""

import copy
import inspect
import io
import re
import warnings

import numpy as np
import pytest
import torch

from lecturelib.descent import gradient_descent
from lecturelib.landscapes import IllConditionedBowl, Parabola, Rosenbrock
from lecturelib.optim import (
    OPTIMIZERS,
    SGD,
    TORCH_OPTIMIZERS,
    AdaGrad,
    Adam,
    RMSProp,
    run_on_landscape,
)

PAIRS = {  # ours -> torch's
    SGD: torch.optim.SGD,
    AdaGrad: torch.optim.Adagrad,
    RMSProp: torch.optim.RMSprop,
    Adam: torch.optim.Adam,
}


@pytest.fixture(autouse=True)
def _warnings_are_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow or deprecation warning may escape
        yield


def twin_models(seed=0):
    """Two identical 2-layer MLPs, (B, 4) -> (B, 3), and a fixed regression batch."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    x, y = torch.randn(16, 4), torch.randn(16, 3)
    return model, copy.deepcopy(model), (x, y)


def by_layer(model, first, second):
    """Two parameter groups, one per linear layer, with their own settings."""
    return [{"params": model[0].parameters(), **first}, {"params": model[2].parameters(), **second}]


def train_step(model, opt, data):
    x, y = data
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    return loss


def assert_same_parameters(a, b):
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q)


CASES = [
    (SGD, {}),
    (SGD, {"lr": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.9}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "dampening": 0.5}),
    (SGD, {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    (SGD, {"lr": 0.1, "weight_decay": 0.1}),
    (SGD, {"lr": 0.05, "momentum": 0.5, "nesterov": True, "weight_decay": 0.01}),
    (AdaGrad, {}),
    (AdaGrad, {"lr": 0.1, "lr_decay": 0.05}),
    (AdaGrad, {"initial_accumulator_value": 0.1}),
    (AdaGrad, {"weight_decay": 0.1, "eps": 1e-6}),
    (AdaGrad, {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 1}),
    (RMSProp, {}),
    (RMSProp, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-6}),
    (RMSProp, {"lr": 1e-3, "centered": True}),
    (RMSProp, {"lr": 1e-3, "momentum": 0.9}),
    (RMSProp, {"lr": 1e-3, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    (Adam, {}),
    (Adam, {"lr": 1e-2}),
    (Adam, {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6}),
    (Adam, {"lr": 1e-2, "amsgrad": True}),
    (Adam, {"lr": 1e-2, "weight_decay": 0.1}),
    (Adam, {"lr": 1e-2, "betas": (0.0, 0.5), "amsgrad": True, "weight_decay": 0.01}),
]
GROUP_CASES = [  # (optimizer, first layer's group, second layer's group, shared settings)
    (SGD, {"lr": 0.1}, {"lr": 0.01, "momentum": 0.9}, {}),
    (AdaGrad, {"lr": 0.1}, {"lr": 0.01, "lr_decay": 0.1}, {}),
    (RMSProp, {"lr": 1e-2}, {"lr": 1e-3, "centered": True}, {"momentum": 0.5}),
    (Adam, {"lr": 1e-2, "amsgrad": True}, {"lr": 1e-3}, {"weight_decay": 0.01}),
]


def case_id(case):
    return f"{case[0].__name__}-" + ",".join(f"{k}={v}" for k, v in case[1].items())


@pytest.mark.parametrize(("ours", "hyper"), CASES, ids=[case_id(c) for c in CASES])
def test_every_step_matches_torch(ours, hyper):
    model, twin, data = twin_models()
    opt, reference = ours(model.parameters(), **hyper), PAIRS[ours](twin.parameters(), **hyper)
    for _ in range(100):
        torch.testing.assert_close(train_step(model, opt, data), train_step(twin, reference, data))
        assert_same_parameters(model, twin)


@pytest.mark.parametrize(
    ("ours", "first", "second", "shared"), GROUP_CASES, ids=[c[0].__name__ for c in GROUP_CASES]
)
def test_param_groups_with_their_own_lr_match_torch(ours, first, second, shared):
    model, twin, data = twin_models(seed=1)
    opt = ours(by_layer(model, first, second), **shared)
    reference = PAIRS[ours](by_layer(twin, first, second), **shared)
    assert [g["lr"] for g in opt.param_groups] == [first["lr"], second["lr"]]
    for _ in range(100):
        train_step(model, opt, data)
        train_step(twin, reference, data)
        assert_same_parameters(model, twin)


FULL_STATE = {  # settings that create every buffer torch keeps
    SGD: {"lr": 0.05, "momentum": 0.9},
    AdaGrad: {"lr": 0.05, "lr_decay": 0.01},
    RMSProp: {"lr": 1e-3, "momentum": 0.5, "centered": True},
    Adam: {"lr": 1e-2, "amsgrad": True},
}


def saved(opt):
    """The state dict after a trip through a file, as a checkpoint would carry it."""
    buffer = io.BytesIO()
    torch.save(opt.state_dict(), buffer)
    buffer.seek(0)
    return torch.load(buffer)


@pytest.mark.parametrize("ours", list(PAIRS), ids=lambda c: c.__name__)
def test_state_dict_has_torchs_layout(ours):
    model, twin, data = twin_models()
    opt = ours(model.parameters(), **FULL_STATE[ours])
    reference = PAIRS[ours](twin.parameters(), **FULL_STATE[ours])
    for _ in range(5):
        train_step(model, opt, data)
        train_step(twin, reference, data)
    mine, theirs = opt.state_dict(), reference.state_dict()
    assert mine["state"].keys() == theirs["state"].keys()
    for i, state in mine["state"].items():
        assert state.keys() == theirs["state"][i].keys()
        for key, value in state.items():
            torch.testing.assert_close(value, theirs["state"][i][key])  # dtypes too
    for group, their_group in zip(mine["param_groups"], theirs["param_groups"], strict=True):
        assert group.items() <= their_group.items()  # torch keeps extra (production) flags


@pytest.mark.parametrize("direction", ["ours->ours", "ours->torch", "torch->ours"])
@pytest.mark.parametrize("ours", list(PAIRS), ids=lambda c: c.__name__)
def test_state_dict_round_trip_mid_run_continues_identically(ours, direction):
    source, destination = direction.split("->")
    classes = {"ours": ours, "torch": PAIRS[ours]}
    model, _, data = twin_models()
    opt = classes[source](model.parameters(), **FULL_STATE[ours])
    for _ in range(50):
        train_step(model, opt, data)
    resumed_model = copy.deepcopy(model)
    resumed = classes[destination](resumed_model.parameters())  # settings come from the dict
    resumed.load_state_dict(saved(opt))
    for _ in range(50):
        train_step(model, opt, data)
        train_step(resumed_model, resumed, data)
        assert_same_parameters(model, resumed_model)


@pytest.mark.parametrize("ours", list(PAIRS), ids=lambda c: c.__name__)
def test_step_returns_the_closures_loss(ours):
    model, twin, data = twin_models()
    opt, reference = ours(model.parameters()), PAIRS[ours](twin.parameters())
    assert opt.step() is None

    def closure(model, opt):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(data[0]), data[1])
        loss.backward()
        return loss

    for _ in range(3):
        loss = opt.step(lambda: closure(model, opt))
        torch.testing.assert_close(loss, reference.step(lambda: closure(twin, reference)))
    assert_same_parameters(model, twin)


@pytest.mark.parametrize("ours", list(PAIRS), ids=lambda c: c.__name__)
def test_arguments_and_defaults_are_torchs(ours):
    mine = inspect.signature(ours).parameters
    theirs = inspect.signature(PAIRS[ours]).parameters
    for name, parameter in mine.items():
        assert theirs[name].default == parameter.default, name
    assert list(mine) == [n for n in theirs if n in mine]  # same positional order


INVALID = [  # (optimizer, arguments, text the message must contain, torch rejects it too)
    (SGD, {"lr": -0.1}, "lr must be >= 0, got -0.1", True),
    (SGD, {"lr": float("nan")}, "lr must be >= 0, got nan", False),
    (SGD, {"momentum": -0.5}, "momentum must be >= 0, got -0.5", True),
    (SGD, {"weight_decay": -1e-4}, "weight_decay must be >= 0, got -0.0001", True),
    (SGD, {"nesterov": True}, "momentum=0", True),
    (SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "dampening=0.1", True),
    (AdaGrad, {"lr": -1}, "lr must be >= 0, got -1", True),
    (AdaGrad, {"lr_decay": -0.1}, "lr_decay must be >= 0, got -0.1", True),
    (AdaGrad, {"weight_decay": -0.1}, "weight_decay must be >= 0, got -0.1", True),
    (AdaGrad, {"initial_accumulator_value": -2}, "initial_accumulator_value must be >= 0", True),
    (AdaGrad, {"eps": -1e-10}, "eps must be >= 0, got -1e-10", True),
    (RMSProp, {"lr": -0.01}, "lr must be >= 0, got -0.01", True),
    (RMSProp, {"alpha": -0.9}, "alpha must be >= 0, got -0.9", True),
    (RMSProp, {"eps": -1.0}, "eps must be >= 0, got -1.0", True),
    (RMSProp, {"weight_decay": -3}, "weight_decay must be >= 0, got -3", True),
    (RMSProp, {"momentum": -0.9}, "momentum must be >= 0, got -0.9", True),
    (Adam, {"lr": -0.001}, "lr must be >= 0, got -0.001", True),
    (Adam, {"betas": (1.0, 0.999)}, "betas[0] must be in [0, 1), got 1.0", True),
    (Adam, {"betas": (-0.1, 0.999)}, "betas[0] must be in [0, 1), got -0.1", True),
    (Adam, {"betas": (0.9, 1.5)}, "betas[1] must be in [0, 1), got 1.5", True),
    (Adam, {"eps": -1e-8}, "eps must be >= 0, got -1e-08", True),
    (Adam, {"weight_decay": -0.5}, "weight_decay must be >= 0, got -0.5", True),
]


@pytest.mark.parametrize(
    ("ours", "arguments", "message", "torch_too"), INVALID, ids=[case_id(c) for c in INVALID]
)
def test_invalid_hyperparameters_are_named_with_their_value(ours, arguments, message, torch_too):
    params = [torch.nn.Parameter(torch.zeros(2))]
    with pytest.raises(ValueError, match=re.escape(message)):
        ours(params, **arguments)
    if torch_too:
        with pytest.raises(ValueError):
            PAIRS[ours](params, **arguments)


@pytest.mark.parametrize(
    ("ours", "arguments"),
    [
        (SGD, {"lr": 0.0, "momentum": 0.0, "dampening": 1.0}),
        (AdaGrad, {"eps": 0.0, "lr_decay": 0.0}),
        (RMSProp, {"eps": 0.0, "alpha": 0.0}),
        (Adam, {"eps": 0.0, "betas": (0.0, 0.0)}),
    ],
    ids=["SGD", "AdaGrad", "RMSProp", "Adam"],
)
def test_boundary_values_torch_accepts_are_accepted(ours, arguments):
    params = [torch.nn.Parameter(torch.zeros(2))]
    PAIRS[ours](params, **arguments)
    ours(params, **arguments)


# -- run_on_landscape -------------------------------------------------------------------
ROSENBROCK_START, BOWL_START = np.array([-1.5, 2.0]), np.array([2.5, -1.0])


@pytest.mark.parametrize(
    ("landscape", "x0", "lr"),
    [
        (Rosenbrock(), ROSENBROCK_START, 1e-3),
        (IllConditionedBowl(), BOWL_START, 0.15),
        (Parabola(a=2.0), 3.0, 0.1),
    ],
    ids=["rosenbrock", "bowl", "parabola"],
)
def test_sgd_gives_exactly_the_points_of_gradient_descent(landscape, x0, lr):
    for tol in (None, 1e-6):
        run = run_on_landscape(SGD, landscape, x0, 500, lr=lr, tol=tol)
        expected = gradient_descent(landscape, x0, lr, 500, tol=tol)
        np.testing.assert_array_equal(run.points, expected.points)
        np.testing.assert_array_equal(run.losses, expected.losses)
        np.testing.assert_array_equal(run.grad_norms, expected.grad_norms)
        assert (run.stop_reason, run.stopped_at) == (expected.stop_reason, expected.stopped_at)


LANDSCAPE_SETTINGS = {
    "sgd": {"lr": 1e-3, "momentum": 0.9, "nesterov": True},
    "adagrad": {"lr": 0.5, "lr_decay": 1e-3},
    "rmsprop": {"lr": 1e-2, "centered": True, "momentum": 0.5},
    "adam": {"lr": 0.05, "amsgrad": True},
}


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize(
    ("landscape", "x0"),
    [(Rosenbrock(), ROSENBROCK_START), (IllConditionedBowl(), BOWL_START)],
    ids=["rosenbrock", "bowl"],
)
def test_ours_and_torchs_trace_the_same_trajectory(name, landscape, x0):
    hyper = LANDSCAPE_SETTINGS[name]
    run = run_on_landscape(OPTIMIZERS[name], landscape, x0, 300, **hyper)
    reference = run_on_landscape(TORCH_OPTIMIZERS[name], landscape, x0, 300, **hyper)
    assert run.points.shape == (301, 2) and not run.diverged
    torch.testing.assert_close(run.points, reference.points)
    torch.testing.assert_close(run.losses, reference.losses)
    assert run.losses[-1] < run.losses[0]


def test_names_and_classes_give_the_same_run():
    by_name = run_on_landscape("adam", Rosenbrock(), ROSENBROCK_START, 100, lr=0.05)
    by_class = run_on_landscape(Adam, Rosenbrock(), ROSENBROCK_START, 100, lr=0.05)
    np.testing.assert_array_equal(by_name.points, by_class.points)
    assert OPTIMIZERS.keys() == TORCH_OPTIMIZERS.keys() == {"sgd", "adagrad", "rmsprop", "adam"}
    assert all(TORCH_OPTIMIZERS[name] is PAIRS[cls] for name, cls in OPTIMIZERS.items())


@pytest.mark.parametrize("optimizer", [SGD, torch.optim.SGD, "sgd"], ids=str)
def test_a_diverging_rate_is_recorded_not_raised(optimizer):
    bowl = IllConditionedBowl(a=1.0, b=10.0)  # SGD diverges for lr > 2 / 10
    run = run_on_landscape(optimizer, bowl, BOWL_START, 1000, lr=0.5)
    assert run.diverged and run.stop_reason == "diverged"
    assert np.all(np.isfinite(run.points)) and run.stopped_at == run.diverged_at - 1


def test_stopping_criteria_are_shared_with_gradient_descent():
    run = run_on_landscape("adam", IllConditionedBowl(), BOWL_START, 5000, lr=0.05, tol=1e-4)
    assert run.converged and run.stop_reason == "grad_norm" and run.stopped_at < 5000
    assert run.grad_norms[-1] < 1e-4 <= run.grad_norms[-2]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown optimizer 'adamw'.*'sgd', 'adagrad'"):
        run_on_landscape("adamw", Rosenbrock(), ROSENBROCK_START, 10)


@pytest.mark.parametrize(
    ("landscape", "x0", "expected"),
    [
        (Rosenbrock(), np.zeros(3), r"x0 must have shape \(2,\).*got shape \(3,\)"),
        (Rosenbrock(), 1.0, r"x0 must have shape \(2,\).*got shape \(\)"),
        (Parabola(), np.zeros(2), r"x0 must have shape \(\).*got shape \(2,\)"),
    ],
)
def test_wrong_x0_shape_is_an_error(landscape, x0, expected):
    with pytest.raises(ValueError, match=expected):
        run_on_landscape("sgd", landscape, x0, 10, lr=0.1)


def test_invalid_hyperparameters_reach_the_runner_as_value_errors():
    with pytest.raises(ValueError, match="lr must be >= 0, got -1"):
        run_on_landscape("sgd", Rosenbrock(), ROSENBROCK_START, 10, lr=-1)


@pytest.mark.parametrize("option", ["maximize", "decoupled_weight_decay"])
def test_torch_options_we_do_not_implement_are_refused_not_ignored(option):
    theirs = torch.optim.Adam([torch.nn.Parameter(torch.ones(3))], **{option: True})
    param = torch.nn.Parameter(torch.ones(3))
    ours = Adam([param])
    ours.load_state_dict(theirs.state_dict())
    param.grad = torch.ones(3)
    with pytest.raises(ValueError, match=f"Adam does not implement {option}=True"):
        ours.step()
    torch.testing.assert_close(param.detach(), torch.ones(3))  # nothing was changed
