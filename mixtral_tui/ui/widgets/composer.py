"""The multi-line message box. Enter sends; Ctrl+J (which every terminal sends) adds a line."""

from __future__ import annotations

from textual import events
from textual.message import Message
from textual.widgets import TextArea

NEWLINE_KEYS = ("ctrl+j", "shift+enter", "alt+enter", "ctrl+enter")
SCROLL_KEYS = {  # a message box has little to page through: these move the conversation above it
    "pageup": "page_up", "pagedown": "page_down", "ctrl+home": "scroll_home", "ctrl+end": "scroll_end",
}


class Composer(TextArea):
    DEFAULT_CSS = """
    Composer { height: auto; min-height: 3; max-height: 10; margin: 0 1; }
    """

    class Submitted(Message):
        """The user pressed Enter with some text."""

        def __init__(self, composer: "Composer", text: str) -> None:
            super().__init__()
            self.composer = composer
            self.text = text

    def __init__(self, **kwargs) -> None:
        super().__init__(soft_wrap=True, show_line_numbers=False, tab_behavior="focus", **kwargs)
        self.placeholder = "Message… (Enter sends, Ctrl+J new line, F1 help)"

    async def _on_key(self, event: events.Key) -> None:
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            if self.text.strip():
                self.post_message(self.Submitted(self, self.text))
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
    def scroll_target(self):
        """The transcript above this composer, which PgUp/PgDn scroll."""
        return getattr(self.parent, "transcript", None)
