"""The message box and what goes with it: files waiting to be sent (a long paste, the files of a
message being edited), the `@path` completions of Tab, and what the message with its files will
take of the context, said above the box as it is typed.

Everything that touches the disk or counts tokens runs in a thread worker, and its answer is
used only if the box still holds the text it was asked about: the box never waits, and a stale
answer never overwrites newer typing. Sending with files reads them first (`gather`); a file that
cannot go is refused with its reason, and the text stays in the box.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.timer import Timer
from textual.widgets import OptionList, Static, TextArea
from textual.widgets.option_list import Option

from mixtral_tui.chat import rules
from mixtral_tui.chat.attach import check_fits, read_named, unique, with_tokens
from mixtral_tui.chat.attached_text import summary
from mixtral_tui.chat.mentions import MENTION, Completion, complete, mentioned
from mixtral_tui.errors import UserError
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.text_safety import counted, displayable_line
from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.vocabulary import AttachmentKind

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp

DRAFT_SAVE_SECONDS = 0.5
"""How long after the last key the message box's text is saved as the conversation's draft."""
ESTIMATE_SECONDS = 0.4
"""How long after the last key the message's files are counted again."""
MATCHES_SHOWN = 8


class PendingFiles(OptionList):
    """The files waiting to go with the next message; Enter opens a paste to edit, Delete drops one."""

    BINDINGS = [Binding("delete", "drop", "Drop it"), Binding("backspace", "drop", "Drop it", show=False)]

    class Dropped(Message):
        def __init__(self, index: int) -> None:
            super().__init__()
            self.index = index

    def action_drop(self) -> None:
        if self.highlighted is not None:
            self.post_message(self.Dropped(self.highlighted))


