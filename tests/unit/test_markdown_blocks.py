"""Where long Markdown is cut into blocks: safe places only, the same however the text arrives."""

import random

import pytest

from mixtral_tui.ui.markdown.blocks import PIECE_CHARS, BlockSplitter, OpenBlockCutter, balanced, split_blocks
from tests.fixtures.markdown_samples import CODE, MIXED, NUMBERED, PARAGRAPH

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




@pytest.mark.parametrize("text", [CODE, PARAGRAPH, NUMBERED, MIXED], ids=["code", "paragraph", "list", "mixed"])
def test_a_long_open_block_is_cut_so_the_part_rendered_again_stays_short(text):
    cutter, pos, rnd, longest = OpenBlockCutter(), 0, random.Random(3), 0
    while pos < len(text):
        pos = min(pos + rnd.randint(1, 15), len(text))
        cutter.update(text[:pos])
        tail = cutter.tail(text[:pos])
        longest = max(longest, len(tail))
        settled = "".join(piece.source for piece in cutter.pieces)
        assert settled + text[len(settled) : pos] == text[:pos]  # pieces and tail cover the text, in order
    assert len(cutter.pieces) >= len(text) // PIECE_CHARS - 1
    assert longest <= PIECE_CHARS + 15 + len("```python\n")


def test_pieces_are_cut_where_they_render_alone():
    cutter = OpenBlockCutter()
    cutter.update(MIXED)
    first, *middle = cutter.pieces
    assert first.markdown.startswith("Here is code:\n```python\ndef f0(x):\n") and first.joined == "code"
    code = [p for p in middle if p.joined == "code"]  # slices of the code block get its fence around them
    assert code and all(p.markdown.startswith("```python\n") and p.markdown.endswith("\n```\n") for p in code)
    [end] = [p for p in middle if "```\nAnd after it" in p.source]  # the code block ends inside a piece
    assert end.markdown.startswith("```python\n") and end.joined == "prose"
    prose = [p for p in middle if p.joined == "prose" and p is not end]
    assert prose and all(balanced(p.source) and p.source.rstrip().endswith(".") for p in prose)
    assert cutter.tail(MIXED).startswith("Sentence")  # the tail is prose: no fence line in front


def test_no_cut_inside_open_emphasis_or_code_spans():
    text = "Start **" + "words. " * 400  # the bold never closes: no sentence end is a safe cut
    cutter = OpenBlockCutter()
    cutter.update(text)
    assert cutter.pieces == []


def test_prose_without_sentence_ends_is_cut_between_words():
    text = "word " * 1000
    cutter = OpenBlockCutter()
    for start in range(0, len(text), 7):
        cutter.update(text[: start + 7])
    assert cutter.pieces and all(p.source.endswith("word ") for p in cutter.pieces)
    assert len(cutter.tail(text)) <= 2 * PIECE_CHARS + 7
