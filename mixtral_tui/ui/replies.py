"""Replies: sending a message, writing the reply in a thread worker, showing it as it streams,
stopping it, writing a reply again (Ctrl+R for the last, r on a message picked in the transcript)
and editing a message (↑ for the last, e on one picked).

A mixin for MixtralApp (as ui/conversations.py), kept apart so the app module holds the
layout and the model's loading.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, replace

from textual import work

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import CancelToken, ReplyStats
from mixtral_tui.errors import PromptTooLongError, UserError
from mixtral_tui.figures import status_figures
from mixtral_tui.reply import REPLACED, ReplyRun, in_context, title_from
from mixtral_tui.store.history import Message
from mixtral_tui.ui.messages import ChunkMailbox, ReplyChunk, ReplyFinished, ReplyStarted
from mixtral_tui.ui.widgets.chat_view import ChatView
from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.ui.widgets.sidebar import Sidebar
from mixtral_tui.ui.widgets.transcript import Transcript

STATUS_INTERVAL = 1.0
"""Seconds between updates of the live figures in the status line (the reply's own line has them at every update)."""


@dataclass
class Generation:
    """The one reply being written right now."""

    conversation_id: int
    cancel: CancelToken
    mailbox: ChunkMailbox
    text: str = ""
    message: object | None = None
    status_shown: float = 0.0  # when the status line last showed the live figures
    animation_level: str = "full"  # the app's, put back when the reply ends


class ReplyActions:
    """Sending and the reply being written (needs MixtralApp's attributes)."""

    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        view = event.composer.parent
        assert isinstance(view, ChatView)
        if not self._can_write("Not sent", "send again", "Your text is kept."):
            return
        conversation = self._guard(self.history.conversation, view.conversation_id)
        if conversation is None:
            return
        if event.replacing is not None:
            messages = self._guard(self.history.messages, view.conversation_id)
            if messages is None or not await self._replace_from(view, messages, event.replacing):
                return
        user_message = self._guard(self.history.add_message, conversation.id, "user", event.text)
        if user_message is None:
            return
        event.composer.clear()
        event.composer.stop_editing()
        await view.add_message(user_message)
        self._start_reply(conversation)
        if conversation.title == "New chat":
            await self.rename(conversation.id, title_from(event.text))  # refreshes the list too
        else:
            await self.refresh_sidebar()

    def on_composer_edit_last(self, event: Composer.EditLast) -> None:
        """↑ in an empty box: the last message the user sent, back in the box to edit."""
        view = event.composer.parent
        assert isinstance(view, ChatView)
        messages = self._guard(self.history.messages, view.conversation_id) or []
        last = next((m for m in reversed(messages) if m.role == "user" and in_context(m)), None)
        if last is None:
            self.notify("There is no message of yours to edit here yet.", severity="warning")
        else:
            self._edit(view, messages, last.id)

    async def on_transcript_message_chosen(self, event: Transcript.MessageChosen) -> None:
        """`e`, `r` or `f` on a message picked in the transcript."""
        view = self.active_view()
        if view is None:
            return
        if event.action == "edit":
            self._edit(view, self._guard(self.history.messages, view.conversation_id) or [], event.view.message.id)
        elif event.action == "fork":
            await self._fork(view.conversation_id, event.view.message.id)
        else:
            await self._write_again(view, event.view.message.id)

    async def _fork(self, conversation_id: int, message_id: int) -> None:
        """A new conversation of the turns up to this message (what was replaced left out), opened in
        a tab of its own: another way from there, the original unchanged."""
        conversation = self._guard(self.history.conversation, conversation_id)
        said, index = self._turn_of(self._guard(self.history.messages, conversation_id) or [], message_id, "pick")
        if conversation is None or index is None:
            return
        title = f"{conversation.title} (fork)"
        fork = self._guard(self.history.fork, conversation_id, title, said[: index + 1])
        if fork is None:
            return
        await self.open_conversation(fork.id)
        await self.refresh_sidebar()
        after = "Enter sends the next message" if said[index].role == "assistant" else "Ctrl+R writes its reply"
        self.notify(f"Forked into “{title}” with {index + 1} message{'s' if index else ''}; {after}. The original is unchanged.")

    def _edit(self, view: ChatView, messages: list[Message], message_id: int) -> None:
        """A message the user sent, back in the box: sent, it takes the place of this one and of
        what followed it."""
        said, index = self._turn_of(messages, message_id, "edit")
        if index is None:
            return
        if said[index].role != "user":
            self.notify("Only your own messages can be edited: r writes a reply again.", severity="warning")
        elif self.generation is not None and self.generation.conversation_id == view.conversation_id:
            self.notify("A reply is being written here: stop it (Esc) first, then edit.", severity="warning")
        else:
            later = len(said) - index - 1
            view.composer.edit_message(message_id, said[index].content, after=0 if later <= 1 else later)

    def _turn_of(self, messages: list[Message], message_id: int, what: str) -> tuple[list[Message], int | None]:
        """The turns in context and this message's place among them; None (said so) if it was
        replaced already (picked before an edit elsewhere replaced it)."""
        said = [m for m in messages if in_context(m)]
        index = next((i for i, m in enumerate(said) if m.id == message_id), None)
        if index is None:
            self.notify(f"That message was replaced already: {what} the one that took its place.", severity="warning")
        return said, index

    async def _replace_from(self, view: ChatView, messages: list[Message], message_id: int) -> bool:
        """This message and what followed it (of the conversation's `messages`) are kept, marked
        replaced, out of the model's sight: the conversation goes on from before it (an edit sent in
        its place, a reply written again)."""
        gone = [m for m in messages if m.id >= message_id and in_context(m)]
        try:
            for message in gone:
                self.history.set_status(message.id, REPLACED)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=12)
            return False
        await view.show_newest()  # what comes next goes at the end
        for message in gone:
            view.update_message(replace(message, status=REPLACED))
        return True

    async def action_regenerate(self) -> None:
        """Ctrl+R: write the last reply again, or answer the last message if it has no reply (it
        failed, or the app was closed)."""
        view = self.active_view()
        if view is not None:
            await self._write_again(view, None)

    async def _write_again(self, view: ChatView, from_id: int | None) -> None:
        """The conversation written again from a reply (`from_id`, else the last one): it and what
        followed stay, marked replaced, out of the model's sight. From a message of the user's, the
        reply to it is written again."""
        again = "press Ctrl+R again" if from_id is None else "press r again"
        if not self._can_write("Not written again", again, ""):
            return
        conversation = self._guard(self.history.conversation, view.conversation_id)
        messages = self._guard(self.history.messages, view.conversation_id)
        if conversation is None or messages is None:
            return
        said = [m for m in messages if in_context(m)]
        if from_id is None:
            if not any(m.role == "user" for m in said):
                self.notify("Nothing to answer yet: write a message first.", severity="warning")
                return
            index = len(said) - 1 if said[-1].role == "assistant" else len(said)
        else:
            said, index = self._turn_of(messages, from_id, "pick")
            if index is None:
                return
            index += said[index].role == "user"  # from a message of the user's: from the reply after it
        if index < len(said) and not await self._replace_from(view, messages, said[index].id):
            return
        sampling = self.config.sampling.merged(conversation.sampling)
        if sampling.temperature == 0:
            self.notify("The temperature is 0 (the likeliest word each time): the reply comes out the same. "
                        "Raise it for this conversation with F4 for another.", severity="warning")
        # A fixed seed would give the same reply too: written again, it is drawn with a new one.
        self._start_reply(conversation, replace(sampling, seed=-1))
        view.composer.focus()  # from the transcript (r): back to typing, the reply at the bottom
        await self.refresh_sidebar()

    def _can_write(self, refused: str, again: str, kept: str) -> bool:
        """Whether a reply can start now; if not, a note that says why and what to do."""
        if self.generation is not None:
            title = self._title_of(self.generation.conversation_id)
            self.notify(
                f"A reply is being written in “{title}”. Wait for it, or press Esc to stop it, then {again}.",
                severity="warning",
            )
            return False
        if self.model_info is None:
            why = f"the model is still loading; {again} in a moment" if self.loading else (
                "no model is loaded: press F3 to set the model file, or restart with --model PATH.gguf"
            )
            self.notify(f"{refused}: {why}. {kept}".strip(), severity="warning")
            return False
        return True

    def _start_reply(self, conversation, sampling: Sampling | None = None) -> None:
        """Write a reply to the conversation as stored, in a thread worker (with its own sampling
        settings unless given)."""
        system_prompt = conversation.system_prompt if conversation.system_prompt is not None else self.config.chat.system_prompt
        sampling = sampling or self.config.sampling.merged(conversation.sampling)
        # status_shown = now: figures in the status line from 1 s on, not "1 tok · 0.0 tok/s"
        self.generation = Generation(
            conversation.id, CancelToken(), ChunkMailbox(self.pacer), status_shown=time.monotonic(),
            animation_level=self.animation_level,
        )
        # No animation frames while the model writes: each is a screen update taken from it (a new
        # chat's tab, renamed now, slid its underline for 0.3 s: 15 updates, 10-30 % of the UI's CPU
        # in a short reply on 2 cores). Scrolling moves at once meanwhile; smoothly again after.
        self.animation_level = "none"
        self._hold_full_collections()
        self.status.state_text = "Reading the prompt…"
        self.status.figures_text = ""  # the live figures take the room while writing
        self._generate(conversation.id, sampling, system_prompt, self.generation)

    @work(thread=True, group="generate", exit_on_error=False)
    def _generate(self, conversation_id: int, sampling, system_prompt: str, generation: Generation) -> None:
        run = ReplyRun(self._engine, self.history, conversation_id, sampling, system_prompt, generation.cancel)

        def deliver(chunk) -> None:
            if generation.mailbox.put(chunk):
                self.post_message(ReplyChunk(conversation_id))

        try:
            message = run.run(
                on_chunk=deliver,
                # A copy: the worker keeps filling in its own object while the UI builds the view.
                on_start=lambda m: self.post_message(ReplyStarted(conversation_id, replace(m), run.notice)),
            )
        except PromptTooLongError as exc:  # in the app: the message comes back with ↑, the context is in F3
            advice = "↑ in the empty message box brings it back to shorten; F3 sets the context size (model.context_size)"
            self.post_message(ReplyFinished(conversation_id, run.message, f"{exc} {advice}."))
        except UserError as exc:
            self.post_message(ReplyFinished(conversation_id, run.message, str(exc)))
        except Exception as exc:
            self.post_message(ReplyFinished(conversation_id, run.message, f"the reply failed: {exc}"))
        else:
            self.post_message(ReplyFinished(conversation_id, message))
        finally:
            self.history.close()  # this thread's connection

    async def on_reply_started(self, event: ReplyStarted) -> None:
        if self.generation is None:
            return
        self.generation.message = event.message
        view = self.chat_view(event.conversation_id)
        if view is not None:
            if event.notice is not None:
                await view.add_message(event.notice)
            await view.begin_reply(event.message)
        self.status.state_text = "Writing… (Esc stops)"
        # The list, refreshed at the send, now counts the reply being written too: one entry redrawn.
        conversation = self._guard(self.history.conversation, event.conversation_id)
        if conversation is not None:
            self.query_one(Sidebar).list_view.update(conversation)

    async def on_reply_chunk(self, event: ReplyChunk) -> None:
        generation = self.generation
        if generation is None:
            return
        await self._drain(generation)

    async def _drain(self, generation: Generation) -> None:
        """Show whatever text the worker has produced since the last look."""
        text, latest = generation.mailbox.take()
        if not text and latest is None:
            return
        generation.text += text
        view = self.chat_view(generation.conversation_id)
        if view is not None:
            view.append(text)
            if latest is not None:
                view.show_progress(latest.completion_tokens, latest.decode_tps)
        now = time.monotonic()
        if latest is not None and now - generation.status_shown >= STATUS_INTERVAL:
            # Not at every update: the screen repaints the box around all the changes of an
            # update, and the status line at the bottom would pull in everything in between.
            generation.status_shown = now
            self.status.state_text = (
                f"Writing: {latest.completion_tokens:,} tok · {latest.decode_tps:,.1f} tok/s (Esc stops)"
            )

    async def on_reply_finished(self, event: ReplyFinished) -> None:
        if self.generation is not None:
            await self._drain(self.generation)  # text that arrived after the last ReplyChunk
            self.animation_level = self.generation.animation_level
        self.generation = None
        self.call_after_refresh(self._release_full_collections)  # once the end of the reply is on screen
        view = self.chat_view(event.conversation_id)
        if event.message is not None:
            if view is not None:
                if view.live is None:  # the reply failed before it started
                    await view.add_message(event.message)
                else:
                    view.end_reply(event.message)
            stats = ReplyStats.from_dict(event.message.stats) if event.message.stats else None
            self.status.figures_text = status_figures(stats) if stats else ""
        if event.error and self.model_info is not None and self._engine is not None and self._engine.info is None:
            self.model_info = None  # the model's process ended: nothing is loaded any more
            self.status.model_text = "No model"
        self.status.state_text = "Ready" if self.model_info else "No model: Ctrl+G loads one"
        if event.error:
            self.notify(event.error, title="Reply not finished", severity="error", timeout=15)
        await self.refresh_sidebar()

    def _hold_full_collections(self) -> None:
        """No full garbage collection while a reply streams: each walks every object (the reply's
        rendered lines among them) and took 40-100 ms, the longest waits of a 10,000-token reply.
        Young objects are still collected; the full pass runs once, when the reply has ended."""
        if self._gc_thresholds is None:
            self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(self._gc_thresholds[0], self._gc_thresholds[1], 1_000_000_000)

    def _release_full_collections(self) -> None:
        if self._gc_thresholds is not None and self.generation is None:
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
            gc.collect()

    def action_stop(self) -> None:
        if self.generation is not None:
            self.generation.cancel.cancel()
            self.status.state_text = "Stopping…"

