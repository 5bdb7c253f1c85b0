"""The mixtral-tui application: layout and model loading (replies: ui/replies.py).

Loading and generation run in thread workers; results come back as messages
(see ui/messages.py), so the UI thread never waits on llama.cpp.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen

from mixtral_tui.config import Config
from mixtral_tui.engine.base import Engine, LoadSpec, ModelInfo
from mixtral_tui.errors import UserError
from mixtral_tui.logs import LogRouter
from mixtral_tui.paths import AppPaths, app_paths
from mixtral_tui.store.history import History
from mixtral_tui.ui.commands import AppCommands
from mixtral_tui.ui.conversations import ConversationActions
from mixtral_tui.ui.keys import APP_KEYS
from mixtral_tui.ui.messages import ModelLoaded, ModelLoadFailed, UpdatePacer
from mixtral_tui.ui.replies import Generation, ReplyActions
from mixtral_tui.ui.widgets.chat_tabs import ChatTabs
from mixtral_tui.ui.widgets.key_footer import KeyFooter
from mixtral_tui.ui.widgets.sidebar import Sidebar
from mixtral_tui.ui.widgets.status_bar import StatusBar

class ChatScreen(Screen):
    """The main screen. Nothing is focused for it when it starts (Textual would focus the
    conversation list, the first thing that takes focus, and the footer would make its keys for
    that focus too): opening the first conversation focuses its message box."""

    AUTO_FOCUS = ""


class MixtralApp(ConversationActions, ReplyActions, App):
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

    def notify(self, message: str, *, markup: bool = False, **kwargs) -> None:
        """Notes are plain text, always: they name conversations, files and errors, and a title
        such as “[/x]” read as markup made Textual raise while drawing the note, ending the app.
        (Widgets pass markup=True by default: ignored too; no note of the app uses markup.)"""
        super().notify(message, markup=False, **kwargs)

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
