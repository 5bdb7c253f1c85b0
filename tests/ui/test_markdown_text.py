"""A message's Markdown widget: one widget however long, and an append renders only the open block."""

from itertools import pairwise

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from mixtral_tui.config import Sampling
from mixtral_tui.ui.markdown.blocks import CODE_PIECE_CHARS, PIECE_CHARS
from mixtral_tui.ui.markdown.markdown_text import MarkdownText
from mixtral_tui.ui.widgets.message import MessageView
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.markdown_samples import CODE, PARAGRAPH
from tests.fixtures.pilot import make_app, send, wait_for

LONG = "".join(f"Paragraph {i} says **something**.\n\n- a list\n- of two\n\n" for i in range(300))


class OneText(App):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = MarkdownText(text)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield self.text


def visible_text(widget: MarkdownText) -> list[str]:
    return [widget.render_line(y).text.rstrip() for y in range(widget.size.height)]


async def test_renders_markdown_and_keeps_markup_literal():
    app = OneText("# Title\n\nSome *text* and [bold]tags[/bold].\n\n1. one\n2. two\n\n```python\nx = 1\n```")
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        lines = visible_text(app.text)
        assert "Title" in lines[0]
        assert "Some text and [bold]tags[/bold]." in lines
        assert " 1. one" in lines and " 2. two" in lines
        assert any("x = 1" in line for line in lines)


async def test_html_the_model_writes_is_shown_as_written():
    """Rich drops HTML: a reasoning model's "<think>" paragraph vanished, and a reply about HTML
    lost its tags ("use the  tag")."""
    text = "<think>\nThe user wants a tag.\n</think>\n\nUse the <div> tag, or <br> for a break.\n\nDone."
    app = OneText(text)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        assert visible_text(app.text) == [
            "<think>", "The user wants a tag.", "</think>", "", "Use the <div> tag, or <br> for a break.", "", "Done.",
        ]


LINKS = (
    "Read [the guide](https://example.com/docs/a/rather/long/path/to/the/guide/that/wraps.html), "
    "<https://example.org>, [a file](notes/b.md) and [mail](mailto:me@example.com).\n\n"
    "![logo](img/logo.png) ![chart](https://example.com/chart.png)"
)


def links_on(widget: MarkdownText) -> dict[str, str]:
    """Each hyperlink target and the text drawn with it, across all lines."""
    found: dict[str, str] = {}
    for y in range(widget.size.height):
        for segment in widget.render_line(y):
            if segment.style and segment.style.link:
                found[segment.style.link] = found.get(segment.style.link, "") + segment.text
    return found


async def test_links_show_their_target_and_web_addresses_are_terminal_hyperlinks():
    app = OneText(LINKS)
    async with app.run_test(size=(50, 20)) as pilot:
        await pilot.pause()
        text = " ".join(visible_text(app.text))
        assert "the guide (https://example.com/docs/" in text and "a file (notes/b.md)" in text
        assert text.count("https://example.org") == 1  # shown as its own text: not repeated
        links = links_on(app.text)
        guide = "https://example.com/docs/a/rather/long/path/to/the/guide/that/wraps.html"
        assert links[guide].replace(" ", "") == f"theguide({guide})"  # one link across the wrapped lines
        assert links["https://example.org"] == "https://example.org"
        assert "mailto:me@example.com" in links
        assert not any("b.md" in target or "logo" in target for target in links)  # relative paths are not links
        assert "https://example.com/chart.png" in links


async def test_a_link_target_cannot_carry_terminal_escapes():
    from mixtral_tui.store.history import Message

    hostile = "[x](https://a.example/\x1b]8;;https://evil\x07) and [y](https://b.example/\x9b31m)"
    view = MessageView(Message(1, 1, "assistant", hostile, 0.0, "done", None, None, None, None, None))
    app = OneText("")
    async with app.run_test(size=(60, 20)) as pilot:
        await app.query_one(VerticalScroll).mount(view)
        await pilot.pause()
        targets = list(links_on(view))
        assert targets and all(target.isprintable() and target.isascii() for target in targets)


async def test_an_append_renders_only_the_open_block():
    app = OneText(LONG)
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        calls = []
        render = app.text._render_markdown
        app.text._render_markdown = lambda text, width: calls.append(text) or render(text, width)
        app.text.append("Tail words")
        await pilot.pause()
        assert calls == ["- a list\n- of two\n\n", "Tail words"]  # the last block closes; the new one opens
        app.text.append(" more\n\nNew block")
        await pilot.pause()
        assert calls[2:] == ["Tail words more\n\n", "New block"]  # the closed block once, then the new open one
        assert app.text.source == LONG + "Tail words more\n\nNew block"


