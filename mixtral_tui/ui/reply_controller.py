"""The one reply being written: started in a thread worker, its text moved to the screen as it
streams, stopped with Esc, ended into history and the status line.

The worker never touches widgets: it drops tokens in a `ChunkMailbox` and posts a `ReplyChunk`
only when none is pending and the pacer says the screen may update (Textual's `can_replace`
would drop a pending message, but the text must add up and the posting must wait for the pacer,
so the mailbox does both). The controller also owns the process-wide holds of a reply (no full
garbage collections, no animation frames) so that each is taken and given back in one place.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from mixtral_tui.cancel import CancelToken
from mixtral_tui.chat.figures import status_figures
from mixtral_tui.chat.rules import sampling_for, system_prompt_for
from mixtral_tui.chat.tool_rounds import Decision, ToolReply
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import Chunk, Engine, ModelInfo, ReplyStats
from mixtral_tui.errors import PromptTooLongError, UserError
from mixtral_tui.store.history import Conversation, Message
from mixtral_tui.ui.app_tools import ToolEvent
from mixtral_tui.ui.keys import key_for, model_advice, pick_model_hint
from mixtral_tui.ui.messages import ChunkMailbox, ReplyChunk, ReplyFinished, ReplyStarted, UpdatePacer
from mixtral_tui.ui.process_holds import ProcessHolds
from mixtral_tui.ui.widgets.tool_request import ToolRequest, show_request
from mixtral_tui.vocabulary import Role
from mixtral_tui.web import WEB_SERVER_NAME

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp

ASKED_WAIT = 0.05
"""At most this long, the user's message waits to be drawn until the reply's request is out."""

STATUS_INTERVAL = 1.0
"""Seconds between updates of the live figures in the status line (the reply's own line has them at every update)."""


@dataclass
class Generation:
    """The one reply being written right now."""

    conversation_id: int
    cancel: CancelToken
    mailbox: ChunkMailbox
    text: str = ""
    message: Message | None = None
    status_shown: float = 0.0  # when the status line last showed the live figures
    thinking_tokens: int = 0  # of the reply's tokens so far, the thinking's
    held: list[ReplyStarted | ReplyFinished | ToolEvent] | None = None  # news kept until the user's message is on screen
    asked: asyncio.Event = field(default_factory=asyncio.Event)  # the engine has the request


class ReplyController:
    """Starts, shows and ends replies for the app; one at a time."""

    def __init__(self, app: MixtralApp) -> None:
        self.app = app
        self.pacer = UpdatePacer()  # one for the app: each reply starts at the pace the last one found
        self.holds = ProcessHolds(app)
        self.generation: Generation | None = None

    def model_loaded(self, info: ModelInfo) -> None:
        self.pacer.share_cores_with(info.threads, os.cpu_count() or 1)

    def show_figures(self) -> None:
        """The status line's figures are those of the last reply in the conversation shown, and only
        when the loaded model wrote it: after a model switch, a tab switch or a delete, figures of
        another model or conversation stayed there (the live ones take the room while writing)."""
        app = self.app
        if self.generation is not None:
            return
        view, info = app.active_view(), app.model_info
        text = ""
        if view is not None and info is not None:
            replies = [v.message for v in view.transcript.messages() if v.message.role == Role.ASSISTANT]
            last = replies[-1] if replies else None
            same_model = (last.server == info.server and last.model == info.name) if info.server and last else (
                last is not None and last.model_file == os.path.basename(info.path))
            if last is not None and last.stats and same_model:
                text = status_figures(ReplyStats.from_dict(last.stats))
        app.status.figures_text = text

    def writing_in(self, conversation_id: int) -> bool:
        return self.generation is not None and self.generation.conversation_id == conversation_id

    # -- starting ----------------------------------------------------------
    def can_start(self, refused: str, again: str, kept: str) -> bool:
        """Whether a reply can start now; if not, a note that says why and what to do."""
        app = self.app
        if self.generation is not None:
            title = app.title_of(self.generation.conversation_id)
            app.notify(
                f"A reply is being written in “{title}”. Wait for it, or press {key_for('stop')} to stop it, then {again}.",
                severity="warning",
            )
            return False
        if app.model_info is None:
            why = f"the model is still loading; {again} in a moment" if app.loading else (
                f"no model is loaded: {pick_model_hint()}, or restart with --model PATH.gguf"
            )
            app.notify(f"{refused}: {why}. {kept}".strip(), severity="warning")
            return False
        return True

    def start(self, conversation: Conversation, sampling: Sampling | None = None, showing: bool = False) -> None:
        """Write a reply to the conversation as stored, in a thread worker (with its own sampling
        settings unless given). `showing`: the caller is still putting the user's message on
        screen, and calls `shown()` when it is there; the reply is asked for first (benchmark 8:
        the mount and the screen update it brings took 15 ms before the request went out)."""
        app = self.app
        engine = app.engine
        assert engine is not None, "can_start() says whether a model is loaded"
        system_prompt = system_prompt_for(conversation, app.config)
        sampling = sampling or sampling_for(conversation, app.config)
        # status_shown = now: figures in the status line from 1 s on, not "1 tok · 0.0 tok/s"
        generation = Generation(conversation.id, CancelToken(), ChunkMailbox(self.pacer), status_shown=time.monotonic(),
                                held=[] if showing else None)
        self.generation = generation
        # No animation frames while the model writes: each is a screen update taken from it (a new
        # chat's tab, renamed now, slid its underline for 0.3 s: 15 updates, 10-30 % of the UI's CPU
        # in a short reply on 2 cores). Scrolling moves at once meanwhile; smoothly again after.
        self.holds.reply_started()
        app.status.state_text = "Reading the prompt…"
        app.status.figures_text = ""  # the live figures take the room while writing
        loop = asyncio.get_running_loop()
        app.run_worker(
            lambda: self._generate(engine, sampling, system_prompt, generation, loop),
            thread=True, group="generate", exit_on_error=False,
        )

    def _generate(self, engine: Engine, sampling: Sampling, system_prompt: str, generation: Generation,
                  loop: asyncio.AbstractEventLoop) -> None:
        """The worker: one reply from history to history; its news goes to the UI as messages."""
        app, conversation_id = self.app, generation.conversation_id
        tools = app.tools.use(conversation_id, generation.cancel)
        run = ToolReply(engine, app.history, conversation_id, sampling, system_prompt, tools, generation.cancel)

        def current() -> Message | None:
            return run.rounds[-1].message if run.rounds else None

        def deliver(chunk: Chunk) -> None:
            if generation.mailbox.put(chunk):
                app.post_message(ReplyChunk(conversation_id))

        def asked() -> None:
            loop.call_soon_threadsafe(generation.asked.set)

        def notice() -> Message | None:
            last = run.rounds[-1].notice if run.rounds else None
            return replace(last) if last is not None else None

        def round_ended(message: Message) -> None:  # it ends in calls: their results, then the next round
            app.post_message(ToolEvent("round", conversation_id, message=replace(message)))

        def started(message: Message) -> None:
            # A copy: the worker keeps filling in its own object while the UI builds the view.
            app.post_message(ReplyStarted(conversation_id, replace(message), notice()))

        try:
            message = run.run(on_chunk=deliver, on_start=started, on_asked=asked, on_calls=round_ended)
        except PromptTooLongError as exc:  # in the app: the message comes back with ↑, the context is in F3
            advice = (f"↑ in the empty message box brings it back to shorten; {key_for('settings')} sets the "
                      "context size (model.context_size)")
            app.post_message(ReplyFinished(conversation_id, current(), f"{exc} {advice}.", notice()))
        except UserError as exc:
            app.post_message(ReplyFinished(conversation_id, current(), str(exc), notice()))
        except Exception as exc:
            app.post_message(ReplyFinished(conversation_id, current(), f"the reply failed: {exc}", notice()))
        else:
            app.post_message(ReplyFinished(conversation_id, message, notice=notice()))
        finally:
            asked()  # failed before asking: nobody waits for it
            app.history.close()  # this thread's connection

    async def asked(self) -> None:
        """Until the reply's request is out (at most ASKED_WAIT): the worker runs alone meanwhile,
        not against the user's message being mounted and drawn (benchmark 8: Enter to request)."""
        generation = self.generation
        if generation is not None:
            try:
                await asyncio.wait_for(generation.asked.wait(), ASKED_WAIT)
            except TimeoutError:
                pass

    # -- showing -----------------------------------------------------------
    async def shown(self) -> None:
        """The user's message is on screen: the reply's news kept meanwhile is shown now, in order."""
        generation = self.generation
        if generation is None or generation.held is None:
            return
        # Still held while these are shown: news that comes meanwhile waits its turn (an end shown
        # beside a start still mounting drew the reply twice).
        while generation.held:
            event = generation.held.pop(0)
            if isinstance(event, ReplyStarted):
                await self._show_start(event)
                await self.drain()  # the text that came meanwhile
            elif isinstance(event, ToolEvent):
                await self._show_tools(event)
            else:
                await self._show_end(event)
        generation.held = None

    def _held(self, event: ReplyStarted | ReplyFinished | ToolEvent) -> bool:
        """Kept for `shown` while the user's message is still going on screen (True), else shown now."""
        if self.generation is not None and self.generation.held is not None:
            self.generation.held.append(event)
            return True
        return False

    async def started(self, event: ReplyStarted) -> None:
        if not self._held(event):
            await self._show_start(event)

    async def _show_start(self, event: ReplyStarted) -> None:
        if self.generation is None:
            return
        app, generation = self.app, self.generation
        view = app.chat_view(event.conversation_id)
        if view is not None:
            if event.notice is not None:
                await view.add_message(event.notice)
            await view.begin_reply(event.message)
        # Only now: a drain meanwhile (from `shown`, this runs beside the app's queue) finds no
        # message and leaves the text for the drain after this.
        generation.message = event.message
        app.status.state_text = f"Writing… ({key_for('stop')} stops)"
        # The list, refreshed at the send, now counts the reply being written too: one entry redrawn.
        app.conversation_changed(event.conversation_id)
        paint_now(app)  # while the server reads the prompt: the first words then update only their lines

    async def drain(self) -> None:
        """Show whatever text the worker has produced since the last look."""
        generation = self.generation
        if generation is None or generation.message is None:  # not on screen yet: `started` drains
            return
        text, thinking, latest = generation.mailbox.take_all()
        if not text and not thinking and latest is None:
            return
        first = not generation.text and not generation.thinking_tokens and bool(text or thinking)
        generation.text += text
        generation.thinking_tokens = latest.completion_tokens if thinking and latest else generation.thinking_tokens
        view = self.app.chat_view(generation.conversation_id)
        if view is not None:
            if thinking:
                view.think(thinking, generation.thinking_tokens)
            view.append(text)
            if latest is not None:
                view.show_progress(latest.completion_tokens, latest.decode_tps)
        if first:
            paint_now(self.app)
        if latest is not None and latest.waiting and not generation.text:
            self.app.status.state_text = f"Waiting: {latest.waiting} ({key_for('stop')} stops)"
        now = time.monotonic()
        if latest is not None and now - generation.status_shown >= STATUS_INTERVAL:
            # Not at every update: the screen repaints the box around all the changes of an
            # update, and the status line at the bottom would pull in everything in between.
            generation.status_shown = now
            info = self.app.model_info
            # the network is in it (not in `mixtral-tui web`'s, on this machine: its own speed, as in a terminal)
            here = " measured here" if info is not None and info.server and info.server != WEB_SERVER_NAME else ""
            self.app.status.state_text = (
                f"Writing: {latest.completion_tokens:,} tok · {latest.decode_tps:,.1f} tok/s{here} ({key_for('stop')} stops)"
            )

    async def tool_event(self, event: ToolEvent) -> None:
        if not self._held(event):
            await self._show_tools(event)

    async def _show_tools(self, event: ToolEvent) -> None:
        """A round that ended in calls, a call asked for, a result: shown in the conversation."""
        app, generation = self.app, self.generation
        view = app.chat_view(event.conversation_id)
        if event.kind == "round" and generation is not None and event.message is not None:
            await self.drain()
            if view is not None:
                view.end_reply(event.message)
            generation.message, generation.text, generation.thinking_tokens = None, "", 0
            app.status.state_text = f"Tools: {len(event.message.tool_calls)} call(s) ({key_for('stop')} stops)"
        elif event.kind == "ask" and event.asked is not None and event.box is not None:
            if view is None:
                event.box.answer(Decision.REFUSE)  # its conversation is closed: no one to ask there
                return
            name = event.asked.call.name

            def answered(decision: Decision) -> None:
                running = decision != Decision.REFUSE
                app.status.state_text = (f"Running {name}… ({key_for('stop')} stops)" if running
                                         else f"Refused {name}: the model is told")

            await show_request(view, event.asked, event.box, answered)
            app.status.state_text = f"Allow {name}? y once · a always · A all · n refuses"
        elif event.kind == "result" and event.message is not None:
            if view is not None:
                await view.add_message(event.message)
            app.status.state_text = f"Tools: {event.message.stats.get('tool', '')} answered ({key_for('stop')} stops)"

    async def finished(self, event: ReplyFinished) -> None:
        if not self._held(event):
            await self._show_end(event)

    async def _show_end(self, event: ReplyFinished) -> None:
        app = self.app
        if self.generation is not None:
            await self.drain()  # text that arrived after the last ReplyChunk
        self.generation = None
        self.holds.reply_finished()
        app.call_after_refresh(self.holds.reply_drawn)  # once the end of the reply is on screen
        view = app.chat_view(event.conversation_id)
        if view is not None and event.notice is not None:
            await view.show_notice(event.notice)
        if view is not None:
            for request in view.query(ToolRequest):  # stopped while a call was asked for
                await request.remove()
        if event.message is not None:
            if view is not None:
                if view.live is not None:
                    view.end_reply(event.message)
                elif any(v.message.id == event.message.id for v in view.transcript.messages()):
                    view.update_message(event.message)  # a round that ended in calls, then a stop
                else:  # the reply failed before it started
                    await view.add_message(event.message)
            stats = ReplyStats.from_dict(event.message.stats) if event.message.stats else None
            app.status.figures_text = status_figures(stats) if stats else ""
        error = event.error
        if error and app.engine is not None and app.engine.info is None:
            app.model_gone()  # the model's process ended: nothing is loaded any more
            error = f"{error} {model_advice()}"
        elif error:
            error = f"{error} {key_for('regenerate')} writes the reply again."
        app.status.state_text = "Ready" if app.model_info else f"No model: {pick_model_hint()}"
        if error:
            app.notify(error, title="Reply not finished", severity="error", timeout=15)
        await app.refresh_sidebar()

    # -- stopping ----------------------------------------------------------
    def stop(self) -> bool:
        """Esc: the reply stops at its next token, and keeps what was written."""
        if self.generation is None:
            return False
        self.generation.cancel.cancel()
        self.app.status.state_text = "Stopping…"
        return True

    async def stop_and_wait(self) -> None:
        """Before the app quits: the reply ends as stopped, saved."""
        if self.generation is not None:
            self.generation.cancel.cancel()
            for worker in self.app.workers:
                if worker.group == "generate":
                    await worker.wait()


def paint_now(app: MixtralApp) -> None:
    """The screen updated at once, not at the next tick of Textual's 60 fps update timer: for the
    reply's first words, which the user has been waiting for (benchmark 8: 8 ms on average, up to
    17, between the text and the screen). Later updates keep to the timer and the pacer."""
    screen = app.screen
    if screen.is_current:
        screen._on_timer_update()  # what the timer calls (tests/unit/test_private_api.py)
