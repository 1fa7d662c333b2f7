"""The built website, checked as a student uses it: in headless Chromium, offline.

The site is built with warnings as errors (executing the notebooks through
jupyter-cache), served on 127.0.0.1, and opened in Debian's Chromium through Playwright.
Every request to another host is aborted and recorded; any such request, uncaught
exception or console error on any page opened fails the test. On each chapter page every
slider demo is moved and its picture must change, with no kernel and no network; the
math renders, search finds the chapter, previous/next follow the table of contents, the
.ipynb download is a notebook, copy buttons copy, solutions stay hidden until clicked,
and dark mode keeps plots on a light background. Each page's weight and request count
go to _build/site-report.txt. The launch buttons (set by REPO_URL) are checked on a
one-chapter build with a placeholder URL.
"""

import io
import os
import re
import shutil
import subprocess
import sys
import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import unquote, urldefrag, urlparse

import nbformat
import pytest
import yaml
from conftest import CHROMIUM_ARGS
from PIL import Image
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
REPORT = ROOT / "_build" / "site-report.txt"
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
    """A page on which every request to another host is aborted and recorded.

    Uncaught exceptions and console errors are recorded in ``page.errors``; after the
    test the page must have asked no other host and logged no error, whatever the test
    checked.
    """
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    external, errors, requests = [], [], []

    def route(r):
        url = r.request.url
        if url.startswith("data:") or urlparse(url).hostname == "127.0.0.1":
            r.continue_()
        else:
            external.append(url)
            r.abort()

    def console(message):
        if message.type == "error":
            errors.append(f"console error: {message.text} ({message.location.get('url')})")

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.on("console", console)
    page.on("requestfinished", lambda r: requests.append(r))
    page.external, page.errors, page.requests = external, errors, requests
    yield page
    context.close()
    assert external == [], f"the page asked other hosts: {external}"
    assert errors == [], errors


@pytest.fixture(scope="module")
def site_report():
    """Bytes transferred and requests per page, written to _build/site-report.txt."""
    rows = {}
    yield rows
    if rows:
        lines = [f"{'page':40} {'bytes':>10} {'MB':>6} {'requests':>8}"]
        for name, (size, count) in sorted(rows.items()):
            lines.append(f"{name:40} {size:>10} {size / 1e6:>6.2f} {count:>8}")
        REPORT.write_text("\n".join(lines) + "\n")
        print("\n" + "\n".join(lines))


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


PAGES = ["index.html", "book/intro.html", "search.html", "genindex.html"] + [
    f"book/{c}.html" for c in CHAPTERS
]


@pytest.mark.parametrize("page_path", PAGES)
def test_every_page_renders_its_math_with_no_network(server, offline_page, site_report, page_path):
    page = offline_page
    page.goto(f"{server}/{page_path}", wait_until="load")
    if page_path == "index.html":  # the landing page is a redirect to book/intro.html
        page.wait_for_url(f"{server}/book/intro.html", wait_until="load")
    if page.locator("script[src*='mathjax']").count():  # pages with no math load none
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
    # what a reader downloads: the page, its assets, the fonts MathJax loaded for it
    page.wait_for_load_state("networkidle")
    sizes = [r.sizes() for r in page.requests if not r.url.startswith("data:")]
    size = sum(s["responseBodySize"] + s["responseHeadersSize"] for s in sizes)
    assert size > 0
    site_report[page_path] = (size, len(sizes))


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


def _toc_order() -> list[str]:
    """The pages of _toc.yml in reading order: the root, then every chapter."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in toc.get("parts", [toc]):
        pages += [chapter["file"] for chapter in part.get("chapters", [])]
    return pages


TOC_ORDER = _toc_order()


def test_the_table_of_contents_lists_every_chapter():
    assert sorted(TOC_ORDER[1:]) == [f"book/{c}" for c in CHAPTERS]


def _check_previous_and_next(page, server: str, chapter: str) -> None:
    """Previous/next links go to the neighbouring pages in _toc.yml order."""
    i = TOC_ORDER.index(f"book/{chapter}")
    previous = page.locator(".prev-next-area a.left-prev")
    following = page.locator(".prev-next-area a.right-next")
    assert previous.evaluate("a => a.href") == f"{server}/{TOC_ORDER[i - 1]}.html"
    if i + 1 < len(TOC_ORDER):
        assert following.evaluate("a => a.href") == f"{server}/{TOC_ORDER[i + 1]}.html"
    else:
        assert following.count() == 0, "the last chapter links to a next page"


def _check_download(page, server: str, chapter: str) -> None:
    """The download menu offers the chapter's .ipynb, and the file served is a notebook."""
    page.locator(".dropdown-download-buttons button.dropdown-toggle").click()
    link = page.locator("a.btn-download-source-button")
    assert link.is_visible(), "no .ipynb download button"
    assert link.inner_text().strip() == ".ipynb"
    href = link.evaluate("a => a.href")
    assert href == f"{server}/_sources/book/{chapter}.ipynb"
    page.keyboard.press("Escape")
    response = page.request.get(href)
    assert response.ok, f"{href}: HTTP {response.status}"
    notebook = nbformat.reads(response.text(), as_version=4)
    nbformat.validate(notebook)
    title = notebook.cells[0].source.splitlines()[0]
    assert notebook.cells[0].cell_type == "markdown" and title.startswith("# ")
    assert title[2:] in page.locator("h1").first.inner_text(), "another chapter's notebook"