async def test_streaming_text_grows_in_steps_and_gives_the_room_back():
    app = OneText("")
    app.text.growing = True
    async with app.run_test(size=(40, 30)) as pilot:
        await pilot.pause()
        step = app.text.growth_step
        assert step == 6  # a fifth of the screen's 30 lines
        assert app.text.size.height == step  # room for the first lines before any text
        layouts = []
        refresh = app.text.refresh
        app.text.refresh = lambda *regions, **kw: layouts.append(kw.get("layout", False)) or refresh(*regions, **kw)
        app.text.append("one")
        await pilot.pause()
        app.text.append("\n\ntwo")  # a second block: lines 0 and 2 now, inside the room
        await pilot.pause()
        assert app.text.size.height == step and layouts == [False, False]  # repainted, no layout pass
        assert visible_text(app.text)[:3] == ["one", "", "two"]
        app.text.append("\n\nthree\n\nfour")  # line 6: past the room, one more step
        await pilot.pause()
        assert app.text.size.height == 2 * step and layouts[-1] is True
        app.text.stop_growing()
        await pilot.pause()
        assert app.text.size.height == 7  # exactly the text once it is complete
        assert visible_text(app.text) == ["one", "", "two", "", "three", "", "four"]


class OneReply(App):
    """A streaming reply alone in a transcript, as the app shows one (the transcript not focused:
    focused, it would mark a message as picked)."""

    AUTO_FOCUS = ""

    def compose(self) -> ComposeResult:
        from mixtral_tui.store.history import Message
        from mixtral_tui.ui.widgets.chat_view import Transcript

        with Transcript():
            yield MessageView(Message(1, 1, "assistant", "", 0.0, "streaming", "model", None, None, None, None))


async def test_a_growth_step_of_a_streaming_reply_is_one_layout_pass():
    """Textual asks for another whole-screen layout pass whenever a widget's size changes; the
    message and the transcript take their new sizes from the pass that made them, so a growth step
    costs one pass, not two. Label, text and figures are one widget."""
    app = OneReply()
    async with app.run_test(size=(60, 40)) as pilot:
        await pilot.pause()
        reply = app.query_one(MessageView)
        passes = []
        layout = app.screen._refresh_layout
        app.screen._refresh_layout = lambda *args, **kwargs: passes.append(1) or layout(*args, **kwargs)
        heights = [reply.size.height]
        step = reply.growth_step
        assert step == 8  # a fifth of the screen's 40 lines
        for line in range(48):
            reply.append(f"Line {line}.\n\n")
            reply.show_progress(line + 1, 10.0)
            await pilot.pause()
            await pilot.pause()
            heights.append(reply.size.height)
        steps = sum(after != before for before, after in pairwise(heights))
        assert steps >= 10 and all((after - before) % step == 0 for before, after in pairwise(heights))
        assert len(passes) <= steps + 2  # and the scrollbar appearing asks for its own (once)
        lines = visible_text(reply)
        assert lines[0].startswith("Assistant · model") and any(line.startswith("Line 47.") for line in lines)
        assert lines[-1].startswith("writing… 48 tok · 10.0 tok/s")
        assert not reply.children


def stream_in(widget: MarkdownText, text: str, width: int = 70):
    """Append the text 40 characters at a time, rendering after each as a screen update would.
    Returns the sizes of the Markdown rendered (recording goes on) and the widget's own renderer."""
    sizes: list[int] = []
    render = widget._render_markdown
    widget._render_markdown = lambda markdown, width: sizes.append(len(markdown)) or render(markdown, width)
    for start in range(0, len(text), 40):
        widget.append(text[start : start + 40])
        widget._rendering_at(width)
    return sizes, render


@pytest.mark.parametrize("text", [CODE, PARAGRAPH], ids=["code", "paragraph"])
async def test_one_long_block_streams_at_a_bounded_cost_and_ends_rendered_whole(text):
    app = OneText("")
    app.text.growing = True
    async with app.run_test(size=(70, 30)) as pilot:
        await pilot.pause()
        sizes, render = stream_in(app.text, text)
        streamed = all_lines(app.text)
        limit = CODE_PIECE_CHARS if text is CODE else PIECE_CHARS
        assert max(sizes) <= limit + 40 + len("```python\n")  # never the whole block per update
        sizes.clear()
        app.text.stop_growing()
        await pilot.pause()
        whole = all_lines(app.text)
        if text is CODE:
            assert len(text) not in sizes  # slices of code join seamlessly: kept, not rendered again whole
            whole = [strip.text.rstrip() for strip in render(text, app.text._width)]  # what whole would look like
            assert all_lines(app.text) == whole
        else:
            assert len(text) in sizes  # complete: prose is rendered whole
        if text is CODE:
            assert streamed[: len(whole)] == whole  # code slices join seamlessly
        else:
            assert " ".join(streamed).split() == " ".join(whole).split()  # same words; lines break at sentence cuts
            assert len(streamed) > len(whole)


