"""Export the book's chapters as offline reveal.js decks (and PDFs) for the lecture hall.

    python slides/export.py                         # every chapter of book/
    python slides/export.py 03_gradients 05 --pdf   # two chapters, with their PDFs
    python slides/export.py --out _build/slides --pdf

A chapter is named by its notebook's stem (``03_gradients``), its file name, or its
number (``03``). For each chapter the notebook is executed in a fresh kernel (cwd
``book/``, one torch thread); the executed outputs are cached under
``<out>/_executed/`` and reused while the code cells and ``lecturelib`` are unchanged
(a slide-metadata or markdown edit re-exports without re-executing). The deck is then
rewritten for reveal.js (MyST syntax, hidden cells, kernel-free demo views, see
:func:`prepare`) and exported with nbconvert's slide exporter against the assets copied
from ``slides/node_modules`` (``npm ci`` in ``slides/``) into ``<out>/_assets/``: the
deck needs no network. With ``--pdf``, decktape prints it with the system Chromium
into ``<out>/<chapter>.pdf`` (one page per slide, checked).
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import hashlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter
from nbconvert.exporters.slides import _RevealMetadataPreprocessor
from pypdf import PdfReader
from pypdf.errors import PdfReadError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chromium import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from myst import Bibliography, cited_keys, to_markdown  # noqa: E402

__all__ = [
    "SlidesError",
    "chapters",
    "copy_assets",
    "execute",
    "export",
    "export_deck",
    "export_pdf",
    "main",
    "pdf_pages",
    "prepare",
    "resolve",
    "serve",
    "slide_count",
]

ROOT = Path(__file__).resolve().parent.parent
SLIDES = ROOT / "slides"
NODE_MODULES = SLIDES / "node_modules"
BOOK = ROOT / "book"
COURSE = "CSE4261 Neural Networks and Deep Learning"
WIDTH, HEIGHT = 1280, 720  # a 16:9 projector
# Cells the book hides are skipped in the deck unless their own slideshow metadata
# says otherwise; these tags hide only the input or only the outputs.
SKIP_TAGS = {"hide-cell", "remove-cell"}
NO_INPUT_TAGS = {"remove-input", "hide-input"}
NO_OUTPUT_TAGS = {"remove-output", "hide-output"}
# A code cell longer than this that draws a picture shows only its outputs in the deck.
LONG_CODE = 12
WIDGET_MIMETYPES = {
    "application/vnd.jupyter.widget-view+json",
    "application/vnd.jupyter.widget-state+json",
}


class SlidesError(RuntimeError):
    """A chapter that cannot be turned into a deck, with the reason."""


# -- which chapters -----------------------------------------------------------------------
def chapters(book: Path = BOOK) -> list[str]:
    """The stems of the chapter notebooks in ``book``, in order."""
    return sorted(p.stem for p in book.glob("*.ipynb"))


def resolve(names: list[str], book: Path = BOOK) -> list[Path]:
    """Notebook paths for chapter names (stem, file name or number); all when empty."""
    known = chapters(book)
    if not known:
        raise SlidesError(f"no chapter notebooks (*.ipynb) in {book}")
    if not names:
        return [book / f"{c}.ipynb" for c in known]
    paths = []
    for name in names:
        stem = Path(name).name.removesuffix(".ipynb")
        hits = [c for c in known if c == stem] or [c for c in known if c.split("_")[0] == stem]
        if len(hits) != 1:
            raise SlidesError(
                f"unknown chapter {name!r}: the chapters in {book} are {', '.join(known)}"
            )
        paths.append(book / f"{hits[0]}.ipynb")
    return paths


# -- execution, cached on the code ----------------------------------------------------------
def code_key(nb: nbformat.NotebookNode) -> str:
    """Hash of what the outputs depend on: the code cells and lecturelib's sources."""
    h = hashlib.sha256()
    for cell in nb.cells:
        if cell.cell_type == "code":
            h.update(f"{cell.get('id')}\0{cell.source}\0".encode())
    for path in sorted((ROOT / "lecturelib").rglob("*.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


def execute(path: Path, cache: Path, rebuild: bool = False) -> nbformat.NotebookNode:
    """The notebook at ``path`` with the outputs of a fresh run (cached under ``cache``)."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(path, as_version=4)
    key = code_key(nb)
    cached = cache / path.name
    if not rebuild and cached.exists():
        old = nbformat.read(cached, as_version=4)
        if old.metadata.get("slides_code_key") == key:
            outputs = {c.get("id"): c for c in old.cells if c.cell_type == "code"}
            for cell in nb.cells:
                if cell.cell_type == "code":
                    cell.outputs = outputs[cell.get("id")].outputs
            return nb
    run = copy.deepcopy(nb)
    os.environ.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")  # the kernel inherits it
    client = NotebookClient(
        run, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    try:
        client.execute()
    except CellExecutionError as err:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", str(err))  # no terminal colours
        raise SlidesError(f"{path.name} failed to execute:\n{plain}") from err
    run.metadata["slides_code_key"] = key
    cache.mkdir(parents=True, exist_ok=True)
    nbformat.write(run, cached)
    return run


# -- rewriting for reveal.js ----------------------------------------------------------------
def prepare(nb: nbformat.NotebookNode, bib: Bibliography) -> nbformat.NotebookNode:
    """A copy of an executed chapter as the deck shows it.

    * markdown: MyST roles and directives rewritten (:mod:`myst`);
    * cells tagged ``hide-cell`` / ``remove-cell`` get ``slide_type: skip`` unless they
      carry slideshow metadata of their own;
    * code cells whose output is a slider demo or a quiz, or a picture drawn by more
      than ``LONG_CODE`` lines, or tagged ``remove-input`` / ``hide-input``, show only
      their outputs; cell metadata ``slides.hide_input``
      (true/false) overrides this for one cell, without changing the book;
    * outputs: the live-widget view of a slider demo is dropped, so its kernel-free
      ``text/html`` scrubber is shown; stderr streams (progress bars, warnings) too.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)  # else the template loads the widget manager from a CDN
    cited = cited_keys([c.source for c in nb.cells if c.cell_type == "markdown"])
    for index, cell in enumerate(nb.cells):
        tags = set(cell.metadata.get("tags", []))
        if tags & SKIP_TAGS and "slideshow" not in cell.metadata:
            cell.metadata["slideshow"] = {"slide_type": "skip"}
        if cell.cell_type == "markdown":
            try:
                cell.source = to_markdown(cell.source, bib, cited)
            except ValueError as err:
                raise SlidesError(f"markdown cell {index} (id {cell.get('id')}): {err}") from err
        elif cell.cell_type == "code":
            if tags & NO_OUTPUT_TAGS:
                cell.outputs = []
            if _hide_input(cell, tags):
                cell.metadata["transient"] = {"remove_source": True}
            kept = []
            for out in cell.outputs:
                if out.output_type == "stream" and out.name == "stderr":
                    continue
                if "data" in out:
                    for mime in WIDGET_MIMETYPES & set(out.data):
                        del out.data[mime]
                    if not out.data:
                        continue
                kept.append(out)
            cell.outputs = kept
    return nb


def add_subtitle(nb: nbformat.NotebookNode, chapter: str) -> None:
    """Put the course and the chapter's number under the title on the deck's first slide.

    ``chapter`` is the notebook's name, ``NN_topic``; the book itself is not changed.
    """
    first = nb.cells[0]
    if first.cell_type != "markdown" or not first.source.startswith("# "):
        raise SlidesError(f"{chapter}: the first cell must be the chapter's '# title'")
    number = chapter.split("_", 1)[0].lstrip("0") or "0"
    first.source += f'\n\n<p class="deck-subtitle">{COURSE} &middot; chapter {number}</p>'


def _hide_input(cell: nbformat.NotebookNode, tags: set[str]) -> bool:
    """Whether the deck shows only this code cell's outputs (see :func:`prepare`)."""
    own = cell.metadata.get("slides", {}).get("hide_input")
    if own is not None:
        if not isinstance(own, bool):
            raise SlidesError(f"cell {cell.get('id')}: slides.hide_input must be true or false")
        return own
    if tags & NO_INPUT_TAGS:
        return True
    html = "".join(str(o.get("data", {}).get("text/html", "")) for o in cell.outputs)
    if 'class="lecturelib-demo"' in html or 'class="lecturelib-quiz"' in html:
        return True
    picture = any("image/png" in o.get("data", {}) for o in cell.outputs)
    return picture and len(cell.source.strip().splitlines()) > LONG_CODE


def slide_count(nb: nbformat.NotebookNode) -> int:
    """How many slides (horizontal and vertical) nbconvert makes of a prepared notebook."""
    marked, _ = _RevealMetadataPreprocessor().preprocess(nb, {})
    return sum(1 for c in marked.cells if c.metadata.get("subslide_start"))


# -- assets and export ----------------------------------------------------------------------
ASSETS = {  # node_modules path -> _assets path
    "reveal.js/dist": "reveal.js/dist",
    "reveal.js/plugin/notes": "reveal.js/plugin/notes",
    "reveal.js/LICENSE": "reveal.js/LICENSE",
    "requirejs/require.js": "require.js",
    "jquery/dist/jquery.min.js": "jquery.min.js",
    "jquery/LICENSE.txt": "jquery.LICENSE.txt",
    "mathjax/MathJax.js": "mathjax/MathJax.js",
    "mathjax/LICENSE": "mathjax/LICENSE",
    "mathjax/config": "mathjax/config",
    "mathjax/extensions": "mathjax/extensions",
    "mathjax/jax/input/TeX": "mathjax/jax/input/TeX",
    "mathjax/jax/output/CommonHTML": "mathjax/jax/output/CommonHTML",
    "mathjax/jax/element": "mathjax/jax/element",
    "mathjax/fonts/HTML-CSS/TeX/woff": "mathjax/fonts/HTML-CSS/TeX/woff",
    "mathjax/fonts/HTML-CSS/TeX/otf": "mathjax/fonts/HTML-CSS/TeX/otf",
}


def copy_assets(out: Path) -> None:
    """Copy reveal.js, require.js, jQuery, MathJax and the deck CSS/JS into ``out/_assets``."""
    if not (NODE_MODULES / "reveal.js").is_dir():
        raise SlidesError(f"{NODE_MODULES} is missing: run `npm ci` in {SLIDES} (make slides)")
    dest = out / "_assets"
    for src, dst in ASSETS.items():
        source, target = NODE_MODULES / src, dest / dst
        if not source.exists():
            raise SlidesError(f"asset {source} is missing: run `npm ci` in {SLIDES}")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)
    for name in ("lecture.css", "lecture.js"):
        shutil.copy2(SLIDES / name, dest / name)


