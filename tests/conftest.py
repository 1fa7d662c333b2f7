"""Shared fixtures: where Chromium is and how it is started for the browser tests; a small
image dataset on disk for the data-loading tests."""

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "slides"))
from chromium import CHROMIUM_ARGS  # noqa: E402  (one list for the tests and the PDF export)

__all__ = ["CHROMIUM_ARGS"]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of the system Chromium; the test fails (never skips) when there is none."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "the browser tests need Chromium: run `make test` as root (it installs Debian's "
            "chromium), or `sudo apt-get install chromium`, or set CHROMIUM=/path/to/chromium"
        )
    return path


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    """A small image dataset on disk (23 samples of 16 x 16), written once per module."""
    from lecturelib.imagefiles import write_image_dataset

    path = tmp_path_factory.mktemp("digits")
    write_image_dataset(path, 23, seed=0, size=16, max_shift=2)
    return path


@pytest.fixture
def copy(root: Path, tmp_path: Path) -> Path:
    """A private copy of ``root`` that a test may damage."""
    for p in root.iterdir():
        (tmp_path / p.name).write_bytes(p.read_bytes())
    return tmp_path
