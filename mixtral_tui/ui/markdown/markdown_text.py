"""A message's Markdown as one widget: blocks rendered once by Rich, cached, and painted as lines.

Why not Textual's Markdown widget: it mounts several widgets per block (a list of
two items is seven), and on a 2-core machine each costs milliseconds to mount and
more on every layout pass. A 10,000-token reply grew to thousands of widgets and
each screen update took 300 ms by the end. Here a message is one widget whatever
its length; appending text re-renders only the block still being written (the
streaming equivalent of MarkdownStream), and the screen paints only visible lines.

Model text reaches Rich's Markdown parser (widgets/chat_markdown.py) as plain text: it is
never read as Rich or Textual markup (the caller has already replaced control characters).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from rich.style import Style
from textual.geometry import Region, Size
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

from mixtral_tui.ui.markdown.blocks import BlockSplitter, OpenBlockCutter, balanced
from mixtral_tui.ui.markdown.chat_markdown import ChatMarkdown

GROUP_CHARS = 2_000
"""Closed blocks are rendered together up to about this size: each Rich render has a fixed cost."""

GROWTH_STEP = 4
"""While text streams in, the widget's height grows at least this many lines at a time (blank
until filled), and a fifth of the screen's height on taller screens.

A height change is a layout pass for the whole screen (15-20 ms on 2 cores, more than all
else an update costs); lines that fill room already there are a repaint of those lines.
A fifth of the screen keeps the blank room under the text small next to the text on
screen: 8 lines on a 40-line terminal, half the passes of a fixed 4."""


def carry_last_line(lines: list[Strip], markdown: str) -> tuple[list[Strip], str]:
    """A piece cut inside a paragraph ends in a short line; whole, the paragraph would fill it. When
    that line's words end the piece's Markdown as written (no markup in them), drop the line and
    return its source, to be rendered at the head of what follows: Rich wraps greedily, so the
    paragraph then breaks its lines exactly as it will once complete."""
    words = lines[-1].text.split() if lines else []
    if not words:
        return lines, ""
    match = re.search(r"(?:^|(?<=\s))" + r"\s+".join(map(re.escape, words)) + r"\s*$", markdown)
    if match is None or not balanced(markdown[match.start() :]):
        return lines, ""
    return lines[:-1], markdown[match.start() :]


def is_blank(strip: Strip) -> bool:
    """Only spaces and no background: Rich pads some blocks with such lines; the widget spaces blocks itself."""
    return all(not segment.text.strip() and not (segment.style and segment.style.bgcolor) for segment in strip)


def glue(parts: list[tuple[list[Strip], str]], width: int) -> list[Strip]:
    """Join rendered pieces of one block; each says how it meets the next (see markdown_blocks.Piece)."""
    out: list[Strip] = []
    before = ""
    for lines, joined in parts:
        if before == "code" and lines and not lines[0].text.strip():
            lines = lines[1:]  # the top padding row of a code slice that continues one above
        if joined == "code" and lines and not lines[-1].text.strip():
            lines = lines[:-1]
        if before == "gap" and out:
            out.append(Strip.blank(width))
        out += lines
        before = joined
    return out


@dataclass
class Rendering:
    """The text rendered at one width, as units: runs of blocks [start, end) and their lines.

    Each unit is followed by one blank line (all but the last, when painted), so adding
    a unit never changes the ones before it.
    """

    units: list[tuple[int, int]] = field(default_factory=list)
    rendered: list[list[Strip]] = field(default_factory=list)
    starts: list[int] = field(default_factory=lambda: [0])  # first line of each unit, then the end
    grouped: bool = True  # rendering everything anew: join small closed blocks (far fewer Rich calls)
    piece_lines: list[list[Strip]] = field(default_factory=list)  # the open block's settled pieces
    carried: str = ""  # the source of the last piece's last line, rendered again with what follows
    pieces_of: int = -1  # ... for the open block that comes after this many closed blocks

    def add(self, unit: tuple[int, int], lines: list[Strip]) -> None:
        self.units.append(unit)
        self.rendered.append(lines)
        self.starts.append(self.starts[-1] + len(lines) + 1)

    def forget_from(self, block: int) -> None:
        """Drop the units that hold this block or later ones (they changed)."""
        while self.units and self.units[-1][1] > block:
            self.units.pop()
            self.rendered.pop()
            self.starts.pop()


class MarkdownText(Widget):
    """Markdown that can grow at the end; the cost of an append follows the open block's size only."""

    DEFAULT_CSS = """
    MarkdownText { height: auto; background: transparent; }
    """

    def __init__(self, source: str = "", growing: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._splitter = BlockSplitter(source)
        self.growing = growing  # text is streaming in: keep room ahead (growth_step), cut the open block
        self._cutter = OpenBlockCutter()
        self._cut_block = -1  # the cutter holds the open block that follows this many closed blocks
        self._width = 0
        # By (width, dark theme): a few, because a scrollbar coming and going changes the width.
        self._renderings: dict[tuple[int, bool], Rendering] = {}
        self._paint_style: Style | None = None  # the widget's colours, worked out once per paint

    @property
    def source(self) -> str:
        return self._splitter.text

    def append(self, text: str) -> None:
        """Add text at the end: only the open block (and any block this closes) is rendered again."""
        if not text:
            return
        first_changed = len(self._splitter.closed)
        rendering = self._renderings.get((self._width, self._dark))
        height = self._height_of(rendering) if rendering else 0
        self._splitter.feed(text)
        if self.growing:
            if self._cut_block != len(self._splitter.closed):
                self._cutter.reset()
                self._cut_block = len(self._splitter.closed)
            self._cutter.update(self._splitter.open)
        for each in self._renderings.values():
            each.forget_from(first_changed)
        if rendering is None:  # not laid out yet
            self.refresh(layout=True)
            return
        # Render now, so that when the text fits the height it has (most updates) only the changed
        # lines are painted: no layout pass, which costs the whole screen ~15 ms on 2 cores.
        changed_from = rendering.starts[-1]
        self._rendering_at(self._width)
        if self._height_of(rendering) != height:
            self.refresh(layout=True)
        else:
            top = len(self._header_lines(self._width))
            self.refresh(Region(0, top + changed_from, self._width, height - changed_from))

    def stop_growing(self) -> None:
        """The text is complete: give back the room kept for more."""
        if self.growing:
            self.growing = False
            # Slices of one code block join seamlessly: keep them (rendering a long code block whole
            # takes a few hundred ms). Prose and lists are rendered whole, for their line breaks.
            if not self._cutter.pieces or any(piece.joined != "code" for piece in self._cutter.pieces):
                self._cutter.reset()
                self._cut_block = -1
                for each in self._renderings.values():
                    each.forget_from(len(self._splitter.closed))  # the open block, whole this time
            self.refresh(layout=True)

    def _height_of(self, rendering: Rendering) -> int:
        lines = max(rendering.starts[-1] - 1, 0)
        if self.growing:
            step = self.growth_step
            return -(-(lines + 1) // step) * step  # at least one line of room
        return lines

    @property
    def growth_step(self) -> int:
        return max(GROWTH_STEP, self.app.size.height // 5)

    @property
    def _dark(self) -> bool:
        return self.app.current_theme.dark

    def _render_markdown(self, text: str, width: int) -> list[Strip]:
        console = self.app.console
        markdown = ChatMarkdown(text.rstrip("\n"), code_theme="monokai" if self._dark else "default")
        lines = [Strip(line, width) for line in console.render_lines(markdown, console.options.update_width(width), pad=True)]
        while lines and is_blank(lines[0]):
            lines.pop(0)
        while lines and is_blank(lines[-1]):
            lines.pop()
        # One blank line between elements, as between blocks rendered apart: Rich puts two after some
        # (a quote, an indented code block), and a message must look the same streamed and reopened.
        return [line for n, line in enumerate(lines) if not (n and is_blank(line) and is_blank(lines[n - 1]))]

    def _rendering_at(self, width: int) -> Rendering:
        self._width = width
        key = (width, self._dark)
        rendering = self._renderings.get(key)
        if rendering is None:
            if len(self._renderings) >= 3:
                self._renderings.pop(next(iter(self._renderings)))
            rendering = self._renderings[key] = Rendering()
        closed, open_block = self._splitter.closed, self._splitter.open
        block = rendering.units[-1][1] if rendering.units else 0
        while block < len(closed) + (1 if open_block else 0):
            end, size = block + 1, len(closed[block]) if block < len(closed) else 0
            while rendering.grouped and end < len(closed) and size < GROUP_CHARS:
                size += len(closed[end])
                end += 1
            if block < len(closed):
                rendering.add((block, end), self._render_markdown("".join(closed[block:end]), width))
            else:
                rendering.add((block, end), self._render_open(rendering, width))
            block = end
        rendering.grouped = False  # from now on text streams in: a unit per block, rendered once each
        return rendering

    def _render_open(self, rendering: Rendering, width: int) -> list[Strip]:
        """The open block: its settled pieces (rendered once each) and the tail after them."""
        pieces = self._cutter.pieces if self._cut_block == len(self._splitter.closed) else []
        if not pieces:
            return self._render_markdown(self._splitter.open, width)
        if rendering.pieces_of != self._cut_block:
            rendering.piece_lines, rendering.pieces_of, rendering.carried = [], self._cut_block, ""
        while len(rendering.piece_lines) < len(pieces):
            piece = pieces[len(rendering.piece_lines)]
            lines = self._render_markdown(rendering.carried + piece.markdown, width)
            rendering.carried = ""
            if piece.joined == "prose":  # the paragraph goes on: its last line is filled by what follows
                lines, rendering.carried = carry_last_line(lines, rendering.carried + piece.markdown)
            rendering.piece_lines.append(lines)
        tail = self._render_markdown(rendering.carried + self._cutter.tail(self._splitter.open), width)
        parts = [(lines, piece.joined) for lines, piece in zip(rendering.piece_lines, pieces, strict=True)] + [(tail, "")]
        return glue(parts, width)

    def _header_lines(self, width: int) -> list[Strip]:
        """Lines drawn above the text (none here: a message draws who wrote it)."""
        return []

    def _footer_lines(self, width: int) -> list[Strip]:
        """Lines drawn under the text and the room kept for more (a message draws its figures)."""
        return []

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width <= 0:
            return 0
        body = self._height_of(self._rendering_at(width))
        return len(self._header_lines(width)) + body + len(self._footer_lines(width))

    def _line(self, y: int, width: int) -> Strip:
        """Line y of header, text and footer, unstyled by the widget."""
        header = self._header_lines(width)
        if y < len(header):
            return header[y]
        y -= len(header)
        rendering = self._rendering_at(width)
        body = self._height_of(rendering)
        if y >= body:
            footer = self._footer_lines(width)
            return footer[y - body] if y - body < len(footer) else Strip.blank(width)
        rendered, starts = rendering.rendered, rendering.starts
        index = bisect_right(starts, y) - 1
        if 0 <= index < len(rendered) and y - starts[index] < len(rendered[index]):
            return rendered[index][y - starts[index]]
        return Strip.blank(width)

    def render_lines(self, crop: Region) -> list[Strip]:
        """Textual's `rich_style` walks every ancestor's styles at each call: once per paint, not
        per line (per line it was two thirds of the time a streaming reply took to paint)."""
        self._paint_style = None
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Line y, over this widget's own colours (a line-API widget applies them itself),
        with the mouse selection shown and the offsets that let the screen map clicks to text."""
        width = self.content_size.width
        strip = self._line(y, width)
        selection = self.text_selection
        if selection is not None and (span := selection.get_span(y)) is not None:
            start, end = span
            end = strip.cell_length if end == -1 else min(end, strip.cell_length)
            if start < end:
                before, chosen, after = strip.divide([start, end, strip.cell_length])
                style = self.screen.get_component_rich_style("screen--selection")
                strip = Strip.join([before, chosen.apply_style(style), after])
        if self._paint_style is None:
            self._paint_style = self.rich_style
        return strip.apply_style(self._paint_style).apply_offsets(0, y)

    def _drawn_text(self) -> Iterator[str]:
        """Each line's text as drawn (bullets and all), top to bottom."""
        width = self.content_size.width
        for y in range(self.get_content_height(Size(0, 0), Size(0, 0), width)):
            yield self._line(y, width).text

    def line_with(self, word: str, passage: str = "") -> int | None:
        """The line, as drawn, that holds `word` (any case): where a search hit is. Of several, the
        one amid most of the words of `passage` (the hit's snippet), else the first."""
        drawn = [text.casefold() for text in self._drawn_text()]
        word = word.casefold()
        lines = [y for y, text in enumerate(drawn) if word in text]
        context = {w for w in re.findall(r"\w+", passage.casefold()) if len(w) > 2 and w not in word}
        if len(lines) < 2 or not context:
            return lines[0] if lines else None

        def nearby(y: int) -> int:  # the passage may wrap onto the lines around the word's
            window = " ".join(drawn[max(0, y - 1) : y + 2])
            return sum(w in window for w in context)

        return max(lines, key=lambda y: (nearby(y), -y))

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected text as drawn (bullets and all), for the screen's copy."""
        return selection.extract("\n".join(text.rstrip() for text in self._drawn_text())), "\n"

    def selection_updated(self, selection: Selection | None) -> None:
        self.refresh()
