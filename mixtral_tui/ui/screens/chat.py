"""The app's main screen: the conversations, the transcript, the message box."""

from __future__ import annotations

from textual import events
from textual.screen import Screen

from mixtral_tui.ui.widgets.sidebar import Sidebar


class ChatScreen(Screen):
    """The main screen. Nothing is focused for it when it starts (Textual would focus the
    conversation list, the first thing that takes focus, and the footer would make its keys for
    that focus too): opening the first conversation focuses its message box."""

    AUTO_FOCUS = ""
    _band: str | None = None  # the width band of the last resize (-narrow, -medium, -wide)

    def on_screen_suspend(self) -> None:
        """A dialog opens over the chat: the notes go, not to cover what the user works in there
        ("Exported to…" lay over the settings' path field, "Loaded with this plan…" over F4's
        system prompt)."""
        self.app.clear_notifications()

    def on_resize(self, event: events.Resize) -> None:
        """Ctrl+B's choice holds while the width stays in its band; a resize across a band (110 and
        70 columns) lets the width decide again: the list shown at 140 columns no longer stayed
        open at 60."""
        band = width_band(event.size.width, self.app.HORIZONTAL_BREAKPOINTS or [])
        if self._band is not None and band != self._band:
            for sidebar in self.query(Sidebar):
                sidebar.remove_class("-shown", "-hidden")
        self._band = band


def width_band(width: int, breakpoints: list[tuple[int, str]]) -> str:
    """The class Textual gives the screen at this width (the last breakpoint at or below it)."""
    band = ""
    for at, name in sorted(breakpoints):
        if width >= at:
            band = name
    return band
