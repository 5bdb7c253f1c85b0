"""One message in a conversation: who said it, the text as Markdown, and its figures."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Markdown, Static
from textual.widgets._markdown import MarkdownStream

from mixtral_tui.engine.base import ReplyStats
from mixtral_tui.figures import reply_figures
from mixtral_tui.store.history import Message
from mixtral_tui.text_safety import displayable

ROLE_LABELS = {"user": "You", "assistant": "Assistant", "notice": "Note", "system": "System"}
STATUS_NOTES = {
    "stopped": "stopped by you",
    "interrupted": "interrupted (the app was closed while it was written)",
    "error": "failed",
    "streaming": "writing…",
}


class MessageView(Vertical):
    """A message. Assistant replies stream in through a MarkdownStream (O(1) work per token)."""

    DEFAULT_CSS = """
    MessageView { height: auto; margin: 0 1 1 1; padding: 0 1; }
    MessageView.-user { border-left: thick $primary; background: $primary 8%; }
    MessageView.-assistant { border-left: thick $success; }
    MessageView.-notice { border-left: thick $warning; color: $text-warning; }
    MessageView .role { text-style: bold; color: $text-muted; }
    MessageView Markdown { margin: 0; padding: 0; background: transparent; }
    MessageView .figures { color: $text-muted; }
    MessageView.-stopped .figures, MessageView.-error .figures, MessageView.-interrupted .figures { color: $text-warning; }
    """

    def __init__(self, message: Message) -> None:
        super().__init__(classes=f"-{message.role} -{message.status}")
        self.message = message
        self.body = Markdown(displayable(message.content))
        self.figures = Static(Content(self.figures_text()), classes="figures")  # made now: finish() may come before compose
        self._stream: MarkdownStream | None = None

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

    def start_stream(self) -> None:
        self._stream = Markdown.get_stream(self.body)

    async def append(self, text: str) -> None:
        """Add streamed text; the stream batches fragments when tokens outpace the screen."""
        if self._stream is None:
            self.start_stream()
        await self._stream.write(displayable(text))

    async def finish(self, message: Message) -> None:
        if self._stream is not None:
            await self._stream.stop()
            self._stream = None
        self.message = message
        self.set_classes(f"-{message.role} -{message.status}")
        self.figures.update(Content(self.figures_text()))
