"""Local Sphinx extension: fixes to what the Jupyter Book 1 theme stack puts on pages.

* sphinx-thebe registers its configuration script once per `env-before-read-docs` event,
  which Jupyter Book emits more than once, so every page declared `const THEBE_JS_URL`
  twice (a JavaScript error on every page) and pointed at unpkg.com. The book has no
  live-code (thebe) button, so its scripts are dropped.
"""

from __future__ import annotations

from typing import Any


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
    app.connect("html-page-context", drop_thebe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
