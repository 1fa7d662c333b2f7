"""A slider demo is live in a kernel: JupyterLab in headless Chromium, slider dragged.

A small notebook with one demo is written to a temporary directory (the repository's
notebooks are never opened, so nothing can be saved into them), run in JupyterLab with
a real kernel, and its slider dragged with the mouse; the picture must be redrawn by
the kernel. Every request to another host is aborted and must not happen.
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import nbformat
import pytest
from conftest import CHROMIUM_ARGS

SHOTS = Path(__file__).resolve().parent.parent / "_build" / "screenshots"

DEMO = """
from lecturelib.sliders import Demo, linspace


def draw(ax, k):
    ax.plot([0, 1], [0, k], lw=4)
    ax.set_ylim(-1, 1)
    ax.set_title(f"k = {k:+.2f}")


Demo(draw, k=linspace(-1, 1, 9, value=0))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(DEMO.strip())])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "demo.ipynb")
    # User settings for this run only: start the notebook's kernel without asking, and
    # fetch no news (it would be a request to another host).
    settings = tmp_path_factory.mktemp("lab-settings")
    for name, value in {
        "notebook-extension/tracker": {"autoStartDefaultKernel": True},
        "apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    }.items():
        path = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser",
           f"--port={port}", "--ServerApp.ip=127.0.0.1", "--ServerApp.token=",
           "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]  # fmt: skip
    env = os.environ | {"JUPYTERLAB_SETTINGS_DIR": str(settings)}
    server = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail("JupyterLab did not start within 60 s")
    yield url
    server.terminate()
    server.wait(timeout=30)


def test_slider_redraws_live_in_jupyterlab(lab, chromium):
    from playwright.sync_api import sync_playwright

    external = []

    def route(r):
        url = r.request.url
        if (
            url.startswith("data:")
            or url.startswith("blob:")
            or urlparse(url).hostname == "127.0.0.1"
        ):
            r.continue_()
        else:
            external.append(url)
            r.abort()

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        page.route("**/*", route)
        page.goto(f"{lab}/lab/tree/demo.ipynb")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=60_000)
        page.wait_for_selector(
            ".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000
        )
        select = page.get_by_role("button", name="Select", exact=True)
        if select.is_visible():  # JupyterLab asks for a kernel when it cannot tell
            select.click()
        slider = page.locator(".widget-hslider").first
        for _attempt in range(6):  # the first keypress can land before Lab is wired up
            page.locator(".jp-Cell .jp-InputPrompt").first.click()
            page.keyboard.press("Shift+Enter")
            try:
                slider.wait_for(timeout=10_000)
                break
            except Exception:
                page.screenshot(path=str(SHOTS / "live-jupyterlab.png"))
        slider.wait_for(timeout=1_000)
        image = page.locator("img.widget-image").first
        image.wait_for()
        before, picture = image.get_attribute("src"), image.screenshot()
        handle = slider.locator(".noUi-handle")
        box = handle.bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.down()
        page.mouse.move(box["x"] + 120, box["y"] + box["height"] / 2, steps=10)
        page.mouse.up()
        page.wait_for_function(
            "before => document.querySelector('img.widget-image').src !== before",
            arg=before,
            timeout=15_000,
        )
        assert image.screenshot() != picture
        assert page.locator(".lecturelib-demo").count() == 0  # the live view, not the scrubber
        browser.close()
    assert not external, external
