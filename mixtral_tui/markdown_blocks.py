"""Split growing Markdown into blocks at safe boundaries, as it streams.

Why: the chat draws a message's Markdown block by block and caches each block's
rendering, so a new token costs the re-rendering of the one open block at the
end, not of the whole reply. Textual's own Markdown widget builds several widgets
per block; at 10,000 tokens that made every screen update walk thousands of
widgets.

A boundary is a blank line outside any code fence that is followed by an
unindented line (an indented one may continue a list item or be code), so each
block renders the same on its own as inside the whole text. The cuts depend on
the text only: a reply streamed today and reopened tomorrow is cut alike.
"""

from __future__ import annotations

FENCE_CHARS = "`~"


class BlockSplitter:
    """Closed blocks that will not change again, and the open block that text is still flowing into.

    Feeding is incremental: each character is scanned once, however the text arrives.
    """

    def __init__(self, text: str = "") -> None:
        self.closed: list[str] = []
        self.open = ""
        self._scanned = 0  # chars of `open` that belong to complete, already scanned lines
        self._fence: str | None = None  # the opening fence ("```", "~~~~", ...) while inside a code block
        self._previous_blank = False  # the last complete line was blank (and outside a fence)
        self.feed(text)

    @property
    def text(self) -> str:
        return "".join(self.closed) + self.open

    @property
    def blocks(self) -> list[str]:
        return [*self.closed, self.open] if self.open else list(self.closed)

    def feed(self, text: str) -> int:
        """Add text; returns how many blocks it closed."""
        self.open += text
        closed = 0
        while True:
            start = self._scanned
            if self._previous_blank and self._fence is None and start < len(self.open):
                if self.open[start] not in " \t\n" and self.open[:start].strip():
                    self.closed.append(self.open[:start])
                    self.open = self.open[start:]
                    self._scanned = 0
                    self._previous_blank = False
                    closed += 1
                    continue
            end = self.open.find("\n", start)
            if end < 0:
                return closed
            self._scan_line(self.open[start : end + 1])
            self._scanned = end + 1

    def _scan_line(self, line: str) -> None:
        stripped = line.strip()
        if self._fence is not None:
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = None
            self._previous_blank = False
            return
        opening = line.lstrip(" ")
        if opening[:3] in ("```", "~~~"):
            self._fence = opening[: len(opening) - len(opening.lstrip(opening[0]))]
        self._previous_blank = self._fence is None and not stripped


def split_blocks(text: str) -> list[str]:
    return BlockSplitter(text).blocks
