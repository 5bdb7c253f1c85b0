"""The code blocks of a message, for copying one without the prose around it.

Parsed with markdown-it (CommonMark), the parser Rich's Markdown uses to draw the message,
so a block copied is exactly a block shown: fenced (``` or ~~~, in lists too, or left open
at the end of a reply that was stopped) or indented by four spaces.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CodeBlock:
    code: str  # without the fences, ending with a newline unless the block was left open
    language: str  # the fence's info word ("python"), or ""


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every code block of the text, in order."""
    from markdown_it import MarkdownIt  # ~20 ms of import, not needed at start-up

    blocks = []
    for token in MarkdownIt("commonmark").parse(markdown):
        if token.type in ("fence", "code_block"):
            language = token.info.split()[0] if token.info.strip() else ""
            blocks.append(CodeBlock(token.content, language))
    return blocks
