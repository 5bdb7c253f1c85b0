"""Changing the model: the picker's choice (a local file, or a model on a server), and asking
before a key would go over plain http to another machine."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from mixtral_tui.server_config import ServerSettings
from mixtral_tui.ui.keys import pick_model_hint

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp


class ModelSwitch:
    def __init__(self, app: MixtralApp) -> None:
        self.app = app

    def pick(self) -> None:
        """The model picker (Ctrl+G); the chosen file, or a server's model, loads. A file is
        remembered in the app's own state (the next start opens on it when the config names no
        model), never written into config.toml: models/recent.py says why."""
        from mixtral_tui.server_config import all_servers
        from mixtral_tui.web import WEB_SERVER_NAME
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
                                 recent=app.recent_models.paths(), servers=servers)
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
