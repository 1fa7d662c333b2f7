"""The system Chromium and the flags this machine needs, shared by the slides' PDF export
(decktape) and the browser tests (tests/conftest.py)."""

import os
import shutil

# Where it is: $CHROMIUM, else `chromium` on PATH, else Debian's path.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# No sandbox as root, and no background connections to hosts this closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
