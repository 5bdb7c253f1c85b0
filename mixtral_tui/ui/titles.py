"""How a conversation's title is drawn in each place. Titles are stored whole (the first line of
the first message, or what the user named it); each place cuts it to what fits there, and a
dialog's question or a note always shows whole, with only the title in it shortened."""

from __future__ import annotations

from textual.content import Content

from mixtral_tui.store.history import Conversation
from mixtral_tui.text_safety import displayable_line, shortened

IN_TEXT = 40  # inside a sentence: a note, a dialog's question
ON_TAB = 24
FORK_MARK = "↳ "  # a fork's tab; the list says "fork" on the entry's second line


def in_text(title: str) -> str:
    """A title inside a sentence, quoted by the caller: on one line, harmless, at most IN_TEXT."""
    return shortened(displayable_line(title), IN_TEXT)


def tab_label(conversation: Conversation) -> Content:
    mark = FORK_MARK if conversation.forked_from is not None else ""
    return Content(mark + shortened(displayable_line(conversation.title), ON_TAB))
