"""The mixtral-tui application: the layout, the model's loading, and the app's keys.

Its collaborators do the rest, each an attribute: `replies` (ui/reply_controller.py) writes the
one reply at a time; `conversations` (ui/conversations.py) holds the tabs and the list; each open
conversation's view has its own actions (ui/conversation_actions.py). Loading and generation run
in thread workers; results come back as messages (ui/messages.py), so the UI thread never waits
on llama.cpp.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from textual import events, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.driver import Driver
from textual.screen import Screen
from textual.widgets import OptionList, TabbedContent

from mixtral_tui.config import Config, save_config
from mixtral_tui.engine.base import Engine, LoadSpec, ModelInfo
from mixtral_tui.engine.log_router import LogRouter
from mixtral_tui.errors import InsecureKeyError, ServerHasNoModel, UserError
from mixtral_tui.models.recent import RecentModels
from mixtral_tui.paths import AppPaths, app_paths, recent_models_file
from mixtral_tui.store.history import History
from mixtral_tui.ui.app_tools import AppTools, ToolEvent
from mixtral_tui.ui.commands import AppCommands
from mixtral_tui.ui.conversations import ConversationTabs
from mixtral_tui.ui.keys import APP_KEYS, key_for, pick_model_hint
from mixtral_tui.ui.messages import ModelLoaded, ModelLoadFailed, ReplyChunk, ReplyFinished, ReplyStarted
from mixtral_tui.ui.model_switch import ModelSwitch
from mixtral_tui.ui.reply_controller import Generation, ReplyController
from mixtral_tui.ui.screens.chat import ChatScreen
from mixtral_tui.ui.terminal_input import paste_safe
from mixtral_tui.ui.titles import in_text
from mixtral_tui.ui.widgets.chat_tabs import ChatTabs
from mixtral_tui.ui.widgets.chat_view import ChatView
from mixtral_tui.ui.widgets.key_footer import KeyFooter
from mixtral_tui.ui.widgets.sidebar import ConversationList, Sidebar
from mixtral_tui.ui.widgets.status_bar import StatusBar
from mixtral_tui.ui.widgets.transcript import Transcript

Result = TypeVar("Result")


class MixtralApp(App):
    TITLE = "mixtral-tui"
    CSS_PATH = Path(__file__).parent / "app.tcss"  # absolute, so subclasses elsewhere find it
    COMMANDS = {AppCommands}  # Textual's own commands too, listed after the app's (ui/commands.py)
    # Classes on every screen by terminal width: the list narrows, then hides; the footer and
    # the status line keep their most important parts (80x24 is what most SSH sessions open).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-medium"), (110, "-wide")]
    BINDINGS: ClassVar[list[BindingType]] = [
        *(Binding(k.keys, k.action, k.description, show=k.show, priority=k.priority) for k in APP_KEYS),
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
        start_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.start_dir = start_dir or Path.cwd()  # where `@path` is read from: where the app was started
        self.config = config
        self.load_spec = load_spec
        self.paths = paths or app_paths()
        self.log_router = LogRouter(self.paths.llama_log)
        self.history = history or History(self.paths.database)
        self._engine = engine
        self._engine_kind: str | None = None  # what create_engine made ("separate" / "llama-server" / "remote"); None: given
        self.model_info: ModelInfo | None = None
        self.loading = False
        self.startup_warning = startup_warning
        self.offer_repo = offer_repo  # --model owner/repo:QUANT that is not downloaded yet
        self.recent_models = RecentModels(recent_models_file(self.paths))
        self.replies = ReplyController(self)
        self.tools = AppTools(self)
        self.conversations = ConversationTabs(self)
        self.model_switch = ModelSwitch(self)

    async def on_event(self, event: events.Event) -> None:
        """Typed after a click in the conversation: the message box takes the focus before the key
        is handed on, so this key and every later one reach it in the order typed."""
        focused = self.focused if isinstance(event, events.Key) and not event.is_forwarded and self.screen_stack else None
        if isinstance(event, events.Key) and isinstance(focused, Transcript) and focused.types_away(event):
            view = next((a for a in focused.ancestors if isinstance(a, ChatView)), None)
            if view is not None:
                focused.forget_pick()
                self.set_focus(view.composer)
        await super().on_event(event)

    def get_driver_class(self) -> type[Driver]:
        """In a terminal and in a browser, Textual's Linux and web drivers with a parser that keeps
        a paste as text (ui/terminal_input.py); any other driver (headless, Windows) as Textual
        picks it."""
        return paste_safe(super().get_driver_class())

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

    @property
    def engine(self) -> Engine | None:
        return self._engine

    @property
    def generation(self) -> Generation | None:
        """The reply being written in the conversation shown, else any other (the reply controller's)."""
        return self.replies.generation

    def chat_view(self, conversation_id: int) -> ChatView | None:
        return self.conversations.chat_view(conversation_id)

    def active_view(self) -> ChatView | None:
        return self.conversations.active_view()

    def title_of(self, conversation_id: int) -> str:
        return self.conversations.title_of(conversation_id)

    async def refresh_sidebar(self) -> None:
        await self.conversations.refresh_sidebar()

    def conversation_changed(self, conversation_id: int) -> None:
        """One entry of the list redrawn (a reply began: it counts one message more)."""
        conversation = self.guard(self.history.conversation, conversation_id)
        if conversation is not None:
            self.query_one(Sidebar).list_view.update(conversation)

    def notify(self, message: str, *, markup: bool = False, **kwargs: Any) -> None:
        """Notes are plain text, always: they name conversations, files and errors, and a title
        such as “[/x]” read as markup made Textual raise while drawing the note, ending the app.
        (Widgets pass markup=True by default: ignored too; no note of the app uses markup.)"""
        super().notify(message, markup=False, **kwargs)

    def guard(self, action: Callable[..., Result], *args: Any) -> Result | None:
        """Run a store action; a UserError becomes a notification and None."""
        try:
            return action(*args)
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=12)
            return None

    async def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.replies.holds.app_started()
        if self.startup_warning:
            self.notify(self.startup_warning, severity="warning", timeout=15)
        interrupted = self.guard(self.history.mark_interrupted)
        if interrupted:
            self.notify(f"{interrupted} reply(ies) were cut off when the app last closed; their text is kept.")
        conversations = self.guard(self.history.conversations) or []
        if conversations:
            await self.conversations.open(conversations[0].id)
        else:
            await self.conversations.new()
        await self.refresh_sidebar()
        self.start_model_load()
        self.call_after_refresh(self.tools.start)  # after the first screen: the SDK's import alone takes 0.35 s
        # Everything made so far (modules, styles, the first screen) lives as long as the app.
        self.replies.holds.first_screen_built()

    def on_unmount(self) -> None:
        """Free the model and stop taking native log lines once the app is gone."""
        self.replies.holds.app_ended()
        self.tools.close()
        if self._engine is not None and not self.replies.generations:
            self._engine.close()

    # -- the model ---------------------------------------------------------
    def start_model_load(self) -> None:
        if not self.load_spec.model_path and self.load_spec.server is None:  # a server may choose its only model
            self.status.model_text = "No model"
            self.status.state_text = f"{pick_model_hint()} (or --model PATH.gguf)"
            self.action_pick_model()
            return
        self.loading = True
        server = self.load_spec.server
        self.status.model_text = (f"Connecting to {server.label}…" if server is not None
                                  else f"Loading {self.load_spec.model_path}…")
        self.status.state_text = ""
        self._load_model(self.load_spec)

    @work(thread=True, group="model", exclusive=True, exit_on_error=False)
    def _load_model(self, spec: LoadSpec) -> None:
        try:
            kind = "remote" if spec.server is not None else spec.engine
            if self._engine is None or self._engine_kind not in (None, kind):
                from mixtral_tui.engine import create_engine

                if self._engine is not None:  # to or from a server, or the model's own process
                    self._engine.close()
                self._engine = create_engine(log_sink=self.log_router.write, kind=spec.engine, remote=spec.server is not None)
                self._engine_kind = kind
            info = self._engine.load(spec)
        except InsecureKeyError as exc:
            self.post_message(ModelLoadFailed(str(exc), insecure_key=True))
        except ServerHasNoModel as exc:
            self.post_message(ModelLoadFailed(str(exc), no_model=True))
        except UserError as exc:
            self.post_message(ModelLoadFailed(str(exc)))
        except Exception as exc:  # never let a native surprise take the TUI down
            self.post_message(ModelLoadFailed(f"could not load the model: {exc}"))
        else:
            self.post_message(ModelLoaded(info))

    def on_model_loaded(self, event: ModelLoaded) -> None:
        self.model_switch.loaded(event.info)

    def on_model_load_failed(self, event: ModelLoadFailed) -> None:
        self.model_switch.load_failed(event)

    def model_gone(self) -> None:
        """The model's process ended under a reply: nothing is loaded any more."""
        self.model_switch.gone()

    def model_changed(self) -> None:
        if not self.replies.generations:
            self.start_model_load()
        else:
            self.notify(f"The model loads after the current reply; {key_for('stop')} stops it sooner.")

    def action_pick_model(self) -> None:
        self.model_switch.pick()

    # -- replies (the reply controller's) ----------------------------------
    async def on_reply_started(self, event: ReplyStarted) -> None:
        await self.replies.started(event)

    async def on_reply_chunk(self, event: ReplyChunk) -> None:
        await self.replies.drain(event.conversation_id)

    async def on_reply_finished(self, event: ReplyFinished) -> None:
        await self.replies.finished(event)

    async def on_tool_event(self, event: ToolEvent) -> None:
        await self.replies.tool_event(event)

    def action_stop(self) -> None:
        self.replies.stop()

    async def action_regenerate(self) -> None:
        view = self.active_view()
        if view is not None:
            await view.actions.write_again(None)

    def action_copy_reply(self) -> None:
        view = self.active_view()
        if view is not None:
            view.actions.copy_last_reply()

    async def action_quit(self) -> None:
        self.conversations.save_drafts()
        await self.replies.stop_and_wait()
        self.exit()

    async def _on_exit_app(self) -> None:
        """However the app is told to go: a page of `mixtral-tui web` closed (textual-serve sends
        "quit", and Textual's web driver posts ExitApp, past action_quit), the reply stops and is
        saved first. textual-serve's app kept writing after its page closed, on the one engine."""
        if self.replies.generations:
            self.conversations.save_drafts()
            await self.replies.stop_and_wait()
        await super()._on_exit_app()

    # -- conversations (the tabs' and the list's) --------------------------
    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        await self.conversations.option_selected(event)

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        self.conversations.tab_activated(event)

    def on_conversation_list_delete_requested(self, event: ConversationList.DeleteRequested) -> None:
        self.conversations.ask_delete(event.conversation_id)

    def action_search(self) -> None:
        self.conversations.search()

    async def action_new_conversation(self) -> None:
        await self.conversations.new()

    async def action_close_tab(self) -> None:
        await self.conversations.close_tab()

    def action_next_tab(self) -> None:
        self.conversations.next_tab()

    def action_previous_tab(self) -> None:
        self.conversations.previous_tab()

    async def action_focus_sidebar(self) -> None:
        await self.conversations.focus_sidebar()

    def action_toggle_sidebar(self) -> None:
        self.conversations.toggle_sidebar()

    def action_rename_conversation(self) -> None:
        self.conversations.ask_rename()

    def action_delete_conversation(self) -> None:
        self.conversations.ask_delete()

    def action_export_conversation(self) -> None:
        self.conversations.ask_export()

    # -- settings, log, help -----------------------------------------------
    # The screens below are imported when first opened: with their widgets (Select, Input, ...)
    # they are ~40 ms of imports the first screen does not need.
    def action_settings(self) -> None:
        from mixtral_tui.ui.screens.settings import SettingsScreen

        def done(config: Config | None) -> None:
            if config is None:
                return
            try:
                save_config(config, self.paths.config_file)
            except OSError as exc:
                self.notify(f"Settings not saved: {exc}", severity="error")
                return
            old_model = self.config.model
            self.config = config
            self.notify(f"Settings saved to {self.paths.config_file}.")
            if config.model != old_model:
                # The model in use stays (from --model or Ctrl+G) unless the form's path itself changed:
                # a new context size dropped it for the config's path, often none, and the picker opened.
                same = config.model.path == old_model.path
                kept = self.load_spec.model_path if same else None
                self.load_spec = replace(LoadSpec.from_config(config, model=kept or None),
                                         server=self.load_spec.server if same else None)
                self.model_changed()

        self.push_screen(SettingsScreen(self.config, str(self.paths.config_file)), done)

    def action_conversation_settings(self) -> None:
        from mixtral_tui.ui.screens.settings import ConversationSettingsScreen

        view = self.active_view()
        conversation = self.guard(self.history.conversation, view.conversation_id) if view else None
        if conversation is None:
            return

        def done(result: tuple[str | None, dict[str, Any]] | None) -> None:
            if result is not None:
                prompt, overrides = result
                self.guard(self.history.set_overrides, conversation.id, prompt, overrides)
                self.notify("Conversation settings saved; they apply from the next reply.")

        screen = ConversationSettingsScreen(in_text(conversation.title), conversation.system_prompt,
                                            conversation.sampling, self.config)
        self.push_screen(screen, done)

    def action_show_tools(self) -> None:
        self.tools.show()

    def action_show_log(self) -> None:
        from mixtral_tui.ui.screens.log import LogScreen

        self.push_screen(LogScreen(self.log_router))

    def action_help(self) -> None:
        from mixtral_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
