"""The list of saved conversations, newest first."""

from __future__ import annotations

import time
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

from mixtral_tui.store.history import Conversation
from mixtral_tui.text_safety import counted, displayable_line


def _age(stamp: float) -> str:
    seconds = time.time() - stamp
    if seconds < 60:
        return "now"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return time.strftime("%b %d", time.localtime(stamp))


LIST_PAGE = 100


def option_id(conversation_id: int) -> str:
    return f"c{conversation_id}"


def conversation_of(option: Option) -> int:
    assert option.id is not None, "every option of the list is made with its conversation's id"
    return int(option.id[1:])


class ConversationList(OptionList):
    """The conversations as options: drawn as lines, not a widget per row.

    The newest LIST_PAGE are listed at first; more are added as the highlight or the
    scrollbar nears the end, so a history of thousands starts as fast as a short one.
    """

    BINDINGS = [Binding("delete", "delete_highlighted", "Delete", show=False)]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unlisted: list[Conversation] = []

    def show(self, conversations: list[Conversation], highlight: int | None) -> None:
        """List these: as many as are listed now (a refresh must not take back pages the reader
        brought in), at least a page, and down to the highlighted one."""
        position = next((i for i, c in enumerate(conversations) if c.id == highlight), None)
        count = max(LIST_PAGE, self.option_count, (position or 0) + 1)
        self._unlisted = conversations[count:]
        self.set_options(conversation_option(c) for c in conversations[:count])
        if position is not None:
            self.highlighted = position

    def update(self, conversation: Conversation) -> None:
        """Redraw one conversation's entry in its place (its title and figures), if it is listed."""
        try:
            self.replace_option_prompt(option_id(conversation.id), conversation_option(conversation).prompt)
        except OptionDoesNotExist:
            pass

    def list_more(self) -> None:
        if self._unlisted:
            page, self._unlisted = self._unlisted[:LIST_PAGE], self._unlisted[LIST_PAGE:]
            self.add_options(conversation_option(c) for c in page)

    def watch_highlighted(self, highlighted: int | None) -> None:
        super().watch_highlighted(highlighted)
        if highlighted is not None and highlighted >= self.option_count - 5:
            self.list_more()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new >= self.max_scroll_y - 5:
            self.list_more()

    class DeleteRequested(Message):
        def __init__(self, conversation_id: int) -> None:
            super().__init__()
            self.conversation_id = conversation_id

    @property
    def highlighted_conversation(self) -> int | None:
        if self.highlighted is None or self.option_count == 0:
            return None
        return conversation_of(self.get_option_at_index(self.highlighted))

    def action_delete_highlighted(self) -> None:
        conversation_id = self.highlighted_conversation
        if conversation_id is not None:
            self.post_message(self.DeleteRequested(conversation_id))


def conversation_option(c: Conversation) -> Option:
    """Title (plain text, never markup) over a muted line of figures; a fork says so there, where
    it stays in sight however long the title. Each line is cut to the list's width by its CSS."""
    figures = [counted(c.message_count, "message"), _age(c.updated_at)]
    if c.forked_from is not None:
        figures.insert(0, "fork")
    if c.draft.strip():
        figures.append("draft")  # unsent text waits in its message box
    meta = Content.styled(" · ".join(figures), "$text-muted")
    return Option(Content("\n").join([Content(displayable_line(c.title)), meta]), id=option_id(c.id))


class Sidebar(Vertical):
    """32 columns wide; 24 below 110 columns (the app's `-medium` breakpoint); below 70 hidden until
    Ctrl+B or Ctrl+L asks for it (those rules are in app.tcss: a widget's own CSS is scoped to it,
    and cannot name the screen's classes)."""

    DEFAULT_CSS = """
    Sidebar { width: 32; border-right: vkey $foreground 20%; }
    Sidebar.-hidden { display: none; }
    Sidebar > .heading { padding: 0 1; text-style: bold; color: $text-muted; }
    Sidebar ConversationList {
        height: 1fr; border: none; padding: 0; background: transparent;
        text-wrap: nowrap; text-overflow: ellipsis;
    }
    Sidebar ConversationList:focus { border: none; }
    Sidebar ConversationList > .option-list--option { padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        yield Label("Conversations", classes="heading")
        yield ConversationList(id="conversation-list")

    def reveal(self) -> None:
        """Shown, at any width (below 70 columns the list hides itself until asked for)."""
        self.remove_class("-hidden").add_class("-shown")

    @property
    def list_view(self) -> ConversationList:
        return self.query_one(ConversationList)

    async def show(self, conversations: list[Conversation], highlight: int | None = None) -> None:
        self.list_view.show(conversations, highlight)
