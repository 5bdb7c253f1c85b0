"""The mixtral-tui application: layout, model loading and reply generation.

Loading and generation run in thread workers; results come back as messages
(see ui/messages.py), so the UI thread never waits on llama.cpp.
"""

from __future__ import annotations

import gc
import os
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen

from mixtral_tui.config import Config
from mixtral_tui.engine.base import CancelToken, Engine, LoadSpec, ModelInfo, ReplyStats
from mixtral_tui.errors import UserError
from mixtral_tui.figures import status_figures
from mixtral_tui.logs import LogRouter
from mixtral_tui.paths import AppPaths, app_paths
from mixtral_tui.reply import ReplyRun, title_from
from mixtral_tui.store.history import History
from mixtral_tui.ui.commands import AppCommands
from mixtral_tui.ui.conversations import ConversationActions
from mixtral_tui.ui.keys import APP_KEYS
from mixtral_tui.ui.messages import (
    ChunkMailbox,
    ModelLoaded,
    ModelLoadFailed,
    ReplyChunk,
    ReplyFinished,
    ReplyStarted,
    UpdatePacer,
)
from mixtral_tui.ui.widgets.chat_tabs import ChatTabs
from mixtral_tui.ui.widgets.chat_view import ChatView
from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.ui.widgets.key_footer import KeyFooter
from mixtral_tui.ui.widgets.sidebar import Sidebar
from mixtral_tui.ui.widgets.status_bar import StatusBar

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


class ChatScreen(Screen):
    """The main screen. Nothing is focused for it when it starts (Textual would focus the
    conversation list, the first thing that takes focus, and the footer would make its keys for
    that focus too): opening the first conversation focuses its message box."""

    AUTO_FOCUS = ""


