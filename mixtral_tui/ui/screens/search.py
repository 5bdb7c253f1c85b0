"""Ctrl+F: find saved messages by their words, across every conversation or in the open one
(Ctrl+T switches), and open one.

Results follow the typing. The query runs in a thread worker (a database another instance
holds busy must not freeze the screen); an answer for text that has since changed is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from mixtral_tui.errors import UserError
from mixtral_tui.store.history import History
from mixtral_tui.store.search import SearchHit
from mixtral_tui.text_safety import displayable, displayable_line
from mixtral_tui.vocabulary import Role, Status

ROLE_NAMES: dict[str, str] = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.SYSTEM: "System", "title": "Title"}
LIMIT = 100
HINT = "Type words to find them (all must occur; each may be the start of a word)."


@dataclass(frozen=True)
class Found:
    """What the user chose: a conversation, and the message to show in it (None for a title)."""

    conversation_id: int
    message_id: int | None
    word: str = ""  # the first word found in it, as written there
    passage: str = ""  # the snippet around it: of several places with the word, the one to show
    in_thinking: bool = False  # found in the reply's thinking: shown unfolded
    in_attachment: bool = False  # found in a file the message carried: its files shown


def marked_content(hit: SearchHit) -> Content:
    """The snippet as plain text (never markup) with the words found in bold."""
    text, spans = hit.marked()
    content = Content(displayable(text))
    for start, end in spans:
        content = content.stylize("bold $text-accent", start, end)
    return content


def hit_option(hit: SearchHit, index: int) -> Option:
    """Where it is (title, who, when) over the snippet; a title that matched is the snippet itself."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.created_at))
    replaced = " (replaced)" if hit.status == Status.REPLACED else ""
    wrote = f" · {displayable_line(hit.model)}" if hit.model and hit.role == Role.ASSISTANT else ""
    wrote += f" on {displayable_line(hit.server)}" if wrote and hit.server else ""
    wrote += " · in its thinking" if hit.in_thinking else ""
    wrote += f" · in its file {displayable_line(hit.in_attachment)}" if hit.in_attachment else ""
    about = Content.styled(f"  {ROLE_NAMES.get(hit.role, hit.role)}{wrote}{replaced} · {when}", "$text-muted")
    if hit.message_id is None:
        return Option(Content.assemble(marked_content(hit).stylize("bold"), about), id=str(index))
    title = Content.styled(displayable_line(hit.title), "bold")
    return Option(Content("\n").join([Content.assemble(title, about), marked_content(hit)]), id=str(index))


class SearchScreen(ModalScreen[Found | None]):
    BINDINGS = [
        Binding("escape", "dismiss(None)", "Close"),
        Binding("down", "move('cursor_down')", show=False),
        Binding("up", "move('cursor_up')", show=False),
        Binding("pagedown", "move('page_down')", show=False),
        Binding("pageup", "move('page_up')", show=False),
        Binding("ctrl+t", "switch_scope", "This conversation / all", show=False),
    ]
    DEFAULT_CSS = """
    SearchScreen { align: center middle; }
    SearchScreen > Vertical { width: 90%; max-width: 110; height: 80%; border: round $primary; background: $surface; padding: 0 1; }
    SearchScreen .title { text-style: bold; }
    SearchScreen #summary { color: $text-muted; margin: 0 0 1 0; }
    SearchScreen OptionList { height: 1fr; border: none; padding: 0; }
    SearchScreen .hint { color: $text-muted; }
    """

    class Answer(Message):
        def __init__(self, text: str, scope: int | None, hits: list[SearchHit] | None, error: str | None = None) -> None:
            super().__init__()
            self.text = text
            self.scope = scope
            self.hits = hits
            self.error = error

    def __init__(self, history: History, conversation: tuple[int, str] | None = None) -> None:
        """conversation: the open one (id, title), which Ctrl+T limits the search to."""
        super().__init__()
        self.history = history
        self.conversation = conversation
        self.scope: int | None = None  # a conversation's id, or None for all of them
        self.hits: list[SearchHit] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="title", classes="title")
            yield Input(placeholder="words to find…", id="query")
            yield Static(HINT, id="summary", markup=False)
            yield OptionList(id="hits")
            switch = " · Ctrl+T this conversation / all" if self.conversation else ""
            yield Static(f"Enter opens the message · ↑ ↓ PgUp PgDn choose{switch} · Esc closes", classes="hint", markup=False)

    def _title(self) -> Content:
        if self.scope is None or self.conversation is None:
            return Content("Search every saved conversation")
        return Content.assemble("Search in “", displayable_line(self.conversation[1]), "” (in the order written)")

    def on_mount(self) -> None:
        self.query_one("#hits", OptionList).can_focus = False  # typing stays in the box; ↑ ↓ move the choice

    def on_input_changed(self, event: Input.Changed) -> None:
        self._search(event.value, self.scope)

    def action_switch_scope(self) -> None:
        if self.conversation is None:
            self.app.bell()
            return
        self.scope = None if self.scope is not None else self.conversation[0]
        self.query_one("#title", Static).update(self._title())
        self._search(self.query_one("#query", Input).value, self.scope)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def _search(self, text: str, scope: int | None) -> None:
        try:
            hits = self.history.search(text, LIMIT, scope) if text.strip() else None
            self.post_message(self.Answer(text, scope, hits))
        except UserError as exc:
            self.post_message(self.Answer(text, scope, [], str(exc)))
        finally:
            self.history.close()  # this thread's connection

    def on_search_screen_answer(self, answer: Answer) -> None:
        if answer.text != self.query_one("#query", Input).value or answer.scope != self.scope:
            return  # typed on, or switched, since: a newer answer is coming
        summary = self.query_one("#summary", Static)
        hits = self.query_one("#hits", OptionList)
        self.hits = answer.hits or []
        options: list[Option | None] = []
        for i, hit in enumerate(self.hits):
            options += [None, hit_option(hit, i)] if i else [hit_option(hit, i)]  # None: a separator line
        hits.set_options(options)
        if self.hits:
            hits.highlighted = 0
        if answer.error:
            summary.update(Content(f"The search failed: {answer.error}"))
        elif answer.hits is None:
            summary.update(Content(HINT))
        elif not self.hits:
            where = "in this conversation" if self.scope is not None else "saved"
            switch = " Ctrl+T searches every conversation." if self.scope is not None else ""
            summary.update(Content(f"Nothing {where} holds all of these words. Fewer or shorter words find more.{switch}"))
        else:
            more = " (the best ones; more words narrow it down)" if len(self.hits) >= LIMIT else ""
            summary.update(Content(f"{len(self.hits):,} found{more}"))

    def action_move(self, where: str) -> None:
        """↑ ↓ PgUp PgDn move the choice while typing goes on in the box."""
        getattr(self.query_one("#hits", OptionList), f"action_{where}")()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        hits = self.query_one("#hits", OptionList)
        if hits.highlighted is not None:
            self._choose(hits.get_option_at_index(hits.highlighted))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(event.option)

    def _choose(self, option: Option) -> None:
        hit = self.hits[int(option.id or 0)]
        text, spans = hit.marked()
        word = text[spans[0][0] : spans[0][1]] if spans else ""
        self.dismiss(Found(hit.conversation_id, hit.message_id, word, text, hit.in_thinking, bool(hit.in_attachment)))
