"""The line at the bottom: model, state, live speed, and the last reply's figures.

It keeps to one line at any width. What goes first when it does not fit: the last reply's figures
after its speed, then the model's details (template, then context size), then the model's name is
shortened, and last the last reply's speed. The state ("Ready", "Writing: 226 tok · 44.3 tok/s")
always stays whole: at 80 columns, idle, the speed is still there.
"""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

SEPARATOR = " │ "
DETAIL = " · "  # between the parts of the model's text and of the figures


def fitted(model: str, state: str, figures: str, width: int) -> str:
    """The status line's text in at most `width` cells (the state whole, where it fits at all)."""
    model_parts = [p for p in model.split(DETAIL) if p]
    figure_parts = [p for p in figures.split(DETAIL) if p]

    def line() -> str:
        shown = [DETAIL.join(model_parts), state, DETAIL.join(figure_parts)]
        return SEPARATOR.join(p for p in shown if p)

    while len(line()) > width and len(figure_parts) > 1:
        figure_parts.pop()
    while len(line()) > width and len(model_parts) > 1:
        model_parts.pop()
    name = model_parts[0] if model_parts else ""
    if len(line()) > width and model_parts:
        kept = [state] + ([figure_parts[0]] if figure_parts else [])
        room = width - len(SEPARATOR.join(p for p in kept if p)) - len(SEPARATOR)
        model_parts = [name[: room - 1] + "…"] if room >= 8 else []
    if len(line()) > width and figure_parts:  # the speed goes last, and the name gets its room back
        figure_parts.pop()
        room = width - len(state) - len(SEPARATOR) if state else width
        model_parts = [name if len(name) <= room else name[: room - 1] + "…"] if name and room >= 8 else []
    text = line()
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    model_text: reactive[str] = reactive("No model")
    state_text: reactive[str] = reactive("")
    figures_text: reactive[str] = reactive("")

    def render(self) -> Content:
        width = self.content_region.width or 10_000  # before the first layout: all of it
        return Content(fitted(self.model_text, self.state_text, self.figures_text, width))

    def on_resize(self) -> None:
        self.refresh()

