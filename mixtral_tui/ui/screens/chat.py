"""The app's main screen: the conversations, the transcript, the message box."""

from __future__ import annotations

from textual.screen import Screen


class ChatScreen(Screen):
    """The main screen. Nothing is focused for it when it starts (Textual would focus the
    conversation list, the first thing that takes focus, and the footer would make its keys for
    that focus too): opening the first conversation focuses its message box."""

    AUTO_FOCUS = ""

    def on_screen_suspend(self) -> None:
        """A dialog opens over the chat: the notes go, not to cover what the user works in there
        ("Exported to…" lay over the settings' path field, "Loaded with this plan…" over F4's
        system prompt)."""
        self.app.clear_notifications()
