"""The instructor's slides, checked as they are used: one chapter's deck in Chromium, offline.

The deck of ``03_gradients`` is exported by ``slides/export.py`` (the command `make
slides` runs; it reuses the executed notebook cached in ``_build/slides/_executed``),
served on 127.0.0.1 and opened in headless Chromium with every other host aborted and
recorded. The slide count expected here is computed from the notebook's ``slideshow``
metadata, independently of the exporter.
"""

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "slides"))
import export  # noqa: E402
from myst import Bibliography, MystError, to_markdown  # noqa: E402

CHAPTER = "03_gradients"
OUT = ROOT / "_build" / "slides"
SHOTS = ROOT / "_build" / "screenshots"


def expected_slides(nb) -> int:
    """Slides reveal.js should show: slide/subslide cells start one, skip and notes don't
    show, the first shown cell always starts one; cells the book hides count as skip
    unless they carry slideshow metadata."""
    kinds = []
    for cell in nb.cells:
        hidden = {"hide-cell", "remove-cell"} & set(cell.metadata.get("tags", []))
        default = "skip" if hidden else "-"
        kinds.append(cell.metadata.get("slideshow", {}).get("slide_type", default))
    shown = [k for k in kinds if k not in ("skip", "notes")]
    return 1 + sum(k in ("slide", "subslide") for k in shown[1:])


