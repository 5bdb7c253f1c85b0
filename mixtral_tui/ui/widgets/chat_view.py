"""One open conversation: its transcript and the composer under it. What the user does in it
(send, edit, write again, fork, copy) is its `actions` (ui/conversation_actions.py)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from mixtral_tui.store.history import Message
from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.ui.widgets.message_box import MessageBox
from mixtral_tui.ui.widgets.transcript import Transcript

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.conversation_actions import ConversationActions

PAGE = 20
"""Messages shown when a conversation opens, and added each time the reader reaches the top."""

FOUND_MARK_SECONDS = 3.0
"""How long a message opened from search stays marked."""

KEEP = 5 * PAGE
"""A new message at the bottom puts the oldest shown ones back behind the "earlier" note when more
than this many are shown: every widget on screen costs each layout pass (about 1 ms per 50
messages on 2 cores), and a long chat, or one the reader paged up through, would grow without end."""


class ChatView(Vertical):
    """Shows a conversation and streams the reply being written into it, if any.

    A conversation opens with its last PAGE messages; earlier ones are added a page at
    a time when the reader scrolls to the top, so a conversation of 5,000 messages
    opens as fast as one of 20 and the screen never holds more than it needs.
    """

    DEFAULT_CSS = """
    ChatView { height: 1fr; }
    /* Room for the scrollbar always: when a chat outgrows the screen, every message would be
       rendered again one column narrower (half the work of the first screen at start-up). */
    ChatView #transcript { height: 1fr; scrollbar-gutter: stable; }
    ChatView .empty, ChatView .earlier, ChatView .later { color: $text-muted; margin: 1 2; }
    ChatView MessageView.-found { background: $accent 25%; }
    """

    def __init__(self, conversation_id: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conversation_id = conversation_id
        self.live: MessageView | None = None
        self._blink = True  # the composer's cursor blinked before the reply began
        self._earlier: list[Message] = []  # not shown yet, oldest first
        self._later: list[Message] = []  # not shown, after a found message opened in the middle
        self._rebuilding = 0  # show_messages under way, or its layout not done: scroll events are not the reader's

    # -- the draft: the message box's unsent text, kept with the conversation (MessageBox) --
    def restore_draft(self, draft: str) -> None:
        self.message_box.restore_draft(draft)

    def save_draft(self) -> None:
        self.message_box.save_draft()

    @cached_property
    def actions(self) -> ConversationActions:
        from mixtral_tui.ui.conversation_actions import ConversationActions

        return ConversationActions(cast("MixtralApp", self.app), self)

    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        event.stop()
        await self.actions.send(event.text, event.replacing)

    async def on_message_box_gathered(self, event: MessageBox.Gathered) -> None:
        event.stop()
        await self.actions.send(event.text, event.replacing, event.attachments)

    def on_composer_edit_last(self, event: Composer.EditLast) -> None:
        event.stop()
        self.actions.edit_last()

    async def on_transcript_message_chosen(self, event: Transcript.MessageChosen) -> None:
        """`e`, `r` or `f` on a message picked in the transcript."""
        event.stop()
        await self.actions.chosen(event.action, event.view.message.id)

    def compose(self) -> ComposeResult:
        with Transcript(id="transcript"):
            yield Static("No messages yet. Type below and press Enter.", classes="empty")
        yield MessageBox()

    @property
    def message_box(self) -> MessageBox:
        return self.query_one(MessageBox)

    @property
    def transcript(self) -> Transcript:
        return self.query_one("#transcript", Transcript)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    @property
    def earlier_count(self) -> int:
        return len(self._earlier)

    def _earlier_note(self) -> Content:
        count = len(self._earlier)
        return Content(f"↑ {count:,} earlier message{'s' if count != 1 else ''}: scroll up (or press Home) to see them")

    def _later_note(self) -> Content:
        count = len(self._later)
        return Content(
            f"↓ {count:,} later message{'s' if count != 1 else ''}: scroll down for more, "
            "End (Ctrl+End while typing) for the newest"
        )

    async def show_messages(self, messages: list[Message], around: int | None = None) -> None:
        """Replace the transcript with these messages: the last page of them, or, with `around`
        (an index), a page from a little before that message, the later ones left out until asked for."""
        # Emptying and refilling the view moves its scroll position: no reader reached its top or
        # bottom, until the layout after it is done.
        self._rebuilding += 1
        self.transcript.set_reactive(Transcript.scroll_y, 0.0)  # not a scroll for the watchers either
        self.transcript.set_reactive(Transcript.scroll_target_y, 0.0)
        try:
            await self._replace(messages, around)
        finally:
            self.call_after_refresh(self._rebuilt)

    async def _replace(self, messages: list[Message], around: int | None) -> None:
        await self.transcript.remove_children()
        self.live = None
        start = max(0, len(messages) - PAGE) if around is None else max(0, min(around - PAGE // 4, len(messages) - PAGE))
        self._earlier, shown, self._later = messages[:start], messages[start : start + PAGE], messages[start + PAGE :]
        if self._earlier:
            await self.transcript.mount(Static(self._earlier_note(), classes="earlier"))
        if shown:
            await self.transcript.mount_all(MessageView(m) for m in shown)
        else:
            await self.transcript.mount(Static("No messages yet. Type below and press Enter.", classes="empty"))
        if self._later:
            await self.transcript.mount(Static(self._later_note(), classes="later"))
            self.transcript.anchor(False)  # reaching the bottom must not pull the reader along as pages come in
        else:
            self.transcript.scroll_end(animate=False)
            self.transcript.anchor()
        if self._earlier:
            self.call_after_refresh(self._fill_view)

    def _rebuilt(self) -> None:
        self._rebuilding -= 1

    def _shown(self) -> list[MessageView]:
        return [child for child in self.transcript.children if isinstance(child, MessageView)]

    def _all_messages(self) -> list[Message]:
        return self._earlier + [view.message for view in self._shown()] + self._later

    async def reveal(self, message_id: int, word: str = "", passage: str = "", in_thinking: bool = False,
                     in_attachment: bool = False) -> bool:
        """Bring a message on screen (opening the page around it if it is not shown) and mark it
        for a few seconds; a message taller than the view shows its line with `word` (amid the
        `passage` found, where the word comes more than once), else its start; words found in
        its thinking unfold the thinking. False if this conversation has no such message."""
        found = next((view for view in self._shown() if view.message.id == message_id), None)
        if found is None:
            messages = self._all_messages()
            index = next((i for i, m in enumerate(messages) if m.id == message_id), None)
            if index is None:
                return False
            if self.live is not None:  # a reply streams at the bottom: add pages above it instead
                while found is None and self._earlier:
                    await self.show_earlier()
                    found = next((view for view in self._shown() if view.message.id == message_id), None)
            else:
                await self.show_messages(messages, around=index)
                found = next(view for view in self._shown() if view.message.id == message_id)
        if found is None:
            return False
        target, transcript = found, self.transcript
        target.set_folded(False)  # the words found are in its text
        if in_thinking and not target.thinking_open:
            target.toggle_thinking()
        if in_attachment and not target.attachments_open:  # the words are in a file it carried
            target.toggle_attachments()
        transcript.release_anchor()

        def bring_into_view() -> None:
            """Once laid out. Worked out here: Textual's scroll_to_center put a new tab's message at the top."""
            view_height = transcript.scrollable_content_region.height
            top, height = target.virtual_region.y, target.outer_size.height
            line = target.line_with(word, passage) if word and height >= view_height else None
            if height < view_height:  # centred
                y = top - (view_height - height) // 2
            elif line is None:  # its start
                y = top
            else:  # the line with the word a third of the way down
                y = top + target.styles.padding.top + line - view_height // 3
            transcript.scroll_to(y=max(0, y), animate=False, immediate=True)

        self.call_after_refresh(bring_into_view)
        target.add_class("-found")
        self.set_timer(FOUND_MARK_SECONDS, lambda: target.remove_class("-found"))
        return True

    async def on_transcript_reached_bottom(self, event: Transcript.ReachedBottom) -> None:
        event.stop()
        if not self._rebuilding and self.transcript.scroll_y >= self.transcript.max_scroll_y:
            await self.show_later()

    async def on_transcript_wants_newest(self, event: Transcript.WantsNewest) -> None:
        event.stop()
        if self._later:
            await self.show_newest()
        else:
            self.transcript.scroll_end(animate=False)

    async def show_later(self) -> None:
        """Add the next page under the last shown message (the reader's place stays)."""
        if not self._later:
            return
        page, self._later = self._later[:PAGE], self._later[PAGE:]
        note = self.transcript.query_one(".later", Static)
        await self.transcript.mount_all([MessageView(m) for m in page], before=note)
        if self._later:
            note.update(self._later_note())
        else:
            await note.remove()  # the end: a new message anchors the view to the bottom again

    async def show_newest(self) -> None:
        """Back to the last page, as when the conversation opens (after a found message was opened)."""
        if self._later:
            await self.show_messages(self._all_messages())

    async def _fill_view(self) -> None:
        """Short messages may not fill the screen: there is then no scrolling up to ask for more."""
        transcript = self.transcript
        if self._earlier and transcript.size.height > 0 and transcript.max_scroll_y == 0:
            await self.show_earlier()
            self.call_after_refresh(self._fill_view)

    def on_resize(self) -> None:
        if self._earlier:
            self.call_after_refresh(self._fill_view)

    async def on_transcript_wants_earlier(self, event: Transcript.WantsEarlier) -> None:
        """↑ on the first message shown: the page before it comes in, and its last message is picked."""
        event.stop()
        first = self.transcript.picked

        def pick_the_one_before() -> None:  # once the reader's place is kept (it scrolls by the page's height)
            shown = self._shown()
            if first in shown and shown.index(first) > 0:
                self.transcript.pick(shown[shown.index(first) - 1])

        await self.show_earlier(then=pick_the_one_before)

    def on_transcript_leave(self, event: Transcript.Leave) -> None:
        """Esc in the transcript: stops the reply being written here, else back to the message box."""
        event.stop()
        if self.live is not None:
            cast("MixtralApp", self.app).replies.stop()
        else:
            self.composer.focus()

    async def on_transcript_reached_top(self, event: Transcript.ReachedTop) -> None:
        event.stop()
        if not self._rebuilding and self.transcript.scroll_y <= 0:  # still there: not a stale event
            await self.show_earlier()

    async def show_earlier(self, then: Callable[[], None] | None = None) -> None:
        """Add the previous page above the first shown message, keeping the reader's place (and
        then calling `then`)."""
        if not self._earlier:
            return
        shown = self._shown()
        if not shown:  # the transcript is being rebuilt (a search opened a page meanwhile)
            return
        page, self._earlier = self._earlier[-PAGE:], self._earlier[:-PAGE]
        transcript = self.transcript
        note = transcript.query_one(".earlier", Static)
        first = shown[0]
        height_before = transcript.virtual_size.height
        await transcript.mount_all([MessageView(m) for m in page], before=first)
        if self._earlier:
            note.update(self._earlier_note())
        else:
            await note.remove()

        def keep_place(tries: int = 3) -> None:
            grown = transcript.virtual_size.height - height_before
            if grown <= 0 and tries:  # a repaint came before the layout pass: look again after the next
                self.call_after_refresh(keep_place, tries - 1)
                return
            transcript.scroll_to(y=transcript.scroll_y + grown, animate=False, immediate=True)
            if then is not None:
                then()

        self.call_after_refresh(keep_place)

    async def add_message(self, message: Message) -> MessageView:
        await self.show_newest()  # a new message goes at the very end, where the reader is taken
        for empty in self.transcript.query(".empty"):
            await empty.remove()
        view = MessageView(message)
        self.transcript.forget_pick()
        await self.transcript.mount(view)
        self.transcript.scroll_end(animate=False)
        self.transcript.anchor()
        await self._keep_at_most(KEEP)
        return view

    async def _keep_at_most(self, count: int) -> None:
        """Put the oldest shown messages back with the earlier ones, a page at a time (the reader is
        at the bottom: a new message scrolled there). Home brings them back as before."""
        views = self._shown()
        if len(views) <= count:
            return
        hidden = views[: -(-(len(views) - count) // PAGE) * PAGE]  # whole pages, as Home brings them back
        self._earlier += [view.message for view in hidden]
        await self.transcript.remove_children(hidden)
        notes = self.transcript.query(".earlier")
        if notes:
            notes.first(Static).update(self._earlier_note())
        else:
            await self.transcript.mount(Static(self._earlier_note(), classes="earlier"), before=0)
        self.transcript.scroll_end(animate=False)

    async def show_notice(self, notice: Message) -> None:
        """The note of turns left out, as the reply ended: one a server's refusal made while the
        reply streamed goes in before the reply; one it re-counted is drawn again with its words."""
        shown = next((view for view in self._shown() if view.message.id == notice.id), None)
        if shown is not None and shown.message.content == notice.content:
            return
        if shown is not None:
            await self.transcript.mount(MessageView(notice), before=shown)
            await shown.remove()
        elif self.live is not None:
            await self.transcript.mount(MessageView(notice), before=self.live)

    def update_message(self, message: Message) -> None:
        """Show a stored message's new state (its status, its figures) where it is shown."""
        for view in self._shown():
            if view.message.id == message.id:
                view.finish(message)

    async def begin_reply(self, message: Message) -> None:
        """From here on, `append` streams into this message (text before this is the caller's).

        The composer's cursor stops blinking meanwhile: each blink is a screen update, and on a
        machine whose cores all run the model every update is taken from the model's speed."""
        self.live = await self.add_message(message)
        self._blink, self.composer.cursor_blink = self.composer.cursor_blink, False

    def append(self, text: str) -> None:
        if self.live is not None and text:
            self.live.append(text)

    def think(self, thinking: str, tokens: int) -> None:
        if self.live is not None:
            self.live.think(thinking, tokens)

    def show_progress(self, tokens: int, tokens_per_second: float) -> None:
        if self.live is not None:
            self.live.show_progress(tokens, tokens_per_second)

    def end_reply(self, message: Message) -> None:
        if self.live is not None:
            self.live.finish(message)
            self.live = None
            self.composer.cursor_blink = self._blink
