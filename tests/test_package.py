"""The package itself: no side effects on import, seeding, device choice."""

import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import lecturelib

# Every module of the package, found on disk so a new module cannot be forgotten here.
MODULES = sorted(
    p.stem for p in Path(lecturelib.__file__).parent.glob("*.py") if p.stem != "__init__"
)


def test_import_has_no_side_effects():
    code = (
        "import matplotlib, json\n"
        "before = dict(matplotlib.rcParams)\n"
        f"import lecturelib, {', '.join('lecturelib.' + m for m in MODULES)}\n"
        "changed = [k for k, v in matplotlib.rcParams.items() if before[k] != v]\n"
        "import sys; sys.stderr.write(json.dumps(changed))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == ""  # nothing printed
    assert out.stderr == "[]"  # no style changes


def test_set_seed_makes_every_generator_repeat():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    lecturelib.set_seed(123)
    first = draw()
    lecturelib.set_seed(123)
    assert draw() == first
    lecturelib.set_seed(124)
    assert draw() != first


@pytest.mark.parametrize(
    ("seed", "error"), [(-1, ValueError), (2**32, ValueError), (1.5, TypeError), (True, TypeError)]
)
def test_set_seed_rejects_bad_seeds(seed, error):
    with pytest.raises(error, match="seed must be"):
        lecturelib.set_seed(seed)


def test_device_is_cuda_only_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert lecturelib.device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert lecturelib.device() == torch.device("cuda")
