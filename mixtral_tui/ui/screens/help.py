"""F1 / ?: every key the app answers to, read from the same list the bindings use."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from mixtral_tui.ui.keys import APP_KEYS, WIDGET_KEYS, pretty


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical { width: 90; height: auto; max-height: 90%; border: round $primary; background: $surface; padding: 0 1; }
    HelpScreen DataTable { height: auto; max-height: 30; }
    HelpScreen .hint { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys", classes="title")
            yield DataTable(show_cursor=False, zebra_stripes=True)
            yield Static(
                "Every action is also in the command palette (Ctrl+P). Esc, F1 or q closes this.",
                classes="hint",
            )

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action")
        for key in APP_KEYS:
            table.add_row(pretty(key.keys), key.description)
        for keys, text in WIDGET_KEYS:
            table.add_row(keys, text)
