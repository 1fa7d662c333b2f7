"""Binder gets Python 3.11 and CPU-only PyTorch: checked offline with repo2docker.

``repo2docker --no-build --debug .`` prints the Dockerfile it would build without
building it (no Docker, no network), which shows which Binder configuration and which
Python the repository gets.
"""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPO2DOCKER = Path(sys.executable).with_name("repo2docker")


def test_repo2docker_uses_the_binder_folder_python_311_and_the_cpu_wheels(tmp_path):
    out = subprocess.run(
        [str(REPO2DOCKER), "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    dockerfile = out.stdout + out.stderr
    assert "python=3.11" in dockerfile or "PYTHON_VERSION=3.11" in dockerfile
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    # the whole repository is copied before pip runs, so -r ../requirements.txt and -e . work
    copy_all = dockerfile.index("COPY --chown=0:0 src/ ${REPO_DIR}/")
    assert copy_all < dockerfile.index('-r "binder/requirements.txt"')


def test_binder_requirements_pin_the_book_and_take_torch_from_the_cpu_index():
    binder = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    lines = [line.strip() for line in binder if line.strip() and not line.startswith("#")]
    assert lines == [
        "--extra-index-url https://download.pytorch.org/whl/cpu",
        "-r ../requirements.txt",
    ]
    assert (ROOT / "binder" / "runtime.txt").read_text().strip() == "python-3.11"
    pins = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^torch==2\.13\.0$", pins, re.M), "torch must stay pinned to 2.13.0"
