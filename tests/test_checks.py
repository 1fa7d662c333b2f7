"""Auto-checked exercises: right answers pass, wrong ones fail with a useful hint."""

import pytest

from lecturelib.checks import check_forward_difference


def test_right_answer_passes():
    result = check_forward_difference(lambda f, x, h: (f(x + h) - f(x)) / h)
    assert result.passed and "Correct" in repr(result)


def test_stub_is_not_attempted_and_does_not_raise():
    result = check_forward_difference(lambda f, x, h: None)
    assert not result.passed and "Not attempted" in result.message


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda f, x, h: (f(x + h) - f(x - h)) / (2 * h), "central difference"),
        (lambda f, x, h: (f(x) - f(x - h)) / h, "backward difference"),
        (lambda f, x, h: f(x + h) - f(x), "without dividing by h"),
        (lambda f, x, h: 0.0, ""),
    ],
)
def test_wrong_answers_fail_with_a_hint(answer, hint):
    with pytest.raises(AssertionError, match=f"expected .*{hint}"):
        check_forward_difference(answer)


def test_not_a_function():
    with pytest.raises(TypeError, match="forward_difference must be a function"):
        check_forward_difference(3.0)
