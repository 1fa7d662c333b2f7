"""Notebook hygiene: committed without outputs, and every chapter is in the table of contents.

nbval executes the notebooks themselves (make test collects book/*.ipynb).
"""

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def test_there_are_chapters():
    assert NOTEBOOKS, "no notebooks under book/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    cells = json.loads(path.read_text())["cells"]
    dirty = [
        i
        for i, c in enumerate(cells)
        if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
    ]
    assert not dirty, f"{path.name}: cells {dirty} carry outputs; clear them before committing"
    meta = json.loads(path.read_text())["metadata"]
    assert "widgets" not in meta, f"{path.name}: saved widget state; clear it"


def test_toc_lists_exactly_the_chapters():
    toc = (ROOT / "_toc.yml").read_text()
    listed = {line.split("file:")[1].strip() for line in toc.splitlines() if "file:" in line}
    on_disk = {f"book/{p.stem}" for p in NOTEBOOKS}
    assert listed == on_disk
