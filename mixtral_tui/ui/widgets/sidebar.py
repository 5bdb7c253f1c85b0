"""The list of saved conversations, newest first."""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, ListItem, ListView

from mixtral_tui.store.history import Conversation


def _age(stamp: float) -> str:
    seconds = time.time() - stamp
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return time.strftime("%b %d", time.localtime(stamp))


class ConversationItem(ListItem):
    def __init__(self, conversation: Conversation) -> None:
        super().__init__()
        self.conversation = conversation

    def compose(self) -> ComposeResult:
        c = self.conversation
        yield Label(Content(c.title), classes="title")
        yield Label(Content(f"{c.message_count} msgs · {_age(c.updated_at)}"), classes="meta")


class ConversationList(ListView):
    BINDINGS = [Binding("delete", "delete_highlighted", "Delete", show=False)]

    class DeleteRequested(Message):
        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    def action_delete_highlighted(self) -> None:
        item = self.highlighted_child
        if isinstance(item, ConversationItem):
            self.post_message(self.DeleteRequested(item.conversation.id))


class Sidebar(Vertical):
    DEFAULT_CSS = """
    Sidebar { width: 32; border-right: vkey $foreground 20%; }
    Sidebar.-hidden { display: none; }
    Sidebar > .heading { padding: 0 1; text-style: bold; color: $text-muted; }
    Sidebar ListItem { padding: 0 1; }
    Sidebar ListItem .title { text-wrap: nowrap; text-overflow: ellipsis; width: 1fr; }
    Sidebar ListItem .meta { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Conversations", classes="heading")
        yield ConversationList(id="conversation-list")

    @property
    def list_view(self) -> ConversationList:
        return self.query_one(ConversationList)

    async def show(self, conversations: list[Conversation], highlight: int | None = None) -> None:
        view = self.list_view
        await view.clear()
        await view.extend(ConversationItem(c) for c in conversations)
        for index, c in enumerate(conversations):
            if c.id == highlight:
                view.index = index
                break
