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


def shortened(text: str, limit: int) -> str:
    """At most `limit` characters, ending in "…" where cut: a title where it must fit (a dialog's
    question, a tab, a note). Titles are stored whole; only their drawing is cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + "…"


def counted(count: int, noun: str) -> str:
    """`1 message`, `2 messages`, `1,024 messages`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def decoded(data: bytes) -> tuple[str, int]:
    """Bytes from outside (stdin, a file) as text: UTF-8, with each byte that is not a part of
    valid UTF-8 shown as U+FFFD, and how many such places there were (say so to the user)."""
    text = data.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - data.count("\ufffd".encode())


def from_argument(text: str) -> tuple[str, int]:
    """A command-line argument as text: Python hands over bytes that are not UTF-8 as lone
    surrogates, which SQLite and the terminal then refuse (a traceback); as `decoded` does."""
    return decoded(text.encode("utf-8", errors="surrogateescape"))
