"""Local Sphinx extension: make the Jupyter Book 1 pages work offline and without errors.

* MathJax is served from the site itself: the files of MathJax 3.2.2 come from the
  ``django-static-mathjax`` package on PyPI (only its static files are used; Apache-2.0
  licence, copied beside them) and are copied into ``_static/mathjax`` at the end of the
  build; ``_config.yml`` points ``mathjax_path`` there. Without this every page loads
  MathJax from a CDN, and offline the equations stay raw LaTeX.
* sphinx-thebe registers its configuration script once per ``env-before-read-docs``
  event, which Jupyter Book emits more than once, so every page declared
  ``const THEBE_JS_URL`` twice (a JavaScript error on every page) and pointed at
  unpkg.com. The book has no live-code (thebe) button, so its scripts are dropped.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError

# tex-mml-chtml.js and what it loads on demand (fonts, TeX extensions, menu, a11y).
MATHJAX_PARTS = ("tex-mml-chtml.js", "adaptors", "a11y", "input", "output", "sre", "ui")


def mathjax_source() -> Path:
    """The directory of MathJax's ``es5`` build inside the installed package."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "MathJax's files are missing: install django-static-mathjax (requirements.txt)"
        )
    source = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (source / "tex-mml-chtml.js").is_file():
        raise ExtensionError(f"MathJax's tex-mml-chtml.js is not in {source}")
    return source


def copy_mathjax(app: Any, exception: Exception | None) -> None:
    """Copy MathJax into ``_static/mathjax`` of an HTML build."""
    if exception is not None or app.builder.format != "html":
        return
    source, target = mathjax_source(), Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    for part in MATHJAX_PARTS:
        if (source / part).is_dir():
            shutil.copytree(source / part, target / part, dirs_exist_ok=True)
        else:
            shutil.copy2(source / part, target / part)
    shutil.copy2(source.parent / "LICENSE", target / "LICENSE")


def _is_thebe(script: Any) -> bool:
    body = script.attributes.get("body", "") if hasattr(script, "attributes") else ""
    filename = getattr(script, "filename", None) or ""
    return "THEBE_JS_URL" in body or filename.endswith("sphinx-thebe.js")


def drop_thebe_scripts(
    app: Any, pagename: str, templatename: str, context: dict, doctree: Any
) -> None:
    """Remove sphinx-thebe's scripts from the page (no thebe button is configured)."""
    if "script_files" in context:
        context["script_files"] = [s for s in context["script_files"] if not _is_thebe(s)]


def setup(app: Any) -> dict:
    """Register the fixes."""
    mathjax_source()  # fail at the start of the build, not at its end
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