async def test_a_long_paragraph_breaks_its_lines_while_streaming_as_it_will_once_complete():
    """Pieces of a long paragraph are rendered apart; each piece's short last line is rendered again
    with what follows, so no line break appears at a cut (where the words carry no markup)."""
    prose = " ".join(f"Sentence number {i} says plain things about the terminal." for i in range(120))
    app = OneText("")
    app.text.growing = True
    async with app.run_test(size=(70, 30)) as pilot:
        await pilot.pause()
        sizes, render = stream_in(app.text, prose)
        whole = [strip.text.rstrip() for strip in render(prose, app.text._width)]
        streamed = [line for line in all_lines(app.text) if line]
        assert len(app.text._cutter.pieces) >= 3 and max(sizes) <= PIECE_CHARS + 40 + 80  # cut, at a bounded cost
        assert streamed == whole  # no ragged line at any cut


def all_lines(widget: MarkdownText) -> list[str]:
    rendering = widget._rendering_at(widget._width)
    return [widget.render_line(y).text.rstrip() for y in range(widget._height_of(rendering))]


async def test_a_long_streamed_reply_stays_a_handful_of_widgets():
    pieces = [LONG[i : i + 9] for i in range(0, len(LONG), 9)]
    app = make_app(ScriptedEngine(pieces), sampling=Sampling(max_tokens=len(pieces) + 5))
    async with app.run_test(size=(80, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.generation is None and len(app.query(MessageView)) == 2, what="reply")
        reply = app.query(MessageView).last()
        assert reply.source == LONG
        assert not reply.children  # label, text and figures in one widget, not a widget per block
        await pilot.pause()
        assert "Paragraph 299 says something." in visible_text(reply)


async def test_mouse_selection_copies_the_text_as_drawn():
    app = OneText("First paragraph here.\n\n- one\n- two\n\nLast line.")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        lines = visible_text(app.text)
        first, last = lines.index("First paragraph here."), lines.index("Last line.")
        await pilot.mouse_down(app.text, offset=(6, first))
        await pilot.hover(app.text, offset=(4, last))
        await pilot.mouse_up(app.text, offset=(4, last))
        await pilot.pause()
        selected = app.screen.get_selected_text()
        assert selected.startswith("paragraph here.") and " • one" in selected
        assert selected.splitlines()[-1].startswith("Last") and "line." not in selected


FRAGMENTS = [
    lambda r: " ".join(f"Word{r.randint(0, 99)}{r.choice(['.', ',', '!', '?', ':', ''])}" for _ in range(r.randint(3, 30))),
    lambda r: "**bold " + "x " * r.randint(1, 5) + "**. ",
    lambda r: "`code " + str(r.randint(0, 9)) + "` then. ",
    lambda r: "\n- item " + " ".join("w" for _ in range(r.randint(1, 20))),
    lambda r: "\n1. step " + " ".join("s." for _ in range(r.randint(1, 10))),
    lambda r: "\n```python\n" + "".join(f"x{i} = {i}\n" + "\n" * r.randint(0, 1) for i in range(r.randint(1, 30)))
    + r.choice(["```\n", ""]),
    lambda r: "\n~~~\n" + "".join(f"line {i}\n" for i in range(r.randint(1, 10))) + "~~~\n",
    lambda r: "\n\n",
    lambda r: "\n# Heading\n",
    lambda r: "\n> quote " + "q " * r.randint(1, 30),
    lambda r: "\n| a | b |\n|---|---|\n| 1 | 2 |\n",
    lambda r: "\n    indented code\n",
    lambda r: "[link](http://x.y/z) (paren) <tag> ",
]


def lines_at(widget: MarkdownText, width: int) -> list[str]:
    rendering = widget._rendering_at(width)
    lines: list[str] = []
    for number, unit in enumerate(rendering.rendered):
        lines += [""] * bool(number) + [strip.text.rstrip() for strip in unit]
    return lines


async def test_any_markdown_streamed_in_any_pieces_ends_as_it_renders_whole(monkeypatch):
    """Random documents (prose, emphasis, lists, open and closed fences, tables, quotes) streamed in
    random chunks, with pieces small enough to be cut often: the finished message looks exactly like
    the same message opened from history (rendered from scratch, small blocks together), and no
    update fails on the way."""
    import random

    import mixtral_tui.ui.markdown.blocks as blocks

    monkeypatch.setattr(blocks, "PIECE_CHARS", 120)
    monkeypatch.setattr(blocks, "CODE_PIECE_CHARS", 60)
    app = OneText("")
    async with app.run_test(size=(60, 30)) as pilot:
        await pilot.pause()
        scroll = app.query_one(VerticalScroll)
        for seed in range(25):
            chance = random.Random(seed)
            text = "".join(chance.choice(FRAGMENTS)(chance) for _ in range(chance.randint(5, 60)))
            streamed = MarkdownText(growing=True)
            await scroll.mount(streamed)
            width = 56
            for start in range(0, len(text), 17 + seed):
                streamed.append(text[start : start + 17 + seed])
                streamed._rendering_at(width)
            streamed.stop_growing()
            fresh = MarkdownText(text)
            await scroll.mount(fresh)
            assert lines_at(streamed, width) == lines_at(fresh, width), f"seed {seed}: {text[:200]!r}"
            await streamed.remove()
            await fresh.remove()
