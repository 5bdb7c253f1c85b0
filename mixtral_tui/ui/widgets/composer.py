"""The multi-line message box. Enter sends; Ctrl+J (which every terminal sends) adds a line."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import events
from textual.message import Message
from textual.widgets import TextArea

if TYPE_CHECKING:
    from textual.widget import Widget

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter", "ctrl+enter")
SCROLL_KEYS = {  # a message box has little to page through: these move the conversation above it
    "pageup": "page_up", "pagedown": "page_down", "ctrl+home": "scroll_home", "ctrl+end": "scroll_end",
}


class Composer(TextArea):
    last_key_at = 0.0
    DEFAULT_CSS = """
    Composer { height: auto; min-height: 3; max-height: 10; margin: 0 1; }
    Composer.-editing { border-title-color: $warning; }
    """

    class Submitted(Message):
        """The user pressed Enter with some text (in place of message `replacing`, when editing one)."""

        def __init__(self, composer: Composer, text: str, replacing: int | None = None) -> None:
            super().__init__()
            self.composer = composer
            self.text = text
            self.replacing = replacing

    class EditLast(Message):
        """↑ in an empty box: the user wants their last message back, to edit and send again."""

        def __init__(self, composer: Composer) -> None:
            super().__init__()
            self.composer = composer

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)
        self.placeholder = "Message… (Enter sends, Ctrl+J new line, ↑ edits your last, F1 help)"
        self.editing: int | None = None  # the id of the message being edited
        self.draft_before_edit = ""  # what the box held when the edit began (Esc puts it back)

    def edit_message(self, message_id: int, text: str, after: int = 0) -> None:
        """Put a sent message back in the box; sending it puts it in the old one's place (and
        in the place of the `after` messages that followed it). The text that was in the box is
        kept aside and comes back when Esc cancels the edit."""
        if self.editing is None:
            self.draft_before_edit = self.text
        self.editing = message_id
        self.text = text
        self.move_cursor(self.document.end)
        which = "your last message" if not after else f"a message ({after} after it will be replaced too)"
        self.border_title = f"Editing {which} · Enter sends it in its place · Esc cancels"
        self.add_class("-editing")
        self.focus()

    def stop_editing(self) -> None:
        """The edit is over (sent, or cancelled): the box holds new messages again. Only these two
        end it: emptying the box (Ctrl+U, Ctrl+W...) is editing, and the banner stays."""
        self.editing = None
        self.draft_before_edit = ""
        self.border_title = None
        self.remove_class("-editing")

    async def _on_key(self, event: events.Key) -> None:
        self.last_key_at = time.monotonic()  # a tool call's request waits for a pause in typing
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            if self.text.strip():
                self.post_message(self.Submitted(self, self.text, self.editing))
            return
        if event.key == "up" and not self.text:
            event.stop()
            event.prevent_default()
            self.post_message(self.EditLast(self))
            return
        if event.key == "escape" and self.editing is not None:
            event.stop()
            event.prevent_default()
            draft = self.draft_before_edit
            self.stop_editing()
            self.text = draft
            self.move_cursor(self.document.end)
            return
        if event.key in NEWLINE_KEYS:
            event.stop()
            event.prevent_default()
            start, end = self.selection
            self._replace_via_keyboard("\n", start, end)
            return
        if event.key in SCROLL_KEYS and self.scroll_target is not None:
            event.stop()
            event.prevent_default()
            await self.scroll_target.run_action(SCROLL_KEYS[event.key])
            return
        await super()._on_key(event)

    @property
    def scroll_target(self) -> Widget | None:
        """The transcript above this composer, which PgUp/PgDn scroll."""
        return getattr(self.parent, "transcript", None)