def exporter() -> SlidesExporter:
    """nbconvert's slide exporter, pointed at the local assets and the lecture template."""
    return SlidesExporter(
        extra_template_basedirs=[str(SLIDES / "templates")],
        template_name="lecture",
        reveal_url_prefix="_assets/reveal.js",
        require_js_url="_assets/require.js",
        jquery_url="_assets/jquery.min.js",
        mathjax_url="_assets/mathjax/MathJax.js?config=TeX-AMS_CHTML-full,Safe",
        reveal_theme="white",
        reveal_transition="none",
        reveal_number="c/t",
        reveal_width=str(WIDTH),
        reveal_height=str(HEIGHT),
        reveal_scroll=False,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )


def export_deck(nb: nbformat.NotebookNode, name: str, out: Path) -> Path:
    """Write the prepared notebook ``nb`` as ``out/<name>.slides.html``."""
    body, _ = exporter().from_notebook_node(
        nb,
        resources={
            "lecture_css_url": "_assets/lecture.css",
            "lecture_js_url": "_assets/lecture.js",
            "metadata": {"name": name},
        },
    )
    # What the browser would fetch (links to read elsewhere are fine): scripts, styles,
    # images, frames and CSS imports from another host.
    loads = r"""<(?:script|img|iframe)[^>]*\ssrc=["']|<link[^>]*\shref=["']|@import\s+url\(["']?"""
    external = re.findall(f"(?:{loads})((?:https?:)?//[^\"')\\s]+)", body)
    if external:
        raise SlidesError(f"{name}: the deck would load from the network: {external[:3]}")
    path = out / f"{name}.slides.html"
    path.write_text(body, encoding="utf-8")
    return path


