"""F1 / ?: every key the app answers to, from the list the README's table is made from too
(ui/key_help.py). The two columns wrap to the terminal: at 80 columns nothing runs off the edge."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from mixtral_tui.ui.key_help import HELP_ROWS
from mixtral_tui.ui.keys import key_for


def key_table() -> Table:
    """Rich Text cells, never strings: a string in a Rich table is read as markup."""
    table = Table(show_header=True, header_style="bold", box=None, expand=True, row_styles=["", "on #2a2a2a"])
    table.add_column("Key", ratio=2, no_wrap=False)
    table.add_column("Action", ratio=5)
    for row in HELP_ROWS:
        table.add_row(Text(row.keys.replace("`", "")), Text(row.summary[:1].upper() + row.summary[1:]))
    return table


def in_a_browser() -> str:
    """What differs in a page of `mixtral-tui web` (the keys through the key map)."""
    return (f"In a browser (mixtral-tui web): {key_for('export_conversation')} downloads the export to this "
            "computer; c and b copy into the browser's clipboard (on https or localhost, as browsers allow); the "
            f"model is the web server's, the same for every page; {key_for('quit')} ends this page's app only.")


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q,question_mark", "dismiss", "Close")]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Vertical {
        width: 90; max-width: 100%; height: auto; max-height: 100%;
        border: round $primary; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: 1fr; }  /* what is left of the box: `auto` laid it out past the screen */
    HelpScreen .hint { color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static("Keys", classes="title")
            # above the list, so it shows however short the terminal
            yield Static("Esc, F1 or q closes this; ↑ ↓ PgUp PgDn scroll. Every action is also in the command "
                         "palette (Ctrl+P).", classes="hint")
            if self.app.is_web:
                yield Static(in_a_browser(), classes="hint")
            with VerticalScroll():
                yield Static(key_table(), id="keys")
