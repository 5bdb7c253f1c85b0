"""The multi-line message box. Enter sends; Ctrl+J (which every terminal sends) adds a line.

Tab completes an `@path` word at the cursor (elsewhere it moves the focus on, as before), and a
paste of more than LONG_PASTE_LINES lines becomes an attachment of its own instead of flooding the
box; both are handled by the MessageBox around it (widgets/message_box.py)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, cast

from textual import events
from textual.message import Message
from textual.widgets import TextArea

if TYPE_CHECKING:
    from textual.widget import Widget

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter", "ctrl+enter")
LONG_PASTE_LINES = 40
"""A paste longer than this becomes an attachment ("pasted text · 3,112 lines")."""
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

    class Complete(Message):
        """Tab with an `@word` ending at the cursor: complete it (`offset`: the cursor's place in the text)."""

        def __init__(self, composer: Composer, text: str, offset: int) -> None:
            super().__init__()
            self.composer = composer
            self.text = text
            self.offset = offset

    class LongPaste(Message):
        """A paste too long for the box: it goes in as an attachment."""

        def __init__(self, composer: Composer, text: str) -> None:
            super().__init__()
            self.composer = composer
            self.text = text

    class EditCancelled(Message):
        """Esc ended an edit: the box holds what it held before, and so do the files waiting."""

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
            self.post_message(self.EditCancelled())
            return
        if event.key == "tab" and self._at_word_before_cursor():
            event.stop()
            event.prevent_default()
            self.post_message(self.Complete(self, self.text, self.cursor_offset))
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
    def cursor_offset(self) -> int:
        row, column = self.cursor_location
        newline = len(self.document.newline)
        return sum(len(self.document.get_line(r)) + newline for r in range(row)) + column

    def _location(self, offset: int) -> tuple[int, int]:
        before = self.text[:offset]
        newline = self.document.newline
        return before.count(newline), len(before) - (before.rfind(newline) + len(newline) if newline in before else 0)

    def _at_word_before_cursor(self) -> bool:
        """Whether the cursor ends a word that starts with `@` (Tab then completes it)."""
        before = self.text[: self.cursor_offset]
        word = before.split()[-1] if before and not before[-1].isspace() else ""
        return word.startswith("@") and not self.selected_text

    def replace_word(self, start: int, end: int, replacement: str) -> None:
        """Put a completion in place of the `@word` (between these offsets) and the cursor after it."""
        self.replace(replacement, self._location(start), self._location(end))
        self.move_cursor(self._location(start + len(replacement)))

    async def _on_paste(self, event: events.Paste) -> None:
        """A long paste goes to the MessageBox; any other, TextArea's own handler inserts (Textual
        calls it after this one unless the default is prevented)."""
        if event.text.count("\n") >= LONG_PASTE_LINES and not self.read_only:
            event.stop()
            event.prevent_default()
            self.post_message(self.LongPaste(self, event.text))

    @property
    def scroll_target(self) -> Widget | None:
        """The transcript above this composer, which PgUp/PgDn scroll."""
        for ancestor in self.ancestors:
            if hasattr(ancestor, "transcript"):
                return cast("Widget", ancestor.transcript)
        return None