@pytest.fixture(scope="module")
def deck():
    npm = subprocess.run(
        ["make", "--no-print-directory", "slides/node_modules/.installed"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert npm.returncode == 0, f"npm ci in slides/ failed:\n{npm.stdout}\n{npm.stderr}"
    out = subprocess.run(
        [sys.executable, "slides/export.py", CHAPTER, "--out", str(OUT), "--pdf"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert out.returncode == 0, f"the export failed:\n{out.stdout}\n{out.stderr[-4000:]}"
    nb = nbformat.read(ROOT / "book" / f"{CHAPTER}.ipynb", as_version=4)
    n = expected_slides(nb)
    assert n >= 5, f"{CHAPTER} has (almost) no slideshow metadata: {n} slide(s)"
    return {"html": OUT / f"{CHAPTER}.slides.html", "pdf": OUT / f"{CHAPTER}.pdf", "n": n}


@pytest.fixture(scope="module")
def page(deck, chromium):
    from playwright.sync_api import sync_playwright

    with export.serve(OUT) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 720})
        external, errors = [], []

        def route(r):
            url_ = r.request.url
            if url_.startswith("data:") or url_.startswith("http://127.0.0.1:"):
                r.continue_()
            else:
                external.append(url_)
                r.abort()

        context.route("**/*", route)
        pg = context.new_page()
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        pg.goto(f"{url}/{deck['html'].name}", wait_until="load")
        pg.wait_for_function("window.Reveal && Reveal.isReady()")
        pg.wait_for_function(
            "window.MathJax && MathJax.Hub && MathJax.Hub.queue.pending === 0 &&"
            " document.querySelectorAll('.MathJax_CHTML').length > 0"
        )
        pg.external, pg.errors = external, errors
        yield pg
        browser.close()


def test_deck_is_ready_with_one_slide_per_metadata_slide(deck, page):
    assert page.evaluate("Reveal.isReady()")
    assert page.evaluate("Reveal.getTotalSlides()") == deck["n"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        page.evaluate(f"Reveal.slide({i}, 0)")
        page.screenshot(path=SHOTS / f"slides-{CHAPTER}-{i}.png")


def test_math_is_rendered_and_no_myst_is_left(page):
    rendered = page.locator(".MathJax_CHTML, .MathJax_Display").count()
    assert rendered >= 10, rendered
    raw = page.evaluate(
        """[...document.querySelectorAll('.slides p, .slides li, .slides td, .slides h2')]
           .map(e => { const c = e.cloneNode(true);
                       c.querySelectorAll('script').forEach(s => s.remove());
                       return c.textContent; })
           .filter(t => /\\$|\\{footcite\\}|\\{admonition\\}|^:::/.test(t))"""
    )
    assert raw == [], raw[:3]


def test_a_slider_demo_moves_on_its_slide(page):
    demo = page.locator(".slides .lecturelib-demo").first
    indices = page.evaluate(
        "(() => { const s = document.querySelector('.slides .lecturelib-demo')"
        ".closest('section'); return Reveal.getIndices(s); })()"
    )
    page.evaluate(f"Reveal.slide({indices['h']}, {indices['v'] or 0})")
    page.wait_for_function("document.querySelector('.lecturelib-demo').dataset.ready")
    img = demo.locator("img.lecturelib-frame")
    before = img.get_attribute("src")
    page.screenshot(path=SHOTS / f"slides-{CHAPTER}-demo-before.png")
    control = demo.locator("input[type=range]").first
    control.focus()
    for _ in range(3):
        control.press("ArrowRight")  # the range input keeps its keys: reveal must not move
    assert img.get_attribute("src") != before, "the demo's picture did not change"
    assert page.evaluate("Reveal.getIndices()") == indices, "reveal ate the arrow keys"
    page.screenshot(path=SHOTS / f"slides-{CHAPTER}-demo-after.png")
    control.press("PageDown")  # a presenter's clicker key releases the control
    assert page.evaluate("Reveal.getIndices()") != indices, "PageDown did not move on"


def test_speaker_notes_exist(page):
    assert page.locator("aside.notes").count() >= 1


def test_speaker_view_shows_the_notes_with_their_math_once(page):
    """Press s, as a lecturer would: the speaker window shows the slide's notes, and an
    equation in them appears once (MathML), not also as MathJax's unstyled spans."""
    h = page.evaluate(
        "Reveal.getIndices([...document.querySelectorAll('.slides section')].find(s =>"
        " !s.querySelector('section') && s.querySelector('aside.notes math')))"
    )
    page.evaluate(f"Reveal.slide({h['h']}, {h['v'] or 0})")
    with page.context.expect_page() as popup:
        page.keyboard.press("s")
    view = popup.value
    notes = view.locator(".speaker-controls-notes")
    notes.locator("math").first.wait_for()
    assert notes.locator(".mjx-math, .MathJax_Preview, script").count() == 0
    assert len(notes.inner_text()) > 50
    view.screenshot(path=SHOTS / f"slides-{CHAPTER}-speaker-view.png")
    view.close()


def test_nothing_from_the_network_and_no_errors(page):
    assert page.external == []
    assert page.errors == []


def test_pdf_has_one_page_per_slide(deck):
    assert export.pdf_pages(deck["pdf"]) == deck["n"]


def test_myst_is_rewritten_for_slides():
    bib = Bibliography(ROOT / "book" / "references.bib")
    md = (
        ":::{admonition} Exercise 1: a `slope`\nDo it.\n\n"
        "```{admonition} Solution\n:class: dropdown\nIt is 3 {footcite}`goodfellow2016deep`.\n"
        "```\n:::\n"
    )
    out = to_markdown(md, bib, ["goodfellow2016deep"])
    assert "**Exercise 1: a `slope`**" in out and "<summary>Solution</summary>" in out
    assert "(Goodfellow et al. 2016)" in out and "{" not in out and ":::" not in out
    with pytest.raises(MystError, match="figure"):
        to_markdown("```{figure} a.png\n```\n", bib, [])
    with pytest.raises(MystError, match="nobody2020"):
        to_markdown("see {footcite}`nobody2020`", bib, [])


def test_unknown_chapter_is_a_clear_error():
    out = subprocess.run(
        [sys.executable, "slides/export.py", "99_nothing"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 2
    assert "unknown chapter '99_nothing'" in out.stderr and CHAPTER in out.stderr
