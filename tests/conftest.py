"""Shared fixtures: where Chromium is, and how it is started for the browser tests."""

import os
import shutil

import pytest

# The flags the machine needs: no sandbox as root, and no background connections to
# hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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
