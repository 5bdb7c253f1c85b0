"""One message in a conversation: who said it, the text as Markdown, and its figures."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from mixtral_tui.engine.base import ReplyStats
from mixtral_tui.figures import reply_figures
from mixtral_tui.store.history import Message
from mixtral_tui.text_safety import displayable
from mixtral_tui.ui.widgets.markdown_text import MarkdownText

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "notice": "Note", "system": "System"}
STATUS_NOTES = {
    "stopped": "stopped by you",
    "interrupted": "interrupted (the app was closed while it was written)",
    "error": "failed",
    "streaming": "writing…",
}


class MessageView(Vertical):
    """A message; an assistant reply streams into it (work per update follows the last block only).

    Classes that change (the status) go on the figures line: re-classing the view
    itself would restyle everything inside it.
    """

    DEFAULT_CSS = """
    MessageView { height: auto; margin: 0 1 1 1; padding: 0 1; }
    MessageView.-user { border-left: thick $primary; background: $primary 8%; }
    MessageView.-assistant { border-left: thick $success; }
    MessageView.-notice { border-left: thick $warning; color: $text-warning; }
    MessageView .role { text-style: bold; color: $text-muted; }
    MessageView .figures { color: $text-muted; }
    MessageView .figures.-stopped, MessageView .figures.-error, MessageView .figures.-interrupted { color: $text-warning; }
    """

    def __init__(self, message: Message) -> None:
        super().__init__(classes=f"-{message.role}")
        self.message = message
        self.body = MarkdownText(displayable(message.content), growing=message.status == "streaming")
        # Made now: finish() may come before compose.
        self.figures = Static(Content(self.figures_text()), classes=f"figures -{message.status}")

    def compose(self) -> ComposeResult:
        label = ROLE_LABELS.get(self.message.role, self.message.role)
        if self.message.role == "assistant" and self.message.model:
            label = f"{label} · {self.message.model}"
        yield Static(Content(label), classes="role")
        yield self.body
        yield self.figures

    def figures_text(self) -> str:
        notes = []
        if self.message.role == "assistant" and self.message.stats:
            notes.append(reply_figures(ReplyStats.from_dict(self.message.stats)))
        status = STATUS_NOTES.get(self.message.status)
        if status and not (self.message.status == "stopped" and notes):
            notes.append(status)
        return " · ".join(notes)

    def append(self, text: str) -> None:
        """Add streamed text (the app's mailbox already batches tokens to the screen's pace)."""
        self.body.append(displayable(text))

    def show_progress(self, tokens: int, tokens_per_second: float) -> None:
        """Live figures under a reply being written: one line repainted, right under the text that
        changed (the screen repaints the box around all changes of an update, so nearness matters)."""
        text = f"writing… {tokens:,} tok · {tokens_per_second:,.1f} tok/s"
        self.figures.update(Content(text), layout=False)

    def finish(self, message: Message) -> None:
        self.message = message
        self.body.stop_growing()
        self.figures.set_classes(f"figures -{message.status}")
        self.figures.update(Content(self.figures_text()))
