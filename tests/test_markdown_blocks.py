"""Where long Markdown is cut into blocks: safe places only, the same however the text arrives."""

import random

import pytest

from mixtral_tui.markdown_blocks import BlockSplitter, split_blocks

SAMPLE = (
    "Intro:\n- a\n- b\n\n"
    "Para two\n\n"
    "```python\nx = 1\n\n\ny = 2\n```\n\n"
    "~~~~\n```\nstill code\n\n~~~~\n\n"
    "- item\n\n  continued item\n\n"
    "    indented code\n\n"
    "last"
)


def test_cuts_only_after_blank_lines_outside_fences_before_unindented_text():
    assert split_blocks(SAMPLE) == [
        "Intro:\n- a\n- b\n\n",
        "Para two\n\n",
        "```python\nx = 1\n\n\ny = 2\n```\n\n",
        "~~~~\n```\nstill code\n\n~~~~\n\n",  # a ``` inside a ~~~~ fence does not close it
        "- item\n\n  continued item\n\n    indented code\n\n",  # indented lines stay with what they continue
        "last",
    ]


def test_an_unclosed_fence_is_never_cut():
    text = "```\n" + "line\n\n" * 50
    assert split_blocks(text) == [text]


def test_leading_blank_lines_do_not_make_an_empty_block():
    assert split_blocks("\n\nHello\n\nWorld") == ["\n\nHello\n\n", "World"]


@pytest.mark.parametrize("seed", range(20))
def test_streaming_in_random_pieces_cuts_exactly_like_the_whole_text(seed):
    rng = random.Random(seed)
    splitter = BlockSplitter()
    closed_counts = 0
    position = 0
    while position < len(SAMPLE):
        step = rng.randint(1, 7)
        closed_counts += splitter.feed(SAMPLE[position : position + step])
        position += step
    assert splitter.blocks == split_blocks(SAMPLE)
    assert splitter.text == SAMPLE
    assert closed_counts == len(splitter.closed)


def test_blocks_join_back_to_the_text():
    text = "".join(f"Paragraph {i}.\n\n" for i in range(200))
    blocks = split_blocks(text)
    assert len(blocks) == 200 and "".join(blocks) == text
