"""A call the model asks to make, shown above the message box until the user answers.

y or Enter allows it once, `a` always (kept in config.toml), `A` every call of this turn, n or
Esc refuses it. The arguments come from the model: they are drawn as text, never as markup.

Typing is never taken for an answer by surprise: the request takes the focus only once the
message box has had no key for a moment, and keys in the first moment after it takes the focus
are not answers; printable ones go on into the message box, as typed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import Static

from mixtral_tui.chat.tool_rounds import CallAsked, Decision

if TYPE_CHECKING:
    from mixtral_tui.ui.app_tools import AnswerBox
    from mixtral_tui.ui.widgets.chat_view import ChatView

READ_FIRST_SECONDS = 0.6
"""Keys this soon after the request took the focus are not answers (the user was typing)."""

MAX_SHOWN_LINES = 14
"""Longer arguments are shown to this many lines, the rest counted (the whole is in the history)."""


class ToolRequest(Static, can_focus=True):
    DEFAULT_CSS = """
    ToolRequest { height: auto; max-height: 20; margin: 0 1; padding: 0 1; border: round $warning;
                  background: $warning 10%; }
    ToolRequest:focus { border: round $accent; }
    """

    BINDINGS = [
        Binding("y,enter", "answer('once')", "Allow once"),
        Binding("a", "answer('always')", "Always"),
        Binding("A", "answer('all')", "All this turn"),
        Binding("n,escape", "answer('refuse')", "Refuse"),
    ]

    def __init__(self, asked: CallAsked, on_answer: Callable[[Decision], None], on_typed: Callable[[str], None]) -> None:
        super().__init__(self._content(asked))
        self.asked = asked
        self._on_answer = on_answer
        self._on_typed = on_typed
        self.focused_at = 0.0

    @staticmethod
    def _content(asked: CallAsked) -> Text:
        tool = asked.tool
        text = Text()
        text.append("The model asks to call ", style="bold")
        text.append(asked.call.name, style="bold")
        text.append(f"  (server {tool.server}, its tool {tool.tool})\n")
        lines = asked.shown_arguments.splitlines()
        shown = lines[:MAX_SHOWN_LINES]
        text.append("\n".join(shown))
        if len(lines) > len(shown):
            text.append(f"\n… {len(lines) - len(shown):,} more lines", style="dim")
        text.append("\ny", style="bold")
        text.append(" or Enter: allow once · ")
        text.append("a", style="bold")
        text.append(f": always allow {asked.call.name} · ")
        text.append("A", style="bold")
        text.append(": allow every call of this turn · ")
        text.append("n", style="bold")
        text.append(" or Esc: refuse")
        return text

    def on_focus(self) -> None:
        self.focused_at = time.monotonic()

    def _too_soon(self) -> bool:
        return time.monotonic() - self.focused_at < READ_FIRST_SECONDS

    def on_key(self, event: events.Key) -> None:
        if self._too_soon() and event.is_printable and event.character:
            event.stop()
            event.prevent_default()
            self._on_typed(event.character)

    def action_answer(self, decision: str) -> None:
        if self._too_soon():
            return
        self._on_answer(Decision(decision))


IDLE_SECONDS = 1.0
"""The message box must have had no key this long before a request takes the focus from it."""


async def show_request(view: ChatView, asked: CallAsked, box: AnswerBox,
                       then: Callable[[Decision], None] = lambda decision: None) -> ToolRequest:
    """Mount the request above the message box; it takes the focus once typing pauses (or at
    once, when the focus is elsewhere); answered, it goes, the focus goes back, and `then` is told."""
    composer = view.composer

    def answered(decision: Decision) -> None:
        box.answer(decision)
        then(decision)
        had_focus = request.has_focus
        request.remove()
        if had_focus:
            composer.focus()

    def typed(character: str) -> None:
        composer.insert(character)

    request = ToolRequest(asked, answered, typed)
    await view.mount(request, before=composer)

    def take_focus() -> None:
        if box.answered or not request.is_attached:
            return
        idle = time.monotonic() - composer.last_key_at
        if composer.has_focus and idle < IDLE_SECONDS:
            view.set_timer(IDLE_SECONDS - idle + 0.05, take_focus)
            return
        focused = view.app.focused
        if focused is None or focused is composer or view in focused.ancestors:
            request.focus()
            request.scroll_visible()

    take_focus()
    return request
