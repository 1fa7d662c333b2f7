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
* pydata-sphinx-theme reads the colour mode from ``html_context["default_mode"]``; left
  unset, every page logs "Got invalid theme mode" as a console error. It is set to
  ``auto`` (the reader's system setting; the navbar button switches light/dark).
* Launch buttons (Binder, Colab) and the repository button need the repository's public
  URL, which is one setting: the environment variable ``REPO_URL``
  (``make book REPO_URL=https://github.com/ORG/REPO``). Without it the site has no launch
  or repository buttons; with it every chapter page links to ``book/<chapter>.ipynb`` on
  branch ``main`` of that repository, opened in JupyterLab on mybinder.org or in Colab.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError

REPO_URL_VARIABLE = "REPO_URL"
BRANCH = "main"
BINDERHUB_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"
# what sphinx-book-theme builds launch links for: https://github.com/ORG/REPO
_REPO_URL = re.compile(r"^https://(github\.com|gitlab\.com)/[\w.-]+/[\w.-]+$")

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


def launch_options(repo_url: str) -> dict[str, Any]:
    """The theme options that give each chapter page its launch and repository buttons.

    ``repo_url`` is the repository's public URL, ``https://github.com/ORG/REPO`` (a
    trailing ``/`` or ``.git`` is dropped). The notebooks are at ``book/<chapter>.ipynb``
    relative to the repository root, which is also the book's root.
    """
    url = repo_url.strip().rstrip("/").removesuffix(".git")
    if not _REPO_URL.match(url):
        raise ExtensionError(
            f"{REPO_URL_VARIABLE}={repo_url!r} is not a repository URL of the form "
            "https://github.com/ORG/REPO (or https://gitlab.com/ORG/REPO)"
        )
    return {
        "repository_url": url,
        "repository_branch": BRANCH,
        "path_to_docs": "",
        "use_repository_button": True,
        "launch_buttons": {
            "binderhub_url": BINDERHUB_URL,
            "colab_url": COLAB_URL,
            "notebook_interface": "jupyterlab",
        },
    }


def configure(app: Any, config: Any) -> None:
    """Set the theme's colour mode and, when ``REPO_URL`` is set, the launch buttons."""
    config.html_context = {"default_mode": "auto", **config.html_context}
    repo_url = os.environ.get(REPO_URL_VARIABLE, "")
    if repo_url.strip():
        options = launch_options(repo_url)
        theme_options = dict(config.html_theme_options)
        options["launch_buttons"] = {
            **theme_options.get("launch_buttons", {}),
            **options["launch_buttons"],
        }
        config.html_theme_options = {**theme_options, **options}


def setup(app: Any) -> dict:
    """Register the fixes."""
    mathjax_source()  # fail at the start of the build, not at its end
    app.connect("config-inited", configure)
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
