"""The Tools screen (F10, or the command palette): mcp.json's servers, whether each started
(and why not, in one line), their tools, and a switch per server for this session (Space).
What `mixtral-tui tools` prints, kept up to date while servers start."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from mixtral_tui.tools.hub import ServerStatus, ToolHub

STATE_MARKS = {"ready": "●", "starting": "…", "failed": "✖", "off": "○"}


def server_text(status: ServerStatus) -> Text:
    """One server as the list shows it: its state, where it runs, why it did not start, its tools."""
    text = Text()
    text.append(f"{STATE_MARKS.get(status.state, '?')} {status.name}", style="bold")
    text.append(f"  {status.state}  ({status.shown})")
    if status.why:
        text.append(f"\n  {status.why}", style="italic")
    for tool in status.tools:
        text.append(f"\n    {tool.name}", style="bold")
        text.append(f"  {tool.summary}")
    return text


class ToolsScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,f10,q", "dismiss", "Close"),
        Binding("space", "switch", "Switch off / on"),
    ]
    DEFAULT_CSS = """
    ToolsScreen { align: center middle; }
    ToolsScreen > Vertical { width: 95%; height: 90%; border: round $primary; background: $surface; }
    ToolsScreen OptionList { height: 1fr; }
    ToolsScreen .hint { color: $text-muted; padding: 0 1; height: auto; }
    """

    def __init__(self, hub: ToolHub | None, where: str, no_tools: str, problem: str) -> None:
        super().__init__()
        self.hub = hub
        self.where = where
        self.no_tools = no_tools  # why the loaded model is offered none ("": it is)
        self.problem = problem  # a broken mcp.json
        self._shown: list[tuple[str, str, int]] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._hint(), classes="hint", markup=False)
            if self.hub is None:
                with VerticalScroll():
                    yield Static(self._none(), markup=False)
            else:
                yield OptionList()

    def _hint(self) -> str:
        model = f"The model loaded takes no tools: {self.no_tools}. " if self.no_tools else ""
        return (f"{model}MCP servers of {self.where}. Space switches the one picked off or on for this session. "
                "Every call is asked for (y once, a always, A all of a turn, n refuses). Esc closes.")

    def _none(self) -> str:
        if self.problem:
            return f"{self.problem}\n\nThe app runs without tools until it is fixed (then start it again)."
        return ('No MCP servers. Write them in that file, in the mcpServers format Claude Desktop and Cursor use:\n\n'
                '{"mcpServers": {\n  "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"]}\n}}\n\n'
                "then start the app again (the README's \"Tools (MCP)\" says more).")

    def on_mount(self) -> None:
        if self.hub is not None:
            self._refresh()
            self.set_interval(0.5, self._refresh)

    def _refresh(self) -> None:
        """Poll: servers start and stop in the hub's own thread."""
        assert self.hub is not None
        statuses = self.hub.statuses()
        shown = [(s.state, s.why, len(s.tools)) for s in statuses]
        if shown == self._shown:
            return
        self._shown = shown
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options([Option(server_text(s), id=s.name) for s in statuses])
        options.highlighted = highlighted if highlighted is not None else 0

    def action_switch(self) -> None:
        if self.hub is None:
            return
        options = self.query_one(OptionList)
        if options.highlighted is None:
            return
        name = options.get_option_at_index(options.highlighted).id
        status = next((s for s in self.hub.statuses() if s.name == name), None)
        if name is not None and status is not None:
            self._switch(name, on=status.state == "off")

    @work(thread=True, exclusive=True, group="tools-switch")
    def _switch(self, name: str, on: bool) -> None:
        """In a worker: a server takes a moment to stop (its stdin closed, then signals)."""
        assert self.hub is not None
        self.hub.switch(name, on)
        self.app.call_from_thread(self.notify, f"{name}: {'switched on' if on else 'switched off for this session'}")
