"""Time and memory of every chapter, printed against the budgets of DESIGN §7.

For each notebook under book/ (or the ones named on the command line):

* wall time from kernel start to the last cell, in a fresh kernel;
* peak resident memory of that kernel (VmHWM);
* the median time of one live slider update for every slider demo in the chapter
  (each control is set to other values of its grid, as a student dragging it would);
* the weight of the chapter's page in _build/html, when the site has been built.

Then, with --nbval and --rebuild: the whole nbval run as `make test` runs it, and the
site rebuild after editing each chapter in turn (done on a copy of the repository).

Usage: python benchmarks/notebooks.py [--nbval] [--rebuild] [book/03_gradients.ipynb ...]
Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

BUDGET_CHAPTER_S = 20.0
BUDGET_ALL_NBVAL_S = 90.0
BUDGET_MEMORY_MIB = 1024.0
BUDGET_REBUILD_S = 15.0
BUDGET_SLIDER_MS = 100.0
BUDGET_PAGE_MB = 8.0

# Runs inside the chapter's kernel after its last cell: times live updates of every
# Demo the notebook bound to a name.
SLIDER_TIMING = """
import json as _json, statistics as _stats
from lecturelib.sliders import Demo as _Demo
_report = {
    _name: _stats.median(_demo.time_updates(20))
    for _name, _demo in list(globals().items())
    if isinstance(_demo, _Demo) and not _name.startswith("_")
}
print("SLIDERS " + _json.dumps(_report))
"""


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (Linux VmHWM), in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def page_weight_mb(chapter: str) -> float | None:
    """The chapter page plus the images it references, in MB; None if not built."""
    page = ROOT / "_build" / "html" / "book" / f"{chapter}.html"
    if not page.exists():
        return None
    text = page.read_text()
    images = set(re.findall(r'src="\.\./(_images/[^"]+)"', text))
    return (
        page.stat().st_size + sum((page.parent.parent / i).stat().st_size for i in images)
    ) / 1e6


def run_chapter(path: Path) -> dict:
    """Execute one notebook in a fresh kernel; return its figures."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        wall = time.perf_counter() - start
        memory = peak_rss_mib(client.km.provisioner.process.pid)
        probe = nbformat.v4.new_code_cell(SLIDER_TIMING)
        nb.cells.append(probe)
        client.execute_cell(probe, len(nb.cells) - 1)
    text = "".join(o.get("text", "") for o in probe.outputs if o.output_type == "stream")
    sliders = json.loads(text.split("SLIDERS ", 1)[1])
    return {"wall": wall, "memory": memory, "sliders": sliders, "page": page_weight_mb(path.stem)}


def time_nbval() -> float:
    """All notebooks under nbval, exactly as `make test` runs them."""
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    cmd = [str(BIN / "python"), "-m", "pytest", "-q", "-n", "2", "--dist", "loadfile",
           "--nbval-lax", "--nbval-current-env", "book"]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def time_rebuilds(chapters: list[Path]) -> dict[str, float]:
    """Site rebuild after editing one code cell of each chapter in turn, on a copy of the
    repository built once first: jupyter-cache re-executes only the edited chapter."""
    build = [str(BIN / "jupyter-book"), "build", ".", "--warningiserror", "--keep-going"]
    times = {}
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "repo"
        ignore = shutil.ignore_patterns(".venv", ".git", "_build", "node_modules")
        shutil.copytree(ROOT, copy, ignore=ignore)
        subprocess.run(build, cwd=copy, check=True, capture_output=True)
        for chapter in chapters:
            target = copy / chapter.relative_to(ROOT)
            nb = nbformat.read(target, as_version=4)
            first_code = next(c for c in nb.cells if c.cell_type == "code")
            first_code.source += "\n# edited"
            nbformat.write(nb, target)
            start = time.perf_counter()
            subprocess.run(build, cwd=copy, check=True, capture_output=True)
            times[chapter.stem] = time.perf_counter() - start
    return times


def verdict(value: float, budget: float) -> str:
    return "ok " if value <= budget else "OVER"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--nbval", action="store_true", help="also time the nbval run")
    parser.add_argument("--rebuild", action="store_true", help="also time a one-chapter rebuild")
    args = parser.parse_args()
    paths = [p.resolve() for p in args.notebooks] or sorted((ROOT / "book").glob("*.ipynb"))

    print(f"{'chapter':<28}{'wall s':>8}{'peak MiB':>10}{'page MB':>9}   slider median ms")
    total = 0.0
    for path in paths:
        r = run_chapter(path)
        total += r["wall"]
        page = "-" if r["page"] is None else f"{r['page']:.1f}"
        sliders = ", ".join(f"{k} {v * 1e3:.0f}" for k, v in r["sliders"].items()) or "-"
        print(f"{path.stem:<28}{r['wall']:>8.1f}{r['memory']:>10.0f}{page:>9}   {sliders}")
        print(
            f"{'':<28}{verdict(r['wall'], BUDGET_CHAPTER_S):>8}"
            f"{verdict(r['memory'], BUDGET_MEMORY_MIB):>10}"
            f"{'' if r['page'] is None else verdict(r['page'], BUDGET_PAGE_MB):>9}   "
            + ", ".join(verdict(v * 1e3, BUDGET_SLIDER_MS) for v in r["sliders"].values())
        )
    print(f"{'total (sequential)':<28}{total:>8.1f}")
    print(
        f"budgets: chapter <= {BUDGET_CHAPTER_S:g} s, kernel <= {BUDGET_MEMORY_MIB:g} MiB, "
        f"page <= {BUDGET_PAGE_MB:g} MB, slider update <= {BUDGET_SLIDER_MS:g} ms"
    )
    if args.nbval:
        t = time_nbval()
        print(f"all notebooks under nbval: {t:.1f} s ({verdict(t, BUDGET_ALL_NBVAL_S)}, "
              f"budget {BUDGET_ALL_NBVAL_S:g} s)")  # fmt: skip
    if args.rebuild:
        for stem, t in time_rebuilds(paths).items():
            print(f"site rebuild after editing {stem}: {t:.1f} s "
                  f"({verdict(t, BUDGET_REBUILD_S)}, budget {BUDGET_REBUILD_S:g} s)")  # fmt: skip


if __name__ == "__main__":
    main()
