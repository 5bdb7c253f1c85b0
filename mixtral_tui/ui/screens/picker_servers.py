"""The picker's servers: each listed under the models with what it answered, and its models in
the table when highlighted (asked in a worker of its own per server)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, OptionList

from mixtral_tui.errors import UserError
from mixtral_tui.ui.screens.picker_columns import SERVER_COLUMNS, Columns

if TYPE_CHECKING:
    from mixtral_tui.models.options import QuantRow
    from mixtral_tui.server_config import ServerSettings

SERVER = "server:"  # + the server's name: a source that is a server's models


class PickerServers(Screen):
    """The server part of ModelPicker (a mixin of it: the state is the picker's)."""

    servers: dict[str, ServerSettings]
    server: str | None
    server_models: list[str]
    server_answers: dict[str, list[str] | str]
    repo: str | None
    rows: list[QuantRow]
    local_paths: list

    def _columns(self, wide: Columns) -> None:
        raise NotImplementedError

    def _why(self, text: str, warning: bool = False) -> None:
        raise NotImplementedError

    def show_server(self, name: str) -> None:
        """The models a server has, asked in a worker; Enter uses the highlighted one."""
        server = self.servers[name]
        self.repo, self.server, self.rows, self.local_paths, self.server_models = None, name, [], [], []
        self._columns(SERVER_COLUMNS)
        if server.lacks_its_key:
            self._why(f"{server.label} needs a key: set {server.api_key_env} (it is read from there, never from "
                      "the config), then open this list again.", True)
            return
        self._why(f"asking {server.label} ({server.url}) for its models…")
        self._list_server(name)

    def _mark_server(self, name: str, state: str) -> None:
        """The server's line in the list says what it answered."""
        self.query_one("#sources", OptionList).replace_option_prompt(SERVER + name, Content(f"Server: {name} · {state}"))

    def _list_server(self, name: str) -> None:
        """Ask in a worker of its own per server: all at once when the picker opens, for their lines.
        `name` is the list's (a URL from the command line has no name of its own: its host)."""
        server = self.servers[name]
        self.run_worker(lambda: self._ask_server(name, server), thread=True, exclusive=True,
                        group=f"server:{name}", exit_on_error=False)

    def _ask_server(self, name: str, server: ServerSettings) -> None:
        from mixtral_tui.engine.remote import RemoteEngine

        try:
            models = RemoteEngine().list_models(server)
        except UserError as exc:
            self.app.call_from_thread(self._server_failed, name, str(exc))
            return
        self.app.call_from_thread(self._server_listed, name, models)

    def _server_failed(self, name: str, reason: str) -> None:
        if not self.is_attached:  # closed before the server answered
            return
        self.server_answers[name] = reason
        self._mark_server(name, "not answering")
        if self.server == name:
            self._why(f"{reason} (it is {name} in the config's [servers] or built in)", True)

    def _server_listed(self, name: str, models: list[str]) -> None:
        if not self.is_attached:  # closed before the server answered
            return
        self.server_answers[name] = models
        self._mark_server(name, f"{len(models)} model{'' if len(models) == 1 else 's'}")
        if self.server != name:
            return
        server = self.servers[name]
        self.server_models = models
        table = self.query_one(DataTable)
        table.clear()  # asked twice (at opening, and when highlighted): one list
        for model in models:
            table.add_row(Text(model), Content("configured" if model == server.model else ""))  # (Text: measured)
        if server.model in models:
            table.move_cursor(row=models.index(server.model))
        self._why(f"{server.label} answers with {len(models)} model(s): Enter uses the highlighted one."
                  if models else f"{server.label} lists no models.")
