"""F12: llama.cpp's native log, which never goes to the terminal itself."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

from mixtral_tui.engine.base import LOG_ERROR, LOG_WARN
from mixtral_tui.engine.log_router import Entry, LogRouter

MARKS = {LOG_WARN: "⚠ ", LOG_ERROR: "✖ "}


def shown(entry: Entry) -> str:
    """A line as the view shows it: warnings and errors marked (plain text; Log reads no markup)."""
    _, level, line = entry
    return MARKS.get(level, "") + line


class LogScreen(ModalScreen[None]):
    """The recent log; debug lines (most of what a load writes) on request."""

    BINDINGS = [
        Binding("escape,f12,q", "dismiss", "Close"),
        Binding("d", "toggle_debug", "Debug lines"),
    ]
    DEFAULT_CSS = """
    LogScreen { align: center middle; }
    LogScreen > Vertical { width: 95%; height: 90%; border: round $primary; background: $surface; }
    LogScreen Log { height: 1fr; }
    LogScreen .hint { color: $text-muted; padding: 0 1; }
    """

    def __init__(self, router: LogRouter) -> None:
        super().__init__()
        self.router = router
        self.debug = False
        self._last = -1  # the number of the last line written to the view

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._hint(), classes="hint", markup=False)  # a path may hold brackets
            yield Log(highlight=False, auto_scroll=True)

    def _hint(self) -> str:
        where = f"also written to {self.router.path}" if self.router.path else "not written to a file"
        debug = "d hides debug lines" if self.debug else f"d shows debug lines ({self.router.debug_total:,} so far)"
        return f"llama.cpp log ({where}). {debug}. Esc closes."

    def on_mount(self) -> None:
        self._refresh()
        self.set_interval(0.5, self._refresh)

    def _refresh(self) -> None:
        """Poll for new lines: cheaper than a message per native log line during a load."""
        fresh = self.router.entries(after=self._last, debug=self.debug)
        if fresh:
            self.query_one(Log).write_lines([shown(entry) for entry in fresh])
            self._last = fresh[-1][0]
        hint = self.query_one(".hint", Static)
        if str(hint.content) != (text := self._hint()):
            hint.update(text)

    def action_toggle_debug(self) -> None:
        self.debug = not self.debug
        log = self.query_one(Log)
        log.clear()
        self._last = -1
        self._refresh()
        self.call_after_refresh(log.scroll_end, animate=False)  # at the newest line, once laid out again