def _check_copy_buttons(page) -> None:
    """Every code cell has a copy button; the first one puts the cell's code on the clipboard."""
    page.wait_for_selector(".cell_input button.copybtn", state="attached")
    blocks = page.locator(".cell_input div.highlight")
    assert blocks.count() >= 1
    assert page.locator(".cell_input div.highlight button.copybtn").count() == blocks.count()
    cell = page.locator(".cell_input").first  # the imports: never hidden
    cell.hover()
    cell.locator("button.copybtn").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    code = cell.locator("pre").inner_text()
    assert copied.strip() == code.strip() and "import" in copied, (
        "the copy button copied something else"
    )


def _check_solutions_hidden(page, chapter: str) -> None:
    """Exercise solutions are hidden until their toggle is clicked."""
    # a solution in code: a cell tagged hide-cell, labelled "Show solution"
    code = page.locator("details.hide").filter(
        has=page.locator("p.collapsed", has_text="Show solution")
    )
    for i in range(code.count()):
        details = code.nth(i)
        body = details.locator(".cell_input")
        assert not body.is_visible(), f"code solution {i} is shown before a click"
        details.locator("summary").click()
        assert body.is_visible(), f"code solution {i} stays hidden after a click"
    # a solution in prose: a dropdown admonition titled "Solution"
    page.wait_for_selector(".dropdown.admonition.toggle", state="attached")
    prose = page.locator(".dropdown.admonition").filter(
        has=page.locator("p.admonition-title", has_text="Solution")
    )
    for i in range(prose.count()):
        dropdown = prose.nth(i)
        body = dropdown.locator(":scope > :not(.admonition-title)").first
        assert not body.is_visible(), f"prose solution {i} is shown before a click"
        dropdown.locator(".admonition-title").click()
        expect(body).to_be_visible()
    assert code.count() + prose.count() >= 2, f"{chapter}: fewer than 2 exercise solutions"


def _luminance(css_color: str) -> float:
    """Relative brightness (0-1) of a CSS rgb()/rgba() colour."""
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def _light_and_legible(png: bytes) -> tuple[int, float]:
    """The commonest grey level of a screenshot and the share of dark (ink) pixels."""
    grey = Image.open(io.BytesIO(png)).convert("L")
    histogram = grey.histogram()
    return histogram.index(max(histogram)), sum(histogram[:100]) / sum(histogram)


def _check_dark_mode(page, chapter: str) -> None:
    """The theme's switch turns the page dark; figures and demos stay light with dark ink."""
    switch = page.locator("button.theme-switch-button").first
    for _ in range(3):  # the switch cycles auto -> dark -> light
        if page.evaluate("document.documentElement.dataset.mode") == "dark":
            break
        switch.click()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    body = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert _luminance(body) < 0.2, f"dark mode left the page light: {body}"
    shown = {
        "figure": page.locator(".cell_output img:not(.lecturelib-frame)"),
        "demo": page.locator(".lecturelib-demo"),
    }
    assert shown["demo"].count() >= 1
    for kind, items in shown.items():
        if not items.count():
            continue
        item = items.first
        item.scroll_into_view_if_needed()
        png = item.screenshot(path=SHOTS / f"{chapter}-dark-{kind}.png")
        background, ink = _light_and_legible(png)
        assert background >= 180, f"the {kind} sits on a dark background ({background}/255)"
        assert ink >= 0.002, f"the {kind} shows no dark lines or text on its light background"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_page_has_what_a_student_expects(server, offline_page, chapter):
    """Previous/next, .ipynb download, copy buttons, hidden solutions, readable dark mode."""
    page = offline_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page.goto(f"{server}/book/{chapter}.html", wait_until="load")
    page.wait_for_selector(".lecturelib-demo[data-ready]", state="attached")
    _check_previous_and_next(page, server, chapter)
    _check_download(page, server, chapter)
    _check_copy_buttons(page)
    _check_solutions_hidden(page, chapter)
    _check_dark_mode(page, chapter)


