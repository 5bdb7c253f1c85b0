"""How a message's Markdown is drawn: Rich's Markdown with the changes a chat needs.

- Numbered lists read "1. text" (Rich draws "1 text").
- Links show their target, and web and mail addresses are terminal hyperlinks (OSC 8).
- HTML the model writes is shown as written (Rich drops it).

Model text reaches the parser as plain text: it is never read as Rich or Textual markup.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from markdown_it.token import Token
from rich.markdown import ImageItem, ListItem, MarkdownContext, Paragraph
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions


class NumberedItem(ListItem):
    """An ordered-list item drawn as "1. text" (Rich draws "1 text")."""

    def render_number(
        self, console: Console, options: ConsoleOptions, number: int, last_number: int
    ) -> Iterator[Segment]:
        width = len(str(last_number)) + 3  # " 12. ", lined up with Rich's " • "
        lines = console.render_lines(self.elements, options.update(width=options.max_width - width), style=self.style)
        style = console.get_style("markdown.item.number", default="none")
        for index, line in enumerate(lines):
            yield Segment(f"{number}.".rjust(width - 1) + " " if index == 0 else " " * width, style)
            yield from line
            yield Segment.line()


LINKABLE = re.compile(r"(https?|ftp)://[!-~]+|mailto:[!-~]+")
"""Link targets the terminal is asked to open (printable ASCII only: a target is written into an
escape sequence; markdown-it has already percent-encoded anything else and refused javascript:)."""


def show_link_targets(tokens: list[Token]) -> None:
    """Links read "text (target)", as Rich writes them without hyperlinks, and where the target is
    a web or mail address the whole of it is a terminal hyperlink (OSC 8): clickable where the
    terminal supports them, even when a long address wraps. An address shown as its own text
    ("<https://…>") is not repeated. Other targets (relative paths) stay plain text."""
    for token in tokens:
        if not token.children:
            continue
        children: list[Token] = []
        href, label = "", ""
        for child in token.children:
            if child.type == "link_open":
                href, label = str(child.attrs.get("href", "")), ""
                if LINKABLE.fullmatch(href):
                    children.append(child)
                continue
            if child.type == "link_close":
                if label not in (href, href.removeprefix("mailto:")):
                    children.append(Token("text", "", 0, content=f" ({href})"))
                if LINKABLE.fullmatch(href):
                    children.append(child)
                href = ""
                continue
            if href:
                label += child.content
            children.append(child)
        token.children = children


class LinkedImage(ImageItem):
    """An image's placeholder, a hyperlink only to a web address (as for links)."""

    @classmethod
    def create(cls, markdown: RichMarkdown, token: Token) -> LinkedImage:
        src = str(token.attrs.get("src", ""))
        return cls(src, bool(LINKABLE.fullmatch(src)))


class HtmlAsText(Paragraph):
    """A block of HTML the model wrote, shown as written (Rich drops it: a reasoning model's
    "<think>…" paragraph, or a reply about HTML outside a code block, lost its text)."""

    def on_text(self, context: MarkdownContext, text: str | Text) -> None:
        super().on_text(context, text.rstrip("\n") if isinstance(text, str) else text)


def show_html_as_text(tokens: list[Token]) -> None:
    """Inline HTML ("use the <div> tag", "<br>") as written, not dropped (as Rich does)."""
    for token in tokens:
        for child in token.children or ():
            if child.type == "html_inline":
                child.type = "text"


class ChatMarkdown(RichMarkdown):
    elements = {
        **RichMarkdown.elements, "list_item_open": NumberedItem, "image": LinkedImage, "html_block": HtmlAsText,
    }

    def __init__(self, markup: str, **kwargs: Any) -> None:
        super().__init__(markup, hyperlinks=True, **kwargs)
        show_link_targets(self.parsed)
        show_html_as_text(self.parsed)
