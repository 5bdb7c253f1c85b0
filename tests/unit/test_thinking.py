"""Thinking told apart from the answer, however the stream is cut."""

from __future__ import annotations

import pytest

from mixtral_tui.engine.thinking import ThinkingSplitter


def split(pieces: list[str], starts_inside: bool = False) -> tuple[str, str]:
    splitter = ThinkingSplitter(starts_inside)
    answer, thinking = "", ""
    for piece in [*pieces, None]:
        a, t = splitter.flush() if piece is None else splitter.feed(piece)
        answer, thinking = answer + a, thinking + t
    return answer, thinking


STREAM = "<think>\nThe user wants a greeting.\n</think>\n\nHello! How can I help?"


@pytest.mark.parametrize("size", [1, 2, 3, 7, 100])
def test_inline_thinking_in_any_cut(size):
    pieces = [STREAM[i : i + size] for i in range(0, len(STREAM), size)]
    assert split(pieces) == ("Hello! How can I help?", "\nThe user wants a greeting.\n")


def test_a_template_that_opened_the_tag_itself():
    assert split(["Let me see", " the sum.</th", "ink>\n\nIt is 4."], starts_inside=True) == ("It is 4.", "Let me see the sum.")


def test_no_thinking_at_all_is_all_answer_and_a_later_tag_is_text():
    assert split(["Plain ", "answer, and <think> here is text."]) == ("Plain answer, and <think> here is text.", "")
    assert split(["  ", "<", "b>bold</b>"]) == ("  <b>bold</b>", "")


def test_a_stream_that_ends_while_thinking_keeps_it_as_thinking():
    assert split(["<think>half a thou", "ght </thi"]) == ("", "half a thought </thi")
