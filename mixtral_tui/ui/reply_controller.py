"""The replies being written: each started in a thread worker (ui/reply_worker.py), its text moved
to the screen as it streams, stopped with Esc, ended into history and the status line.

One reply per conversation, and as many at once as the engine has slots (llama-server's
`--parallel`; one for llama-cpp-python): a reply in one tab no longer waits for another's end.
The worker never touches widgets: it drops tokens in a `ChunkMailbox` and posts a `ReplyChunk`
only when none is pending and the pacer says the screen may update (Textual's `can_replace`
would drop a pending message, but the text must add up and the posting must wait for the pacer,
so the mailbox does both). The controller also owns the process-wide holds of replies (no full
garbage collections, no animation frames), taken at the first and given back after the last.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mixtral_tui.cancel import CancelToken
from mixtral_tui.chat.figures import status_figures
from mixtral_tui.chat.rules import sampling_for, system_prompt_for
from mixtral_tui.chat.tool_rounds import Decision
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import ModelInfo, ReplyStats
from mixtral_tui.store.history import Conversation, Message
from mixtral_tui.ui.app_tools import ToolEvent
from mixtral_tui.ui.keys import key_for, model_advice, pick_model_hint
from mixtral_tui.ui.messages import ChunkMailbox, ReplyFinished, ReplyStarted, UpdatePacer
from mixtral_tui.ui.process_holds import ProcessHolds
from mixtral_tui.ui.reply_worker import write_reply
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
    """One reply being written right now."""

    conversation_id: int
    cancel: CancelToken
    mailbox: ChunkMailbox
    text: str = ""
    message: Message | None = None
    status_shown: float = 0.0  # when the status line last showed the live figures
    thinking_tokens: int = 0  # of the reply's tokens so far, the thinking's
    held: list[ReplyStarted | ReplyFinished | ToolEvent] | None = None  # news kept until the user's message is on screen
    asked: asyncio.Event = field(default_factory=asyncio.Event)  # the engine has the request
    state: str = "Reading the prompt…"  # what the status line says of it while its conversation is shown


class ReplyController:
    """Starts, shows and ends replies for the app; one per conversation, as many as the engine's slots."""

    def __init__(self, app: MixtralApp) -> None:
        self.app = app
        self.pacer = UpdatePacer()  # one for the app: each reply starts at the pace the last one found
        self.holds = ProcessHolds(app)
        self.generations: dict[int, Generation] = {}  # by conversation
        self._state_is_ours = False  # the status line's state was written here (a reply's, or "Ready" after one)

    def model_loaded(self, info: ModelInfo) -> None:
        self.pacer.share_cores_with(info.threads, os.cpu_count() or 1)

    @property
    def generation(self) -> Generation | None:
        """The reply being written in the conversation shown, else any other (None: none is)."""
        return self.shown_generation() or next(iter(self.generations.values()), None)

    def shown_generation(self) -> Generation | None:
        view = self.app.active_view()
        return self.generations.get(view.conversation_id) if view is not None else None

    def writing_in(self, conversation_id: int) -> bool:
        return conversation_id in self.generations

    def slots(self) -> int:
        info = self.app.model_info
        return max(info.slots, 1) if info is not None else 1

    # -- the status line ---------------------------------------------------
    def on_line(self) -> Generation | None:
        """The reply whose state the status line shows: the one in the conversation shown; with every
        slot taken, one written elsewhere (nothing can be sent until one ends, and Esc stops it)."""
        shown = self.shown_generation()
        if shown is None and self.generations and len(self.generations) >= self.slots():
            shown = next(iter(self.generations.values()))
        return shown

    def say(self, generation: Generation, state: str) -> None:
        generation.state = state
        if self.on_line() is generation:
            self.show_status()

    def show_status(self) -> None:
        """The state and figures for the conversation shown (after a tab switch, a reply's news)."""
        app, live = self.app, self.on_line()
        others = len(self.generations) - (1 if live is not None else 0)
        if live is not None:
            elsewhere = f" · {others} more in other tabs" if others > 1 else " · 1 more in another tab" if others else ""
            app.status.state_text = live.state + elsewhere
            app.status.figures_text = ""  # the live figures take the room while writing
            self._state_is_ours = True
            return
        if others:
            app.status.state_text = ("Ready · a reply is being written in another tab" if others == 1
                                     else f"Ready · {others} replies are being written in other tabs")
            self._state_is_ours = True
        elif self._state_is_ours:
            app.status.state_text = "Ready" if app.model_info else f"No model: {pick_model_hint()}"
            self._state_is_ours = False
        self.show_figures()

    def show_figures(self) -> None:
        """The status line's figures are those of the last reply in the conversation shown, and only
        when the loaded model wrote it: after a model switch, a tab switch or a delete, figures of
        another model or conversation stayed there (the live ones take the room while writing)."""
        app = self.app
        if self.on_line() is not None:
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

    # -- starting ----------------------------------------------------------
    def can_start(self, conversation_id: int, refused: str, again: str, kept: str) -> bool:
        """Whether a reply can start in this conversation now; if not, a note that says why and what to do."""
        app, stop = self.app, key_for("stop")
        if conversation_id in self.generations:
            app.notify(f"A reply is being written here. Wait for it, or press {stop} to stop it, then {again}. {kept}"
                       .strip(), severity="warning")
            return False
        slots = self.slots()
        if len(self.generations) >= slots:
            titles = ", ".join(f"“{app.title_of(g.conversation_id)}”" for g in self.generations.values())
            if slots == 1:
                note = f"A reply is being written in {titles}. Wait for it, or press {stop} to stop it, then {again}."
            else:
                note = (f"All {slots} of the model's slots are writing (in {titles}). Wait for one to end, or stop "
                        f"one with {stop} in its tab, then {again}. {kept}")
            app.notify(note.strip(), severity="warning")
            return False
        if app.model_info is None:
            why = f"the model is still loading; {again} in a moment" if app.loading else (
                f"no model is loaded: {pick_model_hint()}, or restart with --model PATH.gguf"
            )
            app.notify(f"{refused}: {why}. {kept}".strip(), severity="warning")
            return False
        return True

    def start(self, conversation: Conversation, sampling: Sampling | None = None, showing: bool = False) -> Generation:
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
        self.generations[conversation.id] = generation
        # No animation frames while the model writes: each is a screen update taken from it (a new
        # chat's tab, renamed now, slid its underline for 0.3 s: 15 updates, 10-30 % of the UI's CPU
        # in a short reply on 2 cores). Scrolling moves at once meanwhile; smoothly again after.
        self.holds.reply_started()
        self.show_status()
        loop = asyncio.get_running_loop()
        app.run_worker(
            lambda: write_reply(app, engine, sampling, system_prompt, generation, loop),
            thread=True, group="generate", exit_on_error=False,
        )
        return generation

    async def asked(self, generation: Generation) -> None:
        """Until the reply's request is out (at most ASKED_WAIT): the worker runs alone meanwhile,
        not against the user's message being mounted and drawn (benchmark 8: Enter to request)."""
        try:
            await asyncio.wait_for(generation.asked.wait(), ASKED_WAIT)
        except TimeoutError:
            pass

    # -- showing -----------------------------------------------------------
    async def shown(self, generation: Generation) -> None:
        """The user's message is on screen: the reply's news kept meanwhile is shown now, in order."""
        if generation.held is None:
            return
        # Still held while these are shown: news that comes meanwhile waits its turn (an end shown
        # beside a start still mounting drew the reply twice).
        while generation.held:
            event = generation.held.pop(0)
            if isinstance(event, ReplyStarted):
                await self._show_start(event)
                await self.drain(event.conversation_id)  # the text that came meanwhile
            elif isinstance(event, ToolEvent):
                await self._show_tools(event)
            else:
                await self._show_end(event)
        generation.held = None

    def _held(self, event: ReplyStarted | ReplyFinished | ToolEvent) -> bool:
        """Kept for `shown` while the user's message is still going on screen (True), else shown now."""
        generation = self.generations.get(event.conversation_id)
        if generation is not None and generation.held is not None:
            generation.held.append(event)
            return True
        return False

    async def started(self, event: ReplyStarted) -> None:
        if not self._held(event):
            await self._show_start(event)

    async def _show_start(self, event: ReplyStarted) -> None:
        app, generation = self.app, self.generations.get(event.conversation_id)
        if generation is None:
            return
        view = app.chat_view(event.conversation_id)
        if view is not None:
            if event.notice is not None:
                await view.add_message(event.notice)
            await view.begin_reply(event.message)
        # Only now: a drain meanwhile (from `shown`, this runs beside the app's queue) finds no
        # message and leaves the text for the drain after this.
        generation.message = event.message
        self.say(generation, f"Writing… ({key_for('stop')} stops)")
        # The list, refreshed at the send, now counts the reply being written too: one entry redrawn.
        app.conversation_changed(event.conversation_id)
        paint_now(app)  # while the server reads the prompt: the first words then update only their lines

    async def drain(self, conversation_id: int) -> None:
        """Show whatever text the conversation's worker has produced since the last look."""
        generation = self.generations.get(conversation_id)
        if generation is None or generation.message is None:  # not on screen yet: `started` drains
            return
        text, thinking, latest = generation.mailbox.take_all()
        if not text and not thinking and latest is None:
            return
        first = not generation.text and not generation.thinking_tokens and bool(text or thinking)
        generation.text += text
        generation.thinking_tokens = latest.completion_tokens if thinking and latest else generation.thinking_tokens
        view = self.app.chat_view(conversation_id)
        if view is not None:
            if thinking:
                view.think(thinking, generation.thinking_tokens)
            view.append(text)
            if latest is not None:
                view.show_progress(latest.completion_tokens, latest.decode_tps)
        if first:
            paint_now(self.app)
        if latest is not None and latest.waiting and not generation.text:
            self.say(generation, f"Waiting: {latest.waiting} ({key_for('stop')} stops)")
        now = time.monotonic()
        if latest is not None and now - generation.status_shown >= STATUS_INTERVAL:
            # Not at every update: the screen repaints the box around all the changes of an
            # update, and the status line at the bottom would pull in everything in between.
            generation.status_shown = now
            info = self.app.model_info
            # the network is in it (not in `mixtral-tui web`'s, on this machine: its own speed, as in a terminal)
            here = " measured here" if info is not None and info.server and info.server != WEB_SERVER_NAME else ""
            self.say(generation, f"Writing: {latest.completion_tokens:,} tok · {latest.decode_tps:,.1f} tok/s{here} "
                                 f"({key_for('stop')} stops)")

    async def tool_event(self, event: ToolEvent) -> None:
        if not self._held(event):
            await self._show_tools(event)

    async def _show_tools(self, event: ToolEvent) -> None:
        """A round that ended in calls, a call asked for, a result: shown in the conversation."""
        app, generation, stop = self.app, self.generations.get(event.conversation_id), key_for("stop")
        if generation is None:
            if event.box is not None:
                event.box.answer(Decision.REFUSE)  # the reply is over: nothing waits for this call
            return
        view = app.chat_view(event.conversation_id)
        if event.kind == "round" and event.message is not None:
            await self.drain(event.conversation_id)
            if view is not None:
                view.end_reply(event.message)
            generation.message, generation.text, generation.thinking_tokens = None, "", 0
            self.say(generation, f"Tools: {len(event.message.tool_calls)} call(s) ({stop} stops)")
        elif event.kind == "ask" and event.asked is not None and event.box is not None:
            if view is None:
                event.box.answer(Decision.REFUSE)  # its conversation is closed: no one to ask there
                return
            name = event.asked.call.name

            def answered(decision: Decision) -> None:
                running = decision != Decision.REFUSE
                self.say(generation, f"Running {name}… ({stop} stops)" if running
                         else f"Refused {name}: the model is told")

            await show_request(view, event.asked, event.box, answered)
            self.say(generation, f"Allow {name}? y once · a always · A all · n refuses")
        elif event.kind == "result" and event.message is not None:
            if view is not None:
                await view.add_message(event.message)
            self.say(generation, f"Tools: {event.message.stats.get('tool', '')} answered ({stop} stops)")

    async def finished(self, event: ReplyFinished) -> None:
        if not self._held(event):
            await self._show_end(event)

    async def _show_end(self, event: ReplyFinished) -> None:
        app, conversation_id = self.app, event.conversation_id
        await self.drain(conversation_id)  # text that arrived after the last ReplyChunk
        self.generations.pop(conversation_id, None)
        if not self.generations:
            self.holds.reply_finished()
            app.call_after_refresh(self._all_drawn)  # once the end of the reply is on screen
        view = app.chat_view(conversation_id)
        if view is not None and event.notice is not None:
            await view.show_notice(event.notice)
        if view is not None:
            for request in view.query(ToolRequest):  # stopped while a call was asked for
                await request.remove()
        if event.message is not None and view is not None:
            if view.live is not None:
                view.end_reply(event.message)
            elif any(v.message.id == event.message.id for v in view.transcript.messages()):
                view.update_message(event.message)  # a round that ended in calls, then a stop
            else:  # the reply failed before it started
                await view.add_message(event.message)
        self._state_is_ours = True  # its "Writing…" gives way to "Ready" (or to a reply still written)
        self.show_status()
        shown = app.active_view()
        if event.message is not None and shown is not None and shown.conversation_id == conversation_id \
                and self.on_line() is None:
            stats = ReplyStats.from_dict(event.message.stats) if event.message.stats else None
            app.status.figures_text = status_figures(stats) if stats else ""
        error = event.error
        if error and app.engine is not None and app.engine.info is None:
            app.model_gone()  # the model's process ended: nothing is loaded any more
            error = f"{error} {model_advice()}"
            self.show_status()
        elif error:
            error = f"{error} {key_for('regenerate')} writes the reply again."
        if error:
            where = "" if shown is not None and shown.conversation_id == conversation_id else (
                f" in “{app.title_of(conversation_id)}”")
            app.notify(error, title=f"Reply not finished{where}", severity="error", timeout=15)
        await app.refresh_sidebar()

    def _all_drawn(self) -> None:
        if not self.generations:  # none began meanwhile: the collection held back is made now
            self.holds.reply_drawn()

    # -- stopping ----------------------------------------------------------
    def stop(self) -> bool:
        """Esc: the reply in the conversation shown (or the only one written) stops at its next
        token, and keeps what was written. Replies in other tabs go on."""
        generation = self.shown_generation()
        if generation is None and len(self.generations) == 1:
            generation = next(iter(self.generations.values()))
        if generation is None:
            return False
        generation.cancel.cancel()
        self.say(generation, "Stopping…")
        return True

    async def stop_and_wait(self) -> None:
        """Before the app quits: every reply ends as stopped, saved."""
        if self.generations:
            for generation in self.generations.values():
                generation.cancel.cancel()
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
