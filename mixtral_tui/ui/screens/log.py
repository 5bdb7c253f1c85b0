"""F12: llama.cpp's native log, which never goes to the terminal itself."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Log, Static

from mixtral_tui.logs import LogRouter


class LogScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f12,q", "dismiss", "Close")]
    DEFAULT_CSS = """
    LogScreen { align: center middle; }
    LogScreen > Vertical { width: 95%; height: 90%; border: round $primary; background: $surface; }
    LogScreen Log { height: 1fr; }
    LogScreen .hint { color: $text-muted; padding: 0 1; }
    """

    def __init__(self, router: LogRouter) -> None:
        super().__init__()
        self.router = router
        self._shown = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            where = f"also written to {self.router.path}" if self.router.path else "not written to a file"
            yield Static(f"llama.cpp log ({where}). Esc closes.", classes="hint")
            yield Log(highlight=False, auto_scroll=True)

    def on_mount(self) -> None:
        self._refresh()
        self.set_interval(0.5, self._refresh)

    def _refresh(self) -> None:
        """Poll for new lines: cheaper than a message per native log line during a load."""
        total = self.router.total
        fresh = min(total - self._shown, len(self.router.recent))
        if fresh > 0:
            self.query_one(Log).write_lines(list(self.router.recent)[-fresh:])
        self._shown = total