class MixtralApp(ConversationActions, App):
    TITLE = "mixtral-tui"
    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute, so subclasses elsewhere find it
    COMMANDS = App.COMMANDS | {AppCommands}
    BINDINGS = [Binding(k.keys, k.action, k.description, show=k.show, priority=k.priority) for k in APP_KEYS] + [
        Binding("question_mark", "help", "Help", show=False),
    ]

    def __init__(
        self,
        config: Config,
        load_spec: LoadSpec,
        *,
        history: History | None = None,
        engine: Engine | None = None,
        paths: AppPaths | None = None,
        startup_warning: str | None = None,
        offer_repo: str | None = None,
    ) -> None:
        super().__init__()
        if "TEXTUAL_ANIMATIONS" not in os.environ:
            # No animations unless asked for (TEXTUAL_ANIMATIONS=full): over SSH every frame of a
            # smooth scroll or a sliding tab underline is a screen update sent down the line, and
            # on a busy CPU it is taken from the model (a new chat's tab, renamed as its first reply
            # starts, slid its underline for 0.3 s: 15 screen updates, 10-30 % of the UI's CPU
            # during a short reply, measured on 2 cores).
            self.animation_level = "none"
        self.config = config
        self.load_spec = load_spec
        self.paths = paths or app_paths()
        self.log_router = LogRouter(self.paths.llama_log)
        self.history = history or History(self.paths.database)
        self._engine = engine
        self._gc_thresholds: tuple[int, int, int] | None = None  # the usual ones, while a reply holds full passes
        self._engine_kind: str | None = None  # what create_engine made ("separate" / "in-app"); None: given
        self.model_info: ModelInfo | None = None
        self.loading = False
        self.pacer = UpdatePacer()  # one for the app: each reply starts at the pace the last one found
        self.generation: Generation | None = None
        self.startup_warning = startup_warning
        self.offer_repo = offer_repo  # --model owner/repo:QUANT that is not downloaded yet

    # -- layout ------------------------------------------------------------
    def get_default_screen(self) -> Screen:
        return ChatScreen(id="_default")

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield Sidebar(id="sidebar")
            yield ChatTabs(id="tabs")
        yield StatusBar(id="status")
        yield KeyFooter()

    @property
    def status(self) -> StatusBar:
        return self.query_one(StatusBar)

    GIL_SWITCH_SECONDS = 0.001
    """How long the UI thread may hold the GIL while the generation thread waits for it.
    Python's default is 5 ms: after every native decode step the generation thread needs
    the GIL back, and a screen update could hold it that long, per token."""

    async def on_mount(self) -> None:
        self.theme = "textual-dark"
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(self.GIL_SWITCH_SECONDS)
        if self.startup_warning:
            self.notify(self.startup_warning, severity="warning", timeout=15)
        interrupted = self._guard(self.history.mark_interrupted)
        if interrupted:
            self.notify(f"{interrupted} reply(ies) were cut off when the app last closed; their text is kept.")
        conversations = self._guard(self.history.conversations) or []
        if conversations:
            await self.open_conversation(conversations[0].id)
        else:
            await self.action_new_conversation()
        await self.refresh_sidebar()
        self.start_model_load()
        # Everything made so far (modules, styles, the first screen) lives as long as the app: keep it
        # out of the garbage collector's full passes, which otherwise stall the screen ~100 ms at a time.
        gc.freeze()

    def _guard(self, action, *args):
        """Run a store action; a UserError becomes a notification and None."""
        try:
            return action(*args)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=12)
            return None

    # -- model -------------------------------------------------------------
    def start_model_load(self) -> None:
        if not self.load_spec.model_path:
            self.status.model_text = "No model"
            self.status.state_text = "Ctrl+G picks one (or --model PATH.gguf)"
            self.action_pick_model()
            return
        self.loading = True
        self.status.model_text = f"Loading {self.load_spec.model_path}…"
        self.status.state_text = ""
        self._load_model(self.load_spec)

    @work(thread=True, group="model", exclusive=True, exit_on_error=False)
    def _load_model(self, spec: LoadSpec) -> None:
        try:
            if self._engine is None or self._engine_kind not in (None, spec.engine):
                from mixtral_tui.engine import create_engine

                if self._engine is not None:  # the settings moved the model to/from its own process
                    self._close_engine()
                self._engine = create_engine(log_sink=self.log_router.write, separate_process=spec.engine == "separate")
                self._engine_kind = spec.engine
            info = self._engine.load(spec)
        except UserError as exc:
            self.post_message(ModelLoadFailed(str(exc)))
        except Exception as exc:  # never let a native surprise take the TUI down
            self.post_message(ModelLoadFailed(f"could not load the model: {exc}"))
        else:
            self.post_message(ModelLoaded(info))

    def on_model_loaded(self, event: ModelLoaded) -> None:
        self.loading = False
        self.model_info = info = event.info
        self.pacer.share_cores_with(info.threads, os.cpu_count() or 1)
        quant = f" {info.quant}" if info.quant else ""
        self.status.model_text = f"{info.name}{quant} · ctx {info.context_size:,} · template {info.template}"
        self.status.state_text = "Ready"
        if info.plan_summary:
            self.notify(f"Loaded with this plan: {info.plan_summary}.", timeout=8)

    def action_pick_model(self) -> None:
        """The model picker; a chosen file becomes the configured model and loads."""
        from dataclasses import replace

        from mixtral_tui.config import save_config
        from mixtral_tui.ui.screens.picker import ModelPicker

        def chosen(path: str | None) -> None:
            if not path:
                return
            self.config = replace(self.config, model=replace(self.config.model, path=path))
            try:
                save_config(self.config, self.paths.config_file)
            except OSError as exc:
                self.notify(f"Model not saved as the default: {exc}", severity="warning")
            self.load_spec = replace(self.load_spec, model_path=path)
            if self.generation is None:
                self.start_model_load()
            else:
                self.notify("The model loads after the current reply; Esc stops it sooner.")

        if not isinstance(self.screen, ModelPicker):
            picker = ModelPicker(self.load_spec.context_size, self.config.model.models_dir, start=self.offer_repo)
            self.offer_repo = None
            self.push_screen(picker, chosen)

    def on_model_load_failed(self, event: ModelLoadFailed) -> None:
        self.loading = False
        self.model_info = None
        self.status.model_text = "No model"
        self.status.state_text = "load failed: see the message; F3 to pick another file"
        self.notify(event.reason, title="Model not loaded", severity="error", timeout=30)

    # -- sending and generating -------------------------------------------
    async def on_composer_submitted(self, event: Composer.Submitted) -> None:
        view = event.composer.parent
        assert isinstance(view, ChatView)
        if self.generation is not None:
            title = self._title_of(self.generation.conversation_id)
            self.notify(
                f"A reply is being written in “{title}”. Wait for it, or press Esc to stop it, then send again.",
                severity="warning",
            )
            return
        if self.model_info is None:
            why = "the model is still loading; send again in a moment" if self.loading else (
                "no model is loaded: press F3 to set the model file, or restart with --model PATH.gguf"
            )
            self.notify(f"Not sent: {why}. Your text is kept.", severity="warning")
            return
        conversation = self._guard(self.history.conversation, view.conversation_id)
        if conversation is None:
            return
        user_message = self._guard(self.history.add_message, conversation.id, "user", event.text)
        if user_message is None:
            return
        event.composer.clear()
        await view.add_message(user_message)
        system_prompt = conversation.system_prompt if conversation.system_prompt is not None else self.config.chat.system_prompt
        sampling = self.config.sampling.merged(conversation.sampling)
        # status_shown = now: figures in the status line from 1 s on, not "1 tok · 0.0 tok/s"
        self.generation = Generation(
            conversation.id, CancelToken(), ChunkMailbox(self.pacer), status_shown=time.monotonic()
        )
        self._hold_full_collections()
        self.status.state_text = "Reading the prompt…"
        self.status.figures_text = ""  # the live figures take the room while writing
        self._generate(conversation.id, sampling, system_prompt, self.generation)
        if conversation.title == "New chat":
            await self.rename(conversation.id, title_from(event.text))  # refreshes the list too
        else:
            await self.refresh_sidebar()

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

    def on_unmount(self) -> None:
        """Free the model and stop taking native log lines once the app is gone."""
        sys.setswitchinterval(getattr(self, "_switch_interval", 0.005))
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)
        gc.unfreeze()  # another app in this process (tests, benchmarks) must not inherit our frozen objects
        if self._engine is not None and self.generation is None:
            self._close_engine()

    def _close_engine(self) -> None:
        """Free the model and its log hook (`close`; engines without one just unload)."""
        (getattr(self._engine, "close", None) or self._engine.unload)()

    async def action_quit(self) -> None:
        if self.generation is not None:
            self.generation.cancel.cancel()
            for worker in self.workers:
                if worker.group == "generate":
                    await worker.wait()
        self.exit()
