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

import re
from dataclasses import dataclass

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
            if (self._previous_blank and self._fence is None and start < len(self.open)
                    and self.open[start] not in " \t\n" and self.open[:start].strip()):
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


PIECE_CHARS = 1_500
"""An open block longer than this is cut into pieces (only while it streams): see OpenBlockCutter."""

CODE_PIECE_CHARS = 500
"""The same inside a code block: highlighting costs more per character, and code slices join seamlessly."""

LIST_ITEM = re.compile(r"([-*+]|\d{1,9}[.)])[ \t]")
SENTENCE_END = re.compile(r"[.!?:;][)\"'*_]*[ ]+(?=\S)")


@dataclass
class Piece:
    """A settled part of the open block, as Markdown that renders on its own, and how it meets the next.

    joined: "code" (both are slices of one code block: drop the padding rows between them),
    "prose" (the next piece continues this paragraph: its last line may be carried on), "tight"
    (lines follow lines: items of a list) or "gap" (a blank line).
    """

    markdown: str
    joined: str
    source: str  # the slice of the block it stands for (markdown adds fence lines around code slices)


@dataclass
class _Cut:
    offset: int
    joined: str
    fence_line: str  # the code block's opening line when the cut is inside one, else ""


class OpenBlockCutter:
    """Cuts the block a reply is still writing into pieces that render alone, while it streams.

    Why: the open block is rendered again at every screen update. A reply that is one long
    paragraph, one long list or one long code block would make each update cost as much as
    the whole reply so far. Pieces before the last cut are rendered once; an update renders
    at most PIECE_CHARS or so. Cuts go where a piece renders as it would inside the block:
    between lines of code, before list items, after sentences whose emphasis and code spans
    are closed. The look differs only in small ways (a sentence starts a new line; syntax
    colours restart), and once the block is complete it is rendered whole.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """A new open block starts."""
        self.pieces: list[Piece] = []
        self._settled = 0  # offset where the tail (the part rendered at each update) begins
        self._tail_fence_line = ""  # the tail is inside a code block that opened with this line
        self._scanned = 0  # complete lines scanned so far
        self._fence: tuple[str, str] | None = None  # (fence chars, opening line) inside a code block
        self._in_list = False
        self._after_fence = False
        self._code_line_before = False  # the last line inside the code block was not blank
        self._paragraph = False  # the last complete line was paragraph text
        self._paragraph_start = 0  # where that paragraph began
        self._cuts: list[_Cut] = []

    def tail(self, text: str) -> str:
        """The Markdown to render for the part after the pieces."""
        return self._tail_fence_line + text[self._settled :]

    def update(self, text: str) -> bool:
        """The open block is now `text` (it only grows); True when new pieces were settled."""
        self._scan(text)
        settled = len(self.pieces)
        while len(text) - self._settled > (CODE_PIECE_CHARS if self._fence else PIECE_CHARS):
            cuts = [cut for cut in self._cuts if cut.offset > self._settled]
            if self._paragraph_may_continue(text):
                line_start = self._scanned
                if self._after_fence and line_start > self._settled:
                    cuts.append(_Cut(line_start, "gap", ""))
                begun = self._paragraph_start if self._paragraph else line_start
                cuts += self._sentence_cuts(text, line_start, begun)
                if not cuts and len(text) - self._settled > 2 * PIECE_CHARS:
                    cuts = self._word_cut(text, max(begun, self._settled))  # text with no sentence ends
            if not cuts:
                break
            # The first place past half a piece: the tail keeps room to grow before the next cut.
            half = (CODE_PIECE_CHARS if self._fence else PIECE_CHARS) // 2
            far_enough = [cut for cut in cuts if cut.offset - self._settled >= half]
            cut = min(far_enough, key=lambda c: c.offset) if far_enough else max(cuts, key=lambda c: c.offset)
            markdown = self._tail_fence_line + text[self._settled : cut.offset]
            if cut.joined == "code":
                markdown += self._closing(cut.fence_line) + "\n"
            self.pieces.append(Piece(markdown, cut.joined, text[self._settled : cut.offset]))
            self._settled, self._tail_fence_line = cut.offset, cut.fence_line
            self._cuts = [each for each in self._cuts if each.offset > cut.offset]
        return len(self.pieces) > settled

    @staticmethod
    def _closing(fence_line: str) -> str:
        opening = fence_line.lstrip(" ")
        return opening[: len(opening) - len(opening.lstrip(opening[0]))]

    def _scan(self, text: str) -> None:
        while (end := text.find("\n", self._scanned)) >= 0:
            start, line = self._scanned, text[self._scanned : end + 1]
            self._scanned = end + 1
            stripped = line.strip()
            if self._fence is not None:
                chars, opening = self._fence
                if stripped.startswith(chars) and not stripped.strip(chars[0]):
                    self._fence, self._after_fence = None, True
                elif start > self._settled and stripped and self._code_line_before:
                    # Not next to a blank line: Rich drops a code block's trailing blank lines.
                    self._cuts.append(_Cut(start, "code", opening))
                self._code_line_before = bool(stripped)
                continue
            opening = line.lstrip(" ")
            if opening[:3] in ("```", "~~~"):
                chars = opening[: len(opening) - len(opening.lstrip(opening[0]))]
                self._add_cut(start, "gap")
                self._fence, self._in_list, self._paragraph = (chars, line), False, False
                self._code_line_before = False  # no cut right after the opening line: an empty slice
                continue
            if not stripped:
                self._paragraph, self._after_fence = False, False
                continue
            if self._after_fence:
                self._add_cut(start, "gap")
                self._after_fence = False
            if LIST_ITEM.match(line):
                self._add_cut(start, "tight" if self._in_list else "gap")
                self._in_list, self._paragraph = True, False
            elif line[0] in " \t" or self._in_list:
                self._paragraph = False  # list continuation or indented text: no cuts inside
            elif line[0] in "#>|" or set(stripped) <= set("-=*_"):
                self._paragraph = False
            else:
                if not self._paragraph:
                    self._paragraph_start = start
                elif balanced(text[max(self._paragraph_start, self._settled) : start]):
                    self._add_cut(start, "prose")  # a soft line break
                self._cuts += self._sentence_cuts(text[: end + 1], start, self._paragraph_start)
                self._paragraph = True

    def _add_cut(self, offset: int, joined: str) -> None:
        if offset > self._settled:
            self._cuts.append(_Cut(offset, joined, ""))

    def _paragraph_may_continue(self, text: str) -> bool:
        """The incomplete last line is paragraph text (no fence, list or other block)."""
        line = text[self._scanned :]
        return (
            self._fence is None and not self._in_list and bool(line.strip())
            and line[0] not in " \t#>|" and not LIST_ITEM.match(line) and line.lstrip(" ")[:3] not in ("```", "~~~")
        )

    def _sentence_cuts(self, text: str, line_start: int, paragraph_start: int) -> list[_Cut]:
        """After sentence ends in the line from line_start, where the paragraph so far closes what it opens."""
        cuts = []
        begun = max(paragraph_start, self._settled)
        for match in SENTENCE_END.finditer(text, max(line_start, self._settled)):
            if match.end() > self._settled and balanced(text[begun : match.end()]):
                cuts.append(_Cut(match.end(), "prose", ""))
        return cuts


    def _word_cut(self, text: str, begun: int) -> list[_Cut]:
        """After the last of a few spaces before the end where the paragraph so far closes what it opens."""
        end = len(text)
        for _ in range(20):
            space = text.rfind(" ", begun, end - 1)
            if space <= self._settled:
                break
            if text[space + 1] != " " and balanced(text[begun : space + 1]):
                return [_Cut(space + 1, "prose", "")]
            end = space
        return []


def balanced(markdown: str) -> bool:
    """No code span, emphasis or link left open (a rough test: even counts and matched brackets)."""
    return (
        markdown.count("`") % 2 == 0 and markdown.count("**") % 2 == 0
        and (markdown.count("*") - 2 * markdown.count("**")) % 2 == 0
        and markdown.count("[") == markdown.count("]") and markdown.count("(") == markdown.count(")")
        and markdown.count("<") == markdown.count(">")
    )