@pytest.mark.parametrize(
    ("word", "chapter"),
    [
        ("Adam", "05_optimizers"),
        ("vanishing", "06_vanishing_exploding"),
        ("underfitting", "07_overfitting"),
    ],
)
def test_search_finds_the_chapter_with_no_network(server, offline_page, word, chapter):
    page = offline_page
    page.goto(f"{server}/book/intro.html", wait_until="load")
    page.locator("button.search-button__button").first.click()
    box = page.locator("input[name=q]:visible").first
    box.fill(word)
    box.press("Enter")
    page.wait_for_url(f"{server}/search.html?q={word}", wait_until="load")
    results = page.locator("#search-results ul.search li a")
    results.first.wait_for()
    assert results.first.evaluate("a => a.pathname") == f"/book/{chapter}.html"


def _site_fixes():
    """The book's local Sphinx extension, imported from _ext/."""
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import site_fixes
    finally:
        sys.path.remove(str(ROOT / "_ext"))
    return site_fixes


EXAMPLE_REPO = "https://github.com/example-org/example-repo"  # a placeholder, not the book's


def test_launch_options_point_at_the_repository_given():
    site_fixes = _site_fixes()
    options = site_fixes.launch_options(EXAMPLE_REPO + ".git/")
    assert options == {
        "repository_url": EXAMPLE_REPO,
        "repository_branch": "main",
        "path_to_docs": "",
        "use_repository_button": True,
        "launch_buttons": {
            "binderhub_url": "https://mybinder.org",
            "colab_url": "https://colab.research.google.com",
            "notebook_interface": "jupyterlab",
        },
    }
    for bad in ["github.com/org/repo", "https://github.com/org", "https://example.com/a/b"]:
        with pytest.raises(site_fixes.ExtensionError, match=re.escape(repr(bad))):
            site_fixes.launch_options(bad)


def test_repo_url_is_the_one_setting_for_the_launch_buttons(monkeypatch):
    site_fixes = _site_fixes()
    monkeypatch.delenv("REPO_URL", raising=False)
    config = SimpleNamespace(html_context={}, html_theme_options={"home_page_in_toc": True})
    site_fixes.configure(None, config)
    assert config.html_context == {"default_mode": "auto"}  # no "invalid theme mode" error
    assert config.html_theme_options == {"home_page_in_toc": True}  # the site as without it
    monkeypatch.setenv("REPO_URL", EXAMPLE_REPO)
    config.html_theme_options["launch_buttons"] = {"thebe": False}
    site_fixes.configure(None, config)
    options = config.html_theme_options
    assert options["home_page_in_toc"] and options["launch_buttons"]["thebe"] is False
    assert options["repository_url"] == EXAMPLE_REPO
    assert options["launch_buttons"]["binderhub_url"] == "https://mybinder.org"


def _build_small_book(folder: Path, repo_url: str | None) -> str:
    """Build the book's configuration with one stub chapter; return the chapter's HTML."""
    chapter = CHAPTERS[0]
    (folder / "book").mkdir(parents=True)
    shutil.copytree(ROOT / "_ext", folder / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    if (ROOT / "_static").is_dir():
        shutil.copytree(ROOT / "_static", folder / "_static")
    shutil.copy(ROOT / "book" / "references.bib", folder / "book")
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"  # a stub chapter: nothing to run
    (folder / "_config.yml").write_text(yaml.safe_dump(config))
    (folder / "_toc.yml").write_text(
        f"format: jb-book\nroot: book/intro\nchapters:\n  - file: book/{chapter}\n"
    )
    (folder / "book" / "intro.md").write_text("# Intro\n\nA stub landing page.\n")
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_markdown_cell("# A chapter"), nbformat.v4.new_code_cell("1 + 1")]
    )
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    notebook.metadata["language_info"] = {"name": "python"}
    nbformat.write(notebook, folder / "book" / f"{chapter}.ipynb")
    env = {k: v for k, v in os.environ.items() if k != "REPO_URL"}
    if repo_url is not None:
        env["REPO_URL"] = repo_url
    out = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "jupyter-book"), "build", ".", "--warningiserror"],
        capture_output=True,
        text=True,
        cwd=folder,
        env=env,
    )
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    return (folder / "_build" / "html" / "book" / f"{chapter}.html").read_text()


def test_a_build_with_repo_url_has_binder_colab_and_repository_buttons(tmp_path):
    chapter = CHAPTERS[0]
    html = _build_small_book(tmp_path / "with", EXAMPLE_REPO)
    binder = f"https://mybinder.org/v2/gh/example-org/example-repo/main?urlpath=lab/tree/book/{chapter}.ipynb"
    colab = f"https://colab.research.google.com/github/example-org/example-repo/blob/main/book/{chapter}.ipynb"
    parser = _Links()
    parser.feed(html)
    assert binder in parser.links, "no Binder launch link to the chapter's notebook"
    assert colab in parser.links, "no Colab launch link to the chapter's notebook"
    assert EXAMPLE_REPO in parser.links, "no repository button"
    without = _build_small_book(tmp_path / "without", None)
    assert "mybinder.org" not in without and "colab.research" not in without
    assert EXAMPLE_REPO not in without
