"""The line at the bottom: model, state, live speed, and the last reply's figures."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    model_text: reactive[str] = reactive("No model")
    state_text: reactive[str] = reactive("")
    figures_text: reactive[str] = reactive("")

    def render(self) -> Content:
        parts = [p for p in (self.model_text, self.state_text, self.figures_text) if p]
        return Content(" │ ".join(parts))
