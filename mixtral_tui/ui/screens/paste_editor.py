"""A long paste, opened from the files waiting to go with a message: read it, change it, keep it.

Ctrl+S keeps the change, Esc leaves it as it was. The text is data: it is shown as written,
never read as markup or keys.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static, TextArea


class PasteEditor(ModalScreen["str | None"]):
    BINDINGS = [Binding("ctrl+s", "keep", "Keep"), Binding("escape", "cancel", "Cancel")]
    DEFAULT_CSS = """
    PasteEditor { align: center middle; }
    PasteEditor > Vertical { width: 90%; height: 85%; border: round $accent; background: $surface; }
    PasteEditor #paste-head { padding: 0 1; color: $text-muted; }
    PasteEditor TextArea { height: 1fr; }
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("The pasted text that goes with your message. Ctrl+S keeps your changes, Esc leaves it "
                         "as it was.", id="paste-head", markup=False)
            yield TextArea(self.text, soft_wrap=True, show_line_numbers=True, id="paste-text")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_keep(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)
