"""Self-check questions that work with no kernel: multiple choice with feedback.

A quiz renders as self-contained HTML (buttons and a few lines of inline JavaScript, no
library, no network), so the same cell output works on the static website, in Jupyter
and in slides. Clicking an option shows whether it is right and why.

    Quiz(
        Question("Which way does gradient descent step?",
                 ["along the gradient", "against the gradient"], answer=1,
                 explanation="The gradient points uphill; descent goes the other way."),
    )
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Question", "Quiz"]


@dataclass(frozen=True)
class Question:
    """One multiple-choice question.

    Args:
        prompt: the question (plain text).
        options: the possible answers, at least two.
        answer: the index of the right option.
        explanation: why the right answer is right, shown after any click.
        hints: optional feedback per option, shown when that (wrong) option is clicked.
    """

    prompt: str
    options: Sequence[str]
    answer: int
    explanation: str
    hints: Sequence[str] | None = None

    def __post_init__(self) -> None:
        if not self.prompt.strip():
            raise ValueError("prompt must not be empty")
        if len(self.options) < 2:
            raise ValueError(f"a question needs at least 2 options, got {len(self.options)}")
        if not 0 <= self.answer < len(self.options):
            raise ValueError(
                f"answer must be an option index in [0, {len(self.options)}), got {self.answer}"
            )
        if self.hints is not None and len(self.hints) != len(self.options):
            raise ValueError(
                f"hints must have one entry per option ({len(self.options)}), got {len(self.hints)}"
            )

    def to_html(self, number: int) -> str:
        """The question as HTML: a prompt, one button per option, a feedback line."""
        buttons = "".join(
            f'<button type="button" class="lecturelib-option" data-index="{i}" '
            f'data-hint="{html.escape(self.hints[i] if self.hints else "")}" '
            'style="display:block;margin:0.25em 0;padding:0.3em 0.8em;text-align:left;'
            "border:1px solid #999;border-radius:4px;background:transparent;color:inherit;"
            f'cursor:pointer">{html.escape(option)}</button>'
            for i, option in enumerate(self.options)
        )
        return (
            f'<div class="lecturelib-question" data-answer="{self.answer}" '
            f'data-explanation="{html.escape(self.explanation)}" style="margin:0.8em 0">'
            f"<p><strong>Q{number}.</strong> {html.escape(self.prompt)}</p>{buttons}"
            '<p class="lecturelib-feedback" role="status" aria-live="polite"></p></div>'
        )


class Quiz:
    """A list of :class:`Question` s displayed together (the last value of a cell)."""

    def __init__(self, *questions: Question) -> None:
        if not questions:
            raise ValueError("a quiz needs at least one question")
        for q in questions:
            if not isinstance(q, Question):
                raise TypeError(f"every item must be a Question, got {type(q).__name__}")
        self.questions = questions

    def __repr__(self) -> str:
        return f"Quiz({len(self.questions)} questions)"

    def _repr_html_(self) -> str:
        body = "".join(q.to_html(i) for i, q in enumerate(self.questions, start=1))
        return f'<div class="lecturelib-quiz">{body}<script>{_SCRIPT}</script></div>'


# Inline on purpose: works wherever the HTML is shown, with no file to serve.
_SCRIPT = """(function () {
  var quiz = document.currentScript.parentElement;
  quiz.querySelectorAll('.lecturelib-question').forEach(function (q) {
    var feedback = q.querySelector('.lecturelib-feedback');
    q.querySelectorAll('.lecturelib-option').forEach(function (button) {
      button.addEventListener('click', function () {
        var right = button.dataset.index === q.dataset.answer;
        q.querySelectorAll('.lecturelib-option').forEach(function (b) { b.style.fontWeight = ''; });
        button.style.fontWeight = 'bold';
        feedback.textContent = right ? 'Right. ' + q.dataset.explanation :
          'Not quite. ' + (button.dataset.hint ? button.dataset.hint + ' ' : '') + 'Try again.';
        feedback.style.color = right ? '#1a7f37' : '#cf222e';
        q.dataset.result = right ? 'right' : 'wrong';
      });
    });
  });
  quiz.dataset.ready = 'true';
})();"""
