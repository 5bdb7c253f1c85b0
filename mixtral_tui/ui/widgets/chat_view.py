"""One open conversation: its transcript and the composer under it."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.reactive import Reactive
from textual.widgets import Static

from mixtral_tui.store.history import Message
from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.ui.widgets.message import MessageView


PAGE = 20
"""Messages shown when a conversation opens, and added each time the reader reaches the top."""

KEEP = 5 * PAGE
"""A new message at the bottom puts the oldest shown ones back behind the "earlier" note when more
than this many are shown: every widget on screen costs each layout pass (about 1 ms per 50
messages on 2 cores), and a long chat, or one the reader paged up through, would grow without end."""


class Transcript(VerticalScroll):
    """The scrolling list of messages; says when the reader reaches its top."""

    virtual_size = Reactive(Size(0, 0), layout=False)
    """Its height follows the messages' heights, set by the layout pass that placed them: a second
    pass would change nothing (a scrollbar that appears asks for its own)."""

    class ReachedTop(TextualMessage):
        pass

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old:
            self.post_message(self.ReachedTop())

    def action_scroll_home(self) -> None:
        if self.scroll_y <= 0:  # already there: Home asks for more
            self.post_message(self.ReachedTop())
        super().action_scroll_home()

    def action_page_up(self) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.ReachedTop())
        super().action_page_up()


class ChatView(Vertical):
    """Shows a conversation and streams the reply being written into it, if any.

    A conversation opens with its last PAGE messages; earlier ones are added a page at
    a time when the reader scrolls to the top, so a conversation of 5,000 messages
    opens as fast as one of 20 and the screen never holds more than it needs.
    """

    DEFAULT_CSS = """
    ChatView { height: 1fr; }
    ChatView #transcript { height: 1fr; }
    ChatView .empty, ChatView .earlier { color: $text-muted; margin: 1 2; }
    """

    def __init__(self, conversation_id: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.conversation_id = conversation_id
        self.live: MessageView | None = None
        self._blink = True  # the composer's cursor blinked before the reply began
        self._earlier: list[Message] = []  # not shown yet, oldest first

    def compose(self) -> ComposeResult:
        with Transcript(id="transcript"):
            yield Static("No messages yet. Type below and press Enter.", classes="empty")
        yield Composer(id="composer")

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

    async def show_messages(self, messages: list[Message]) -> None:
        """Replace the transcript with these messages (the last page of them)."""
        await self.transcript.remove_children()
        self.live = None
        self._earlier = messages[:-PAGE]
        shown = messages[-PAGE:]
        if self._earlier:
            await self.transcript.mount(Static(self._earlier_note(), classes="earlier"))
        if shown:
            await self.transcript.mount_all(MessageView(m) for m in shown)
        else:
            await self.transcript.mount(Static("No messages yet. Type below and press Enter.", classes="empty"))
        self.transcript.scroll_end(animate=False)
        self.transcript.anchor()
        if self._earlier:
            self.call_after_refresh(self._fill_view)

    async def _fill_view(self) -> None:
        """Short messages may not fill the screen: there is then no scrolling up to ask for more."""
        transcript = self.transcript
        if self._earlier and transcript.size.height > 0 and transcript.max_scroll_y == 0:
            await self.show_earlier()
            self.call_after_refresh(self._fill_view)

    def on_resize(self) -> None:
        if self._earlier:
            self.call_after_refresh(self._fill_view)

    async def on_transcript_reached_top(self, event: Transcript.ReachedTop) -> None:
        event.stop()
        await self.show_earlier()

    async def show_earlier(self) -> None:
        """Add the previous page above the first shown message, keeping the reader's place."""
        if not self._earlier:
            return
        page, self._earlier = self._earlier[-PAGE:], self._earlier[:-PAGE]
        transcript = self.transcript
        note = transcript.query_one(".earlier", Static)
        first = next(child for child in transcript.children if isinstance(child, MessageView))
        height_before = transcript.virtual_size.height
        await transcript.mount_all([MessageView(m) for m in page], before=first)
        if self._earlier:
            note.update(self._earlier_note())
        else:
            await note.remove()

        def keep_place() -> None:
            transcript.scroll_to(y=transcript.scroll_y + transcript.virtual_size.height - height_before, animate=False)

        self.call_after_refresh(keep_place)

    async def add_message(self, message: Message) -> MessageView:
        for empty in self.transcript.query(".empty"):
            await empty.remove()
        view = MessageView(message)
        await self.transcript.mount(view)
        self.transcript.scroll_end(animate=False)
        self.transcript.anchor()
        await self._keep_at_most(KEEP)
        return view

    async def _keep_at_most(self, count: int) -> None:
        """Put the oldest shown messages back with the earlier ones, a page at a time (the reader is
        at the bottom: a new message scrolled there). Home brings them back as before."""
        views = [child for child in self.transcript.children if isinstance(child, MessageView)]
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

    async def begin_reply(self, message: Message) -> None:
        """From here on, `append` streams into this message (text before this is the caller's).

        The composer's cursor stops blinking meanwhile: each blink is a screen update, and on a
        machine whose cores all run the model every update is taken from the model's speed."""
        self.live = await self.add_message(message)
        self._blink, self.composer.cursor_blink = self.composer.cursor_blink, False

    def append(self, text: str) -> None:
        if self.live is not None and text:
            self.live.append(text)

    def show_progress(self, tokens: int, tokens_per_second: float) -> None:
        if self.live is not None:
            self.live.show_progress(tokens, tokens_per_second)

    def end_reply(self, message: Message) -> None:
        if self.live is not None:
            self.live.finish(message)
            self.live = None
            self.composer.cursor_blink = self._blink
