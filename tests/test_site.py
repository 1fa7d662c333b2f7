"""The built website, checked as a student uses it: in headless Chromium, offline.

The site is built with warnings as errors (executing the notebooks through
jupyter-cache), served on 127.0.0.1, and opened in Debian's Chromium through Playwright.
Every request to another host is aborted and recorded. On each chapter page every slider
demo is moved and its picture must change, with no kernel and no network.
"""

import re
import subprocess
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlparse

import pytest
from conftest import CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("*.ipynb"))


@pytest.fixture(scope="module")
def site() -> Path:
    """Build the book with `make book`, the README's command (warnings are errors)."""
    out = subprocess.run(
        ["make", "--no-print-directory", "book"], capture_output=True, text=True, cwd=ROOT
    )
    assert out.returncode == 0, (
        f"the book build failed:\n{out.stdout[-6000:]}\n{out.stderr[-3000:]}"
    )
    return HTML


@pytest.fixture(scope="module")
def server(site):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def offline_page(browser):
    """A page on which every request to another host is aborted and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    external, errors = [], []

    def route(r):
        url = r.request.url
        if url.startswith("data:") or urlparse(url).hostname == "127.0.0.1":
            r.continue_()
        else:
            external.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.external, page.errors = external, errors
    yield page
    context.close()


def test_site_builds_with_every_chapter(site):
    assert (site / "index.html").exists()
    for chapter in CHAPTERS:
        assert (site / "book" / f"{chapter}.html").exists(), chapter


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_slider_demos_move_with_no_kernel_and_no_network(server, offline_page, chapter):
    page = offline_page
    page.goto(f"{server}/book/{chapter}.html", wait_until="load")
    demos = page.locator(".lecturelib-demo")
    assert demos.count() >= 1, f"{chapter} has no slider demo"
    page.wait_for_function(
        "[...document.querySelectorAll('.lecturelib-demo')].every(d => d.dataset.ready)"
    )
    # The live ipywidgets view must not be shown (it would need a kernel).
    assert page.locator(".jupyter-widgets, .widget-area").count() == 0
    requested_before = list(page.external)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for i in range(demos.count()):
        demo = demos.nth(i)
        demo.scroll_into_view_if_needed()
        img = demo.locator("img.lecturelib-frame")
        src, picture = img.get_attribute("src"), img.screenshot()
        demo.screenshot(path=SHOTS / f"{chapter}-demo{i}-before.png")
        control = demo.locator("input[type=range], select").first
        label = (
            demo.locator("output").first.text_content() if demo.locator("output").count() else None
        )
        if control.evaluate("el => el.tagName") == "SELECT":
            n = control.locator("option").count()
            current = int(control.input_value())
            control.select_option(str((current + 1) % n))
        else:
            control.focus()
            for _ in range(3):
                control.press("ArrowRight")  # as a person would with the keyboard
        assert img.get_attribute("src") != src, f"demo {i}: the frame did not change"
        assert img.screenshot() != picture, f"demo {i}: the picture on screen did not change"
        if label is not None:
            assert demo.locator("output").first.text_content() != label, "value label stuck"
        demo.screenshot(path=SHOTS / f"{chapter}-demo{i}-after.png")
    assert page.external == requested_before, "a slider demo asked another host"
    assert not page.errors, page.errors


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_in_page_links_and_citations_resolve(server, offline_page, chapter):
    page = offline_page
    page.goto(f"{server}/book/{chapter}.html", wait_until="load")
    missing = page.evaluate(
        """() => [...document.querySelectorAll('a[href^="#"]')]
              .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
              .filter(id => id && !document.getElementById(id))"""
    )
    assert not missing, f"links to missing anchors: {missing}"


PAGES = ["index.html", "book/intro.html"] + [f"book/{c}.html" for c in CHAPTERS]


@pytest.mark.parametrize("page_path", PAGES)
def test_every_page_renders_its_math_with_no_network(server, offline_page, page_path):
    page = offline_page
    page.goto(f"{server}/{page_path}", wait_until="load")
    page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise")
    page.evaluate("MathJax.startup.promise")
    untypeset = page.evaluate(
        """() => [...document.querySelectorAll('span.math, div.math')]
              .filter(el => !el.querySelector('mjx-container')).map(el => el.textContent)"""
    )
    assert not untypeset, f"math left as raw LaTeX: {untypeset[:3]}"
    if page_path.startswith("book/0"):
        assert page.locator("mjx-container").count() > 0, "a chapter without rendered math"
    assert page.external == [], f"the page asked other hosts: {page.external}"
    assert not page.errors, page.errors


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_self_check_questions_answer_with_no_kernel(server, offline_page, chapter):
    page = offline_page
    page.goto(f"{server}/book/{chapter}.html", wait_until="load")
    page.wait_for_selector(".lecturelib-quiz[data-ready]", state="attached")
    questions = page.locator(".lecturelib-question")
    assert questions.count() >= 3, f"{chapter} has fewer than 3 self-check questions"
    q = questions.first
    q.scroll_into_view_if_needed()
    answer = int(q.get_attribute("data-answer"))
    wrong = 0 if answer != 0 else 1
    feedback = q.locator(".lecturelib-feedback")
    q.locator(f'.lecturelib-option[data-index="{wrong}"]').click()
    assert q.get_attribute("data-result") == "wrong"
    assert feedback.text_content().startswith("Not quite.")
    q.locator(f'.lecturelib-option[data-index="{answer}"]').click()
    assert q.get_attribute("data-result") == "right"
    assert feedback.text_content() == "Right. " + q.get_attribute("data-explanation")
    q.screenshot(path=SHOTS / f"{chapter}-quiz.png")
    assert page.external == [] and not page.errors


class _Links(HTMLParser):
    """Collects every href/src and every id of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value:
                self.links.append(value)
            elif name == "id" and value:
                self.ids.add(value)


def test_every_internal_link_and_anchor_resolves(site):
    # every page of the book; _static/ holds the theme's template fragments, not pages
    pages = {p: _Links() for p in site.rglob("*.html") if "_static" not in p.parts}
    for path, parser in pages.items():
        parser.feed(path.read_text(encoding="utf-8"))
    broken = []
    for path, parser in pages.items():
        for link in parser.links:
            if re.match(r"^(https?:|data:|mailto:|javascript:|//)", link):
                continue
            target, fragment = urldefrag(link)
            file = path if not target else (path.parent / target.split("?")[0]).resolve()
            if not file.exists():
                broken.append(f"{path.relative_to(site)}: {link}")
            elif fragment and file.suffix == ".html" and file in pages:
                if unquote(fragment) not in pages[file].ids:
                    broken.append(f"{path.relative_to(site)}: {link} (no such anchor)")
    assert not broken, "\n".join(broken[:20])
