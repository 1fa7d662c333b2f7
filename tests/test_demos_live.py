"""Every slider demo still redraws live after its whole chapter has run (Run All).

A ``draw`` function that reads a notebook global which a later cell overwrites works
while the page is built (frames are rendered when the cell runs) but breaks for a
student who runs everything and then moves the slider. Each chapter is executed in a
fresh kernel, then every demo's controls are moved through a few values.
"""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))

PROBE = """
from lecturelib.sliders import Demo as _Demo
_demos = {
    n: d for n, d in list(globals().items()) if isinstance(d, _Demo) and not n.startswith("_")
}
for _name, _demo in _demos.items():
    try:
        _demo.time_updates(4)
    except Exception as _error:
        raise AssertionError(f"demo {_name!r} fails after Run All: {_error!r}") from _error
print(len(_demos))
"""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_demo_redraws_after_run_all(path):
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute()
    shown = int(nb.cells[-1].outputs[0]["text"])
    assert shown >= 1, f"{path.name} binds no slider demo to a name"
