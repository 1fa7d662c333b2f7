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


SLIDE_TYPES = {"slide", "subslide", "fragment", "-", "skip", "notes"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_cell_has_a_place_in_the_slides(path):
    """The deck (make slides) is cut by each cell's `slideshow` metadata: none is left to chance."""
    cells = json.loads(path.read_text())["cells"]
    kinds = [c["metadata"].get("slideshow", {}).get("slide_type") for c in cells]
    missing = [c["id"] for c, k in zip(cells, kinds, strict=True) if k not in SLIDE_TYPES]
    assert not missing, f"{path.name}: cells without a valid slideshow slide_type: {missing}"
    # The deck opens on a title slide: the chapter's title, alone.
    assert cells[0]["cell_type"] == "markdown" and kinds[0] == "slide"
    assert cells[0]["source"][0].startswith("# ") and len(cells[0]["source"]) == 1
    # Every section starts a slide; checks behind claims and solutions stay out of the deck.
    for cell, kind in zip(cells, kinds, strict=True):
        source = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and source.startswith("## "):
            assert kind == "slide", f"{path.name} {cell['id']}: a section must start a slide"
        if "hide-cell" in cell["metadata"].get("tags", []):
            assert kind == "skip", f"{path.name} {cell['id']}: a hidden cell must be skipped"
    assert "notes" in kinds, f"{path.name}: no speaker notes"
    hide_input = {c["metadata"].get("slides", {}).get("hide_input", False) for c in cells}
    assert hide_input <= {True, False}, f"{path.name}: slides.hide_input must be true or false"