class MessageBox(Vertical):
    DEFAULT_CSS = """
    MessageBox { height: auto; }
    MessageBox #attach-hint { height: auto; margin: 0 2; color: $text-muted; display: none; }
    MessageBox #attach-hint.-shown { display: block; }
    MessageBox #attach-hint.-refused { color: $text-error; }
    MessageBox PendingFiles { height: auto; max-height: 6; margin: 0 1; display: none; border: none; }
    MessageBox PendingFiles.-shown { display: block; }
    """

    class Gathered(Message):
        """The files of a message read and counted: it can be sent with them."""

        def __init__(self, text: str, replacing: int | None, attachments: list[Attachment]) -> None:
            super().__init__()
            self.text = text
            self.replacing = replacing
            self.attachments = attachments

    def __init__(self) -> None:
        super().__init__(id="message-box")
        self.pending: list[Attachment] = []
        self._estimate_timer: Timer | None = None
        self._sending: str | None = None  # the text whose files are being read to send it
        self._before_edit: list[Attachment] | None = None  # what waited when an edit began
        self._saved_draft = ""  # the draft as the history holds it
        self._saved_files: list[Attachment] = []  # and the pastes waiting with it
        self._draft_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="attach-hint")
        yield Composer(id="composer")
        yield PendingFiles(id="pending")  # after the box: Tab reaches it

    @property
    def app_(self) -> MixtralApp:
        return cast("MixtralApp", self.app)

    @property
    def composer(self) -> Composer:
        return self.query_one(Composer)

    # -- the hint line above the box ------------------------------------------
    def hint(self, text: str, refused: bool = False) -> None:
        line = self.query_one("#attach-hint", Static)
        line.update(Content(text))
        line.set_class(bool(text), "-shown")
        line.set_class(refused, "-refused")

    # -- files waiting to go ----------------------------------------------------
    def add_pending(self, attachments: Sequence[Attachment]) -> None:
        self.pending = unique([*self.pending, *attachments])
        self._changed_pending()

    def _changed_pending(self) -> None:
        self._show_pending()
        self.estimate_soon()
        self._draft_soon()  # a paste waiting is kept with the draft: nothing typed is lost

    def clear_pending(self) -> None:
        self.pending = []
        self._show_pending()
        self._clear_estimate()

    def _show_pending(self) -> None:
        listing = self.query_one(PendingFiles)
        listing.clear_options()
        for index, a in enumerate(self.pending):
            if not a.folder:  # a directory's files: one line, its note
                keys = "Enter edits · Delete drops" if a.kind == AttachmentKind.PASTE else "Delete drops"
                listing.add_option(Option(Content(f"+ {displayable_line(summary(a))}  ({keys})"), id=str(index)))
        listing.set_class(bool(listing.option_count), "-shown")
        if listing.option_count:
            listing.highlighted = 0

    def on_composer_long_paste(self, event: Composer.LongPaste) -> None:
        event.stop()
        paste = Attachment("pasted text", event.text, AttachmentKind.PASTE)
        self.add_pending([paste])
        self.app.notify(f"The paste of {counted(paste.lines, 'line')} goes with your message as an "
                        "attachment, listed under the message box: Tab reaches it, Enter edits it, Delete drops it.")

    def on_pending_files_dropped(self, event: PendingFiles.Dropped) -> None:
        event.stop()
        index = int(self.query_one(PendingFiles).get_option_at_index(event.index).id or 0)
        dropped = self.pending[index]
        # a directory's note takes its files along
        self.pending = [a for i, a in enumerate(self.pending) if i != index and not (
            dropped.kind == AttachmentKind.FOLDER and a.folder == dropped.name)]
        self._changed_pending()
        if not self.pending:
            self.composer.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        chosen = self.pending[index]
        if chosen.kind != AttachmentKind.PASTE:
            return
        from mixtral_tui.ui.screens.paste_editor import PasteEditor

        def edited(text: str | None) -> None:
            if text is not None and index < len(self.pending) and self.pending[index] is chosen:
                self.pending[index] = replace(chosen, text=text, tokens=0)
                self._changed_pending()

        self.app.push_screen(PasteEditor(chosen.text), edited)

    # -- Tab: completing an @path ---------------------------------------------
    def on_composer_complete(self, event: Composer.Complete) -> None:
        event.stop()
        base = self.app_.start_dir
        text, offset = event.text, event.offset

        def look() -> None:
            found = complete(text, offset, base)
            self.app.call_from_thread(self._completed, text, offset, found)

        self.run_worker(look, thread=True, exclusive=True, group="complete", exit_on_error=False)

    def _completed(self, text: str, offset: int, found: Completion | None) -> None:
        composer = self.composer
        if found is None or composer.text != text or composer.cursor_offset != offset:
            return  # typed on meanwhile: this answer is for other text
        if found.replacement != text[found.start:found.end]:
            composer.replace_word(found.start, found.end, found.replacement)
        if not found.matches:
            self.hint(f"no file or directory starts with {displayable_line(text[found.start:found.end])} here "
                      f"({self.app_.start_dir})")
        elif len(found.matches) > 1:
            shown = ", ".join(displayable_line(m) for m in found.matches[:MATCHES_SHOWN])
            more = f" and {len(found.matches) - MATCHES_SHOWN:,} more" if len(found.matches) > MATCHES_SHOWN else ""
            self.hint(f"{len(found.matches):,} matches: {shown}{more}")
        else:
            self.hint("")

    # -- what the message with its files will take ---------------------------
    def estimate_soon(self) -> None:
        """Counted again after a pause in typing (a worker reads and counts)."""
        if self._estimate_timer is not None:
            self._estimate_timer.stop()
        self._estimate_timer = self.set_timer(ESTIMATE_SECONDS, self._estimate)

    def _estimate(self) -> None:
        text = self.composer.text
        if not self.pending and not MENTION.search(text):
            self._clear_estimate()
            return
        self._read(text, None, sending=False)

    def _read(self, text: str, replacing: int | None, sending: bool) -> None:
        """Read the `@path` files and count the message with them, in a worker; sending, the
        message then goes (Gathered), else the count is shown."""
        app = self.app_
        engine, info, base, pending = app.engine, app.model_info, app.start_dir, list(self.pending)
        conversation_id = getattr(self.parent, "conversation_id", None)
        conversation = app.guard(app.history.conversation, conversation_id) if conversation_id else None
        if engine is None or info is None or conversation is None:
            return
        system_prompt = rules.system_prompt_for(conversation, app.config)
        max_tokens = rules.sampling_for(conversation, app.config).max_tokens

        def work() -> None:
            try:
                found = unique(pending + read_named(mentioned(text, base), info.context_size))
                found = with_tokens(engine, found)
                needed = check_fits(engine, text, system_prompt, found, info.context_size, max_tokens)
            except UserError as exc:
                self.app.call_from_thread(self._refused, text, str(exc), sending)
                return
            self.app.call_from_thread(self._counted, text, replacing, found, needed, info.context_size, sending)

        self.run_worker(work, thread=True, exclusive=True, group="gather", exit_on_error=False)

    def gather(self, text: str, replacing: int | None) -> None:
        """Send `text` once its files are read (MessageBox.Gathered), or refuse, keeping the text."""
        if self._sending is not None:
            return  # Enter again while the files are read: one message
        self._sending = text
        self.hint("reading the files…")
        self._read(text, replacing, sending=True)

    def _refused(self, text: str, reason: str, sending: bool) -> None:
        if sending:
            self._sending = None
            self.app.notify(f"Not sent: {reason}. Your text is kept.", severity="error", timeout=10)
        if self.composer.text == text:
            self.hint(reason, refused=True)

    def _counted(self, text: str, replacing: int | None, found: list[Attachment], needed: int, context: int,
                 sending: bool) -> None:
        if sending:
            self._sending = None
            self.post_message(self.Gathered(text, replacing, found))
            return
        if self.composer.text != text:
            return
        files = [a for a in found if a.kind != AttachmentKind.FOLDER]
        app = self.app_
        if files:
            self.hint(f"with {counted(len(files), 'file')} ({', '.join(displayable_line(a.name) for a in files[:3])}"
                      f"{', …' if len(files) > 3 else ''}) this message takes {needed:,} of the {context:,}-token "
                      "context")
            if app.replies.on_line() is None:
                app.status.figures_text = f"this message: {needed:,} tok with {counted(len(files), 'file')}"
        else:
            self._clear_estimate()

    def _clear_estimate(self) -> None:
        self.hint("")
        self.app_.replies.show_figures()  # the last reply's, as before

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """Typing: the draft saved half a second after it stops (and when the tab closes or the app
        quits: ConversationTabs; by the time a view unmounts, its composer is gone), so a kill -9
        loses at most that half second; the message's files counted again (when it has some)."""
        if event.text_area is not self.composer:
            return
        self._draft_soon()
        if self.pending or "@" in self.composer.text or self.query_one("#attach-hint", Static).has_class("-shown"):
            self.estimate_soon()

    def restore_draft(self, draft: str) -> None:
        """The unsent text and the files that waited with it (a paste), as the app left them."""
        composer = self.composer
        if draft and not composer.text:
            composer.text = draft
            composer.move_cursor(composer.document.end)
        self._saved_draft = draft
        conversation_id = getattr(self.parent, "conversation_id", None)
        files = self.app_.guard(self.app_.history.draft_files, conversation_id) if conversation_id else None
        if files and not self.pending:
            self.pending = files
            self._show_pending()
        self._saved_files = list(self.pending)

    def save_draft(self) -> None:
        composer = self.composer
        editing = composer.editing is not None
        text = composer.draft_before_edit if editing else composer.text
        files = (self._before_edit or []) if editing else self.pending  # an edit's own files are the message's
        files = [a for a in files if a.kind == AttachmentKind.PASTE]  # files on disk are read again when sent
        conversation_id = getattr(self.parent, "conversation_id", None)
        if (text, files) != (self._saved_draft, self._saved_files) and conversation_id is not None:
            app = self.app_
            if app.guard(app.history.save_draft, conversation_id, text, files):
                self._saved_draft, self._saved_files = text, files

    def _draft_soon(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_SAVE_SECONDS, self.save_draft)

    # -- an edit carries the files of the message edited ---------------------------
    def edit_began(self, attachments: Sequence[Attachment]) -> None:
        if self._before_edit is None:
            self._before_edit = list(self.pending)
        self.pending = list(attachments)
        self._show_pending()
        self.estimate_soon()

    def on_composer_edit_cancelled(self, event: Composer.EditCancelled) -> None:
        if self._before_edit is not None:
            self.pending, self._before_edit = self._before_edit, None
            self._show_pending()
            self.estimate_soon()

    def sent(self) -> None:
        """The message went: nothing waits any more."""
        self._before_edit = None
        self.clear_pending()

    def wants_files(self, text: str) -> bool:
        """Whether sending `text` reads files first (an @word, or files waiting)."""
        return bool(self.pending) or MENTION.search(text) is not None