# -- PDF ------------------------------------------------------------------------------------
@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) while in the block; yields the URL."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(directory)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def pdf_pages(path: Path) -> int:
    """Number of pages of the PDF at ``path`` (read with pypdf); a broken file is an error."""
    try:
        return len(PdfReader(path).pages)
    except (OSError, PdfReadError) as err:
        raise SlidesError(f"{path} is not a readable PDF: {err}") from err


def export_pdf(deck: Path, pdf: Path, slides: int) -> Path:
    """Print ``deck`` to ``pdf`` with decktape and the system Chromium; check the pages."""
    decktape = NODE_MODULES / "decktape" / "decktape.js"
    if not decktape.exists():
        raise SlidesError(f"{decktape} is missing: run `npm ci` in {SLIDES}")
    if not Path(CHROMIUM).exists():
        raise SlidesError(f"no Chromium at {CHROMIUM}: install it or set CHROMIUM=/path")
    with serve(deck.parent) as url:
        cmd = ["node", str(decktape), "reveal", f"--size={WIDTH}x{HEIGHT}", "--pause=100"]
        cmd += ["--load-pause=2000", f"--chrome-path={CHROMIUM}"]
        cmd += [f"--chrome-arg={a}" for a in CHROMIUM_ARGS]
        cmd += [f"{url}/{deck.name}?static-math", str(pdf)]
        env = {**os.environ, "PUPPETEER_SKIP_DOWNLOAD": "1"}
        run = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise SlidesError(f"decktape failed on {deck.name}:\n{run.stdout}\n{run.stderr}")
    pages = pdf_pages(pdf)
    if pages != slides:
        raise SlidesError(f"{pdf.name} has {pages} pages, the deck has {slides} slides")
    return pdf


