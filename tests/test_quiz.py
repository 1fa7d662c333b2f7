"""Self-check questions: validated, escaped, self-contained."""

import re

import pytest

from lecturelib.quiz import Question, Quiz


def question(**change):
    args = {
        "prompt": "Which way does descent step?",
        "options": ["up", "down <b>"],
        "answer": 1,
        "explanation": "The gradient points uphill.",
        "hints": ["That is ascent.", ""],
    } | change
    return Question(**args)


def test_html_has_one_button_per_option_and_the_answer():
    page = Quiz(question(), question(prompt="Again?"))._repr_html_()
    assert page.count('class="lecturelib-question"') == 2
    assert page.count('class="lecturelib-option"') == 4
    assert 'data-answer="1"' in page and 'data-hint="That is ascent."' in page
    assert "<strong>Q2.</strong> Again?" in page


def test_text_is_escaped_and_nothing_is_loaded_from_elsewhere():
    page = Quiz(question())._repr_html_()
    assert "down &lt;b&gt;" in page and "down <b>" not in page
    assert not re.search(r"<(script|img|link)[^>]+(src|href)=", page)
    assert "http" not in page


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"prompt": " "}, "prompt must not be empty"),
        ({"options": ["only"], "hints": None}, "at least 2 options, got 1"),
        ({"answer": 2}, r"answer must be an option index in \[0, 2\), got 2"),
        ({"hints": ["one"]}, r"hints must have one entry per option \(2\), got 1"),
    ],
)
def test_bad_questions_say_what_is_wrong(change, match):
    with pytest.raises(ValueError, match=match):
        question(**change)


def test_a_quiz_needs_questions():
    with pytest.raises(ValueError, match="at least one question"):
        Quiz()
    with pytest.raises(TypeError, match="every item must be a Question, got str"):
        Quiz("what?")
