"""Changing the model: the picker's choice (a local file, or a model on a server), asking before a
key would go over plain http to another machine, and what the status line says once it is loaded,
failed or gone."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mixtral_tui.engine.base import ModelInfo
from mixtral_tui.server_config import ServerSettings
from mixtral_tui.ui.keys import model_advice, pick_model_hint
from mixtral_tui.ui.messages import ModelLoadFailed
from mixtral_tui.web import WEB_SERVER_NAME

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp


def model_line(info: ModelInfo) -> str:
    """The status line's model part: name, quantization, where, context (each slot's, with the slots), template."""
    quant = f" {info.quant}" if info.quant else ""
    template = info.template if info.template.startswith("the server's") else f"template {info.template}"
    where = f" on {info.server}" if info.server else ""
    context = f"{info.slots} slots × ctx {info.context_size:,}" if info.slots > 1 else f"ctx {info.context_size:,}"
    return f"{info.name}{quant}{where} · {context} · {template}"


class ModelSwitch:
    def __init__(self, app: MixtralApp) -> None:
        self.app = app

    def pick(self) -> None:
        """The model picker (Ctrl+G); the chosen file, or a server's model, loads. A file is
        remembered in the app's own state (the next start opens on it when the config names no
        model), never written into config.toml: models/recent.py says why."""
        from mixtral_tui.server_config import all_servers
        app = self.app
        from mixtral_tui.ui.screens.picker import ModelPicker, ServerChoice

        def chosen(choice: str | ServerChoice | None) -> None:
            if not choice:
                return
            if isinstance(choice, ServerChoice):  # a model on a server: every conversation goes on there
                server = servers[choice.server]
                app.load_spec = replace(app.load_spec, model_path=choice.model, server=server)
            elif shared is not None:  # a page of `mixtral-tui web`: loaded there, once, for every page
                app.load_spec = replace(app.load_spec, model_path=choice, server=shared)
            else:
                app.load_spec = replace(app.load_spec, model_path=choice, server=None)
            app.model_changed()

        servers = all_servers(app.config.servers)
        current = app.load_spec.server
        shared = current if current is not None and current.name == WEB_SERVER_NAME else None
        if current is not None and current.label not in servers:  # a URL from the command line
            servers[current.label] = current

        if not isinstance(app.screen, ModelPicker):
            loaded = app.load_spec.model_path if app.model_info else ""
            picker = ModelPicker(app.load_spec.context_size, app.config.model.models_dir, start=app.offer_repo,
                                 loaded=loaded if app.load_spec.server is None else "", configured=app.config.model.path,
                                 recent=app.recent_models.paths(), servers=servers,
                                 native=None if app.config.model.engine == "llama-server" or shared is not None
                                 else app.config.llama_server.path)
            app.offer_repo = None
            app.push_screen(picker, chosen)

    def ask_to_send_the_key_in_the_clear(self, server: ServerSettings) -> None:
        """A key over plain http to another machine: asked first, never done by surprise."""
        from mixtral_tui.ui.screens.dialogs import ConfirmScreen

        app = self.app

        def answered(yes: bool | None) -> None:
            if yes:
                app.load_spec = replace(app.load_spec, server=replace(server, allow_insecure=True))
                app.start_model_load()
            else:
                app.loading = False
                app.status.model_text = "No model"
                app.status.state_text = f"not connected to {server.label}; {pick_model_hint()}"

        question = (f"{server.url} is plain http to another machine: the key in {server.api_key_env} would cross the "
                    "network unencrypted. Send it anyway? (Use https where you can.)")
        app.push_screen(ConfirmScreen(question, yes="Send it"), answered)

    # -- loaded, failed, gone ----------------------------------------------
    def loaded(self, info: ModelInfo) -> None:
        app = self.app
        app.loading = False
        app.model_info = info
        if app.load_spec.server is None:
            app.recent_models.remember(app.load_spec.model_path)
        app.replies.model_loaded(info)
        app.status.model_text = model_line(info)
        app.status.state_text = "Ready"
        app.replies.show_figures()
        quant = f" {info.quant}" if info.quant else ""
        if info.server:
            app.notify(f"Connected: {info.name}{quant} {info.plan_summary}.", timeout=8)
        elif info.plan_summary:
            app.notify(f"Loaded with this plan: {info.plan_summary}.", timeout=8)

    def load_failed(self, event: ModelLoadFailed) -> None:
        app, server = self.app, self.app.load_spec.server
        if event.insecure_key and server is not None:
            self.ask_to_send_the_key_in_the_clear(server)
            return
        app.loading = False
        self.gone()
        if event.no_model and server is not None and server.name == WEB_SERVER_NAME:
            # a page of `mixtral-tui web` started with no model: the picker, as in a terminal
            app.status.state_text = "No model yet: the one picked here loads for every page"
            app.action_pick_model()
            return
        app.status.state_text = f"load failed: see the message; {pick_model_hint()}"
        app.notify(f"{event.reason} {model_advice()}", title="Model not loaded", severity="error", timeout=30)

    def gone(self) -> None:
        """Nothing is loaded (any more): a load failed, or the model's process ended under a reply."""
        app = self.app
        app.model_info = None
        app.status.model_text = "No model"
        app.status.figures_text = ""
