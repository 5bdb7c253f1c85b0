"""A message's Markdown as one widget: blocks rendered once by Rich, cached, and painted as lines.

Why not Textual's Markdown widget: it mounts several widgets per block (a list of
two items is seven), and on a 2-core machine each costs milliseconds to mount and
more on every layout pass. A 10,000-token reply grew to thousands of widgets and
each screen update took 300 ms by the end. Here a message is one widget whatever
its length; appending text re-renders only the block still being written (the
streaming equivalent of MarkdownStream), and the screen paints only visible lines.

Model text reaches Rich's Markdown parser as plain text: it is never read as
Rich or Textual markup (the caller has already replaced control characters).
"""

from __future__ import annotations

from bisect import bisect_right

from rich.markdown import ListItem
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from mixtral_tui.markdown_blocks import BlockSplitter

GROUP_CHARS = 2_000
"""Closed blocks are rendered together up to about this size: each Rich render has a fixed cost."""


class NumberedItem(ListItem):
    """An ordered-list item drawn as "1. text" (Rich draws "1 text")."""

    def render_number(self, console, options, number: int, last_number: int):
        width = len(str(last_number)) + 3  # " 12. ", lined up with Rich's " • "
        lines = console.render_lines(self.elements, options.update(width=options.max_width - width), style=self.style)
        style = console.get_style("markdown.item.number", default="none")
        for index, line in enumerate(lines):
            yield Segment(f"{number}.".rjust(width - 1) + " " if index == 0 else " " * width, style)
            yield from line
            yield Segment.line()


class ChatMarkdown(RichMarkdown):
    elements = {**RichMarkdown.elements, "list_item_open": NumberedItem}


def is_blank(strip: Strip) -> bool:
    """Only spaces and no background: Rich pads some blocks with such lines; the widget spaces blocks itself."""
    return all(not segment.text.strip() and not (segment.style and segment.style.bgcolor) for segment in strip)


class MarkdownText(Widget):
    """Markdown that can grow at the end; the cost of an append follows the open block's size only."""

    DEFAULT_CSS = """
    MarkdownText { height: auto; background: transparent; }
    """

    def __init__(self, source: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self._splitter = BlockSplitter(source)
        self._width = 0
        self._dark = True
        # Rendered units: runs of blocks [start, end) and their lines at self._width. Each unit is
        # followed by one blank line (all but the last, when painted), so adding a unit never
        # changes the ones before it.
        self._units: list[tuple[int, int]] = []
        self._rendered: list[list[Strip]] = []
        self._starts: list[int] = [0]  # first line of each unit, then the end of the last one's separator
        self._grouped = True  # rendering everything anew: join small closed blocks (far fewer Rich calls)

    @property
    def source(self) -> str:
        return self._splitter.text

    def append(self, text: str) -> None:
        """Add text at the end: only the open block (and any block this closes) is rendered again."""
        if not text:
            return
        first_changed = len(self._splitter.closed)
        height = self._starts[-1]
        self._splitter.feed(text)
        while self._units and self._units[-1][1] > first_changed:
            self._units.pop()
            self._rendered.pop()
            self._starts.pop()
        if not self._width:  # not laid out yet
            self.refresh(layout=True)
            return
        # Render now, so that when the text did not grow a line (most tokens) only the changed
        # lines are painted: no layout pass, which costs the whole screen ~15 ms on 2 cores.
        changed_from = self._starts[-1]
        self._lines_at(self._width)
        if self._starts[-1] != height:
            self.refresh(layout=True)
        else:
            self.refresh(Region(0, changed_from, self._width, height - changed_from))

    def _render(self, text: str, width: int) -> list[Strip]:
        console = self.app.console
        markdown = ChatMarkdown(text.rstrip("\n"), code_theme="monokai" if self._dark else "default", hyperlinks=False)
        lines = [Strip(line, width) for line in console.render_lines(markdown, console.options.update_width(width), pad=True)]
        while lines and is_blank(lines[0]):
            lines.pop(0)
        while lines and is_blank(lines[-1]):
            lines.pop()
        return lines

    def _lines_at(self, width: int) -> tuple[list[list[Strip]], list[int]]:
        dark = self.app.current_theme.dark
        if width != self._width or dark != self._dark:
            self._width, self._dark = width, dark
            self._units, self._rendered, self._starts = [], [], [0]
            self._grouped = True
        closed, open_block = self._splitter.closed, self._splitter.open
        block = self._units[-1][1] if self._units else 0
        while block < len(closed) + (1 if open_block else 0):
            end, size = block + 1, len(closed[block]) if block < len(closed) else 0
            while self._grouped and end < len(closed) and size < GROUP_CHARS:
                size += len(closed[end])
                end += 1
            text = "".join(closed[block:end]) if block < len(closed) else open_block
            lines = self._render(text, width)
            self._units.append((block, end))
            self._rendered.append(lines)
            self._starts.append(self._starts[-1] + len(lines) + 1)
            block = end
        self._grouped = False  # from now on text streams in: a unit per block, rendered once each
        return self._rendered, self._starts

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if width <= 0:
            return 0
        return max(self._lines_at(width)[1][-1] - 1, 0)

    def render_line(self, y: int) -> Strip:
        """Line y of the text, over this widget's own colours (a line-API widget applies them itself)."""
        width = self.content_size.width
        rendered, starts = self._lines_at(width)
        index = bisect_right(starts, y) - 1
        if 0 <= index < len(rendered):
            lines = rendered[index]
            offset = y - starts[index]
            if offset < len(lines):
                return lines[offset].apply_style(self.rich_style)
        return Strip.blank(width, self.rich_style)
