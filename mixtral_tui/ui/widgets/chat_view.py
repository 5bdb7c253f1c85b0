"""One open conversation: its transcript and the composer under it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Static

from mixtral_tui.store.history import Message
from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.ui.widgets.message import MessageView


class ChatView(Vertical):
    """Shows a conversation and streams the reply being written into it, if any."""

    DEFAULT_CSS = """
    ChatView { height: 1fr; }
    ChatView #transcript { height: 1fr; }
    ChatView .empty { color: $text-muted; margin: 1 2; }
    """

    def __init__(self, conversation_id: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conversation_id = conversation_id
        self.live: MessageView | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="transcript"):
            yield Static("No messages yet. Type below and press Enter.", classes="empty")
        yield Composer(id="composer")

    @property
    def transcript(self) -> VerticalScroll:
        return self.query_one("#transcript", VerticalScroll)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    async def show_messages(self, messages: list[Message]) -> None:
        """Replace the transcript with these messages."""
        await self.transcript.remove_children()
        self.live = None
        if messages:
            await self.transcript.mount_all(MessageView(m) for m in messages)
        else:
            await self.transcript.mount(Static("No messages yet. Type below and press Enter.", classes="empty"))
        self.transcript.scroll_end(animate=False)
        self.transcript.anchor()

    async def add_message(self, message: Message) -> MessageView:
        for empty in self.transcript.query(".empty"):
            await empty.remove()
        view = MessageView(message)
        await self.transcript.mount(view)
        self.transcript.scroll_end(animate=False)
        self.transcript.anchor()
        return view

    async def begin_reply(self, message: Message) -> None:
        """From here on, `append` streams into this message (text before this is the caller's)."""
        self.live = await self.add_message(message)

    def append(self, text: str) -> None:
        if self.live is not None and text:
            self.live.append(text)

    def end_reply(self, message: Message) -> None:
        if self.live is not None:
            self.live.finish(message)
            self.live = None