# -- command line ---------------------------------------------------------------------------
def export(
    path: Path, out: Path, pdf: bool = False, rebuild: bool = False, book: Path = BOOK
) -> dict:
    """Execute, prepare and export one chapter; returns what was written and how long."""
    start = time.perf_counter()
    executed = execute(path, out / "_executed", rebuild=rebuild)
    ran = time.perf_counter() - start
    if not any("slideshow" in c.metadata for c in executed.cells):
        raise SlidesError(
            f"{path.name} has no slideshow metadata: give its cells a slide_type "
            "(slide, subslide, fragment, -, skip, notes)"
        )
    nb = prepare(executed, Bibliography(book / "references.bib"))
    add_subtitle(nb, path.stem)
    slides = slide_count(nb)
    deck = export_deck(nb, path.stem, out)
    result = {"chapter": path.stem, "slides": slides, "deck": str(deck), "execute_s": ran}
    if pdf:
        t = time.perf_counter()
        result["pdf"] = str(export_pdf(deck, out / f"{path.stem}.pdf", slides))
        result["pdf_s"] = time.perf_counter() - t
    result["total_s"] = time.perf_counter() - start
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: export the named chapters (all by default); 2 on a bad input."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="stem, file name or number; default all")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "slides")
    parser.add_argument("--pdf", action="store_true", help="also print each deck to a PDF")
    parser.add_argument("--rebuild", action="store_true", help="re-execute, ignore the cache")
    parser.add_argument("--book", type=Path, default=BOOK, help="folder of the notebooks")
    args = parser.parse_args(argv)
    try:
        paths = resolve(args.chapters, args.book)
        args.out.mkdir(parents=True, exist_ok=True)
        copy_assets(args.out)
    except SlidesError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    failed = []
    for path in paths:  # one broken chapter does not stop the others
        try:
            r = export(path, args.out, pdf=args.pdf, rebuild=args.rebuild, book=args.book)
        except SlidesError as err:
            print(f"error: {err}", file=sys.stderr, flush=True)
            failed.append(path.stem)
            continue
        extra = f", pdf {r['pdf_s']:.1f} s" if args.pdf else ""
        print(
            f"{r['chapter']}: {r['slides']} slides -> {r['deck']}"
            f" ({r['total_s']:.1f} s: execute {r['execute_s']:.1f} s{extra})",
            flush=True,
        )
    if failed:
        print(f"error: no deck for {', '.join(failed)} (see above)", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
