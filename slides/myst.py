"""MyST markdown of the book, rewritten as the plain markdown + HTML a reveal.js deck shows.

The chapters are written for Jupyter Book (MyST); nbconvert's slide exporter knows only
CommonMark. This module rewrites, per markdown cell:

* ``{footcite}`key1,key2``` (and ``{cite}``) as a short "(Author year; Author year)"
  taken from ``book/references.bib``;
* a ```` ```{footbibliography} ```` fence as the list of the chapter's cited works;
* ``:::{admonition} Title`` ... ``:::`` (colon or backtick fences, nested) as a titled
  box; ``:class: dropdown`` as a collapsed ``<details>`` (exercise solutions);
* ``{math}``, ``{ref}``, ``{doc}``, ``{numref}``, ``{term}``, ``{code}`` roles as their
  text; ``(label)=`` targets and ``%`` comment lines are dropped.

Any other directive or role raises :class:`MystError` naming it, so new syntax in a
chapter shows up as an export error rather than as raw MyST on a slide.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Bibliography", "MystError", "cited_keys", "to_markdown"]

ADMONITIONS = {
    "admonition",
    "attention",
    "caution",
    "danger",
    "error",
    "hint",
    "important",
    "note",
    "seealso",
    "tip",
    "warning",
}
CITE_ROLES = {"footcite", "cite", "footcite:p", "footcite:t", "cite:p", "cite:t"}
TEXT_ROLES = {"ref", "doc", "numref", "term", "eq"}

# A role: {name}`content`, not part of LaTeX such as x_{in}` (no word char, \, _, ^ before).
ROLE = re.compile(r"(?<![\w\\_^}])\{([a-z][\w:-]*)\}`([^`\n]+)`")
# A directive fence: ```{name} argument / :::{name} argument, options, body, closing fence.
FENCE = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{(?P<name>[a-z][\w-]*)\}[ \t]*(?P<arg>[^\n]*)\n"
    r"(?P<opts>(?:[ \t]*:[\w-]+:[^\n]*\n)*)"
    r"(?P<body>.*?)^(?P=fence)[ \t]*$",
    re.M | re.S,
)
OPENING = re.compile(r"^(?:`{3,}|:{3,})\{[a-z]", re.M)
TARGET = re.compile(r"^\([\w.:-]+\)=[ \t]*\n?", re.M)
COMMENT = re.compile(r"^%(?: [^\n]*)?$\n?", re.M)


class MystError(ValueError):
    """MyST syntax the slide exporter does not know how to show."""


def _strip_braces(text: str) -> str:
    text = re.sub(r"\\(?:url|href)\{([^}]*)\}", r"<\1>", text)  # \url{x} -> autolink
    return re.sub(r"[{}]", "", text).replace("\\&", "&").replace("--", "–")


@dataclass
class Bibliography:
    """The entries of a BibTeX file, as short citations and reference-list lines."""

    path: Path
    _entries: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        from pybtex.database import parse_file  # installed with jupyter-book

        self._entries = dict(parse_file(str(self.path)).entries)

    def _entry(self, key: str):  # noqa: ANN202
        if key not in self._entries:
            raise MystError(f"citation key {key!r} is not in {self.path}")
        return self._entries[key]

    def _lasts(self, key: str) -> list[str]:
        entry = self._entry(key)
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        if not people:
            return [_strip_braces(entry.fields.get("title", key))]
        names = [_strip_braces(" ".join(p.prelast_names + p.last_names)) for p in people]
        if names[-1] == "others":  # BibTeX's "and others"
            return names[:-1] + ["", ""]  # counts as three or more: "et al."
        return names

    def short(self, key: str) -> str:
        """``Author year``, ``A and B year`` or ``A et al. year``."""
        lasts = self._lasts(key)
        year = self._entry(key).fields.get("year", "n.d.")
        if len(lasts) == 1:
            who = lasts[0]
        elif len(lasts) == 2:
            who = f"{lasts[0]} and {lasts[1]}"
        else:
            who = f"{lasts[0]} et al."
        return f"{who} {year}"

    def full(self, key: str) -> str:
        """One reference-list line: authors (year). Title. Venue."""
        entry = self._entry(key)
        fields = entry.fields
        lasts = self._lasts(key)
        named = [n for n in lasts if n]
        who = ", ".join(named[:3]) + (" et al." if len(named) > 3 or "" in lasts else "")
        venue = fields.get("journal") or fields.get("booktitle") or fields.get("publisher")
        venue = venue or fields.get("howpublished", "")
        title = _strip_braces(fields.get("title", key))
        line = f"{who} ({fields.get('year', 'n.d.')}). *{title}*."
        return f"{line} {_strip_braces(venue)}." if venue else line


def cited_keys(sources: list[str]) -> list[str]:
    """Citation keys in order of first use over the given markdown sources."""
    keys: list[str] = []
    for source in sources:
        for name, content in ROLE.findall(source):
            if name in CITE_ROLES:
                for key in (k.strip() for k in content.split(",")):
                    if key and key not in keys:
                        keys.append(key)
    return keys


def _role(match: re.Match, bib: Bibliography) -> str:
    name, content = match.group(1), match.group(2)
    if name in CITE_ROLES:
        keys = [k.strip() for k in content.split(",") if k.strip()]
        return "(" + "; ".join(bib.short(k) for k in keys) + ")"
    if name == "math":
        return f"${content}$"
    if name == "code":
        return f"`{content}`"
    if name in TEXT_ROLES:
        text = re.sub(r"\s*<[^>]*>\s*$", "", content)  # "text <target>" -> "text"
        return text
    raise MystError(f"MyST role {{{name}}} is not supported in slides: {match.group(0)!r}")


def _directive(match: re.Match, bib: Bibliography, cited: list[str]) -> str:
    name, arg = match.group("name"), match.group("arg").strip()
    options = dict(
        re.match(r"[ \t]*:([\w-]+):[ \t]*(.*)", line).groups()
        for line in match.group("opts").splitlines()
    )
    body = _convert(match.group("body"), bib, cited).strip("\n")
    if name == "footbibliography":
        if not cited:
            return ""
        items = "\n".join(f"* {bib.full(k)}" for k in cited)
        return f'<div class="references">\n\n{items}\n\n</div>\n'
    if name in ADMONITIONS:
        title = arg if name == "admonition" else name.title()
        if name != "admonition" and arg:
            body = f"{arg}\n{body}"
        classes = options.get("class", "").split()
        kind = "admonition" if name == "admonition" else f"admonition {name}"
        if "dropdown" in classes:
            return (
                f'<details class="{kind}">\n'
                f"<summary>{html.escape(title)}</summary>\n\n{body}\n\n</details>\n"
            )
        heading = f"**{title}**\n\n" if title else ""
        return f'<div class="{kind}">\n\n{heading}{body}\n\n</div>\n'
    raise MystError(
        f"MyST directive {{{name}}} is not supported in slides "
        f"(fence {match.group('fence')}{{{name}}} {arg})"
    )


def _convert(source: str, bib: Bibliography, cited: list[str]) -> str:
    # Innermost fences first: a fence whose body holds no other directive fence.
    while True:
        starts = (FENCE.match(source, s.start()) for s in OPENING.finditer(source))
        m = next((m for m in starts if m and not OPENING.search(m.group("body"))), None)
        if m is None:
            break
        source = source[: m.start()] + _directive(m, bib, cited) + source[m.end() :]
    source = TARGET.sub("", source)
    source = COMMENT.sub("", source)
    return ROLE.sub(lambda m: _role(m, bib), source)


def to_markdown(source: str, bib: Bibliography, cited: list[str]) -> str:
    """The markdown cell ``source`` with its MyST syntax rewritten for a slide.

    ``cited`` lists the chapter's citation keys in order (see :func:`cited_keys`); a
    ``{footbibliography}`` fence becomes their reference list.
    """
    out = _convert(source, bib, cited)
    leftover = re.search(r"^(`{3,}|:{3,})\{[\w-]+\}.*$", out, re.M)
    if leftover:
        raise MystError(f"unclosed or malformed MyST directive fence: {leftover.group(0)!r}")
    return out
