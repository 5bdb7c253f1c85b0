"""Model output is data: make it safe to put on a terminal.

Control characters (ESC and the rest of C0 and C1) would let a model move the
cursor, change colours or retitle the window. They are shown as their Unicode
"control picture" instead, so the user still sees that they were there.
Markdown is parsed by markdown-it and drawn by Rich as plain text (never as Rich markup),
and other widgets get `Content` (never markup), so `[tags]` stay literal.
"""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code == 0x0D:
        return ""  # a carriage return adds nothing a reader needs
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return "\ufffd"


def displayable(text: str) -> str:
    """The text with every terminal control character made visible and harmless."""
    return _CONTROL.sub(_picture, text)


def displayable_line(text: str) -> str:
    """On one line (tabs and newlines become single spaces), then made displayable: titles in lists."""
    return displayable(" ".join(text.split()))
