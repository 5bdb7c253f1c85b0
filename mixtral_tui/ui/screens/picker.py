"""The model picker: curated models, any Hub repo, or local files, with an honest fit for this machine.

The first screen when no model is set up; also Ctrl+G and the command palette.
Sizes come from the catalog at once (offline too) and from a live listing when
the Hub answers; each file's header is then read with one Range request, so an
old-layout Mixtral is flagged before anyone downloads it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from mixtral_tui.errors import UserError
from mixtral_tui.models.catalog import CATALOG, entry
from mixtral_tui.models.hardware import gib
from mixtral_tui.models.options import QuantRow, best_row, catalog_choices, rows_for
from mixtral_tui.text_safety import displayable_line
from mixtral_tui.ui.keys import key_for, pretty
from mixtral_tui.ui.screens.download import DownloadScreen
from mixtral_tui.ui.screens.picker_columns import LOCAL_COLUMNS, QUANT_COLUMNS, Columns, lay_out
from mixtral_tui.ui.screens.picker_servers import SERVER, PickerServers
from mixtral_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from mixtral_tui.models.hardware import Hardware
    from mixtral_tui.server_config import ServerSettings


LOCAL = "local"
COMPACT_BELOW = 110  # columns: narrower terminals get the short columns and the list above the table


@dataclass(frozen=True)
class ServerChoice:
    """What the picker gives back for a model on a server (a local one is its path)."""

    server: str  # its name in the config, or built in
    model: str


class ModelPicker(PickerServers):
    REFRESH_KEY = "ctrl+r"  # the picker's own (over the app's Ctrl+R, which writes a reply again)
    BINDINGS = [Binding("escape", "close", "Close"), Binding(REFRESH_KEY, "refresh", "Refresh listing")]
    DEFAULT_CSS = """
    ModelPicker #heading { padding: 0 1; background: $panel; }
    ModelPicker #sources { width: 34; height: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }  /* a long server line: one line, cut */
    ModelPicker #right { width: 1fr; }
    ModelPicker #quants { height: 1fr; }
    ModelPicker #why { height: auto; min-height: 3; padding: 0 1; color: $text-muted; }
    ModelPicker #why.-warning { color: $text-warning; }
    ModelPicker #native { display: none; padding: 0 1; color: $text-muted; }
    ModelPicker #native.-found { display: block; }
    ModelPicker.-compact #body { layout: vertical; }
    ModelPicker.-compact #sources { width: 1fr; height: 6; }
    """

    def __init__(
        self,
        context: int,
        models_dir: str = "",
        hardware: Hardware | None = None,
        start: str | None = None,
        *,
        loaded: str = "",
        configured: str = "",
        recent: tuple[str, ...] | list[str] = (),
        servers: dict[str, ServerSettings] | None = None,
        native: str | None = None,
    ) -> None:
        super().__init__()
        self.native = native  # [llama_server] path to look for when it is not the engine ("": PATH); None: not
        self.servers = servers or {}  # listed under the models: each server's own models
        self.server: str | None = None  # the server shown, if the table shows one's models
        self.server_models: list[str] = []
        self.server_answers: dict[str, list[str] | str] = {}  # each server's models, or why it does not answer
        self.known = (loaded, configured, tuple(recent))  # listed first under Local files
        self.start = start  # owner/repo[:QUANT] to show first (from --model)
        self.context = context
        self.models_dir = models_dir
        self.hardware = hardware  # given in tests; detected (in a worker) otherwise
        self._hardware_text = ""
        self.wanted_quant: str | None = None
        if hardware is not None:
            from mixtral_tui.models.hardware import hardware_line

            self._hardware_text = hardware_line(hardware)
        self.repo: str | None = None
        self.rows: list[QuantRow] = []
        self.local_paths: list[Path] = []
        self.listing_note = ""  # why the Hub's listing is not shown (offline...), kept in sight

    def compose(self) -> ComposeResult:
        yield Static("Choose a model — looking at this machine…", id="heading")
        yield Static("", id="native")  # llama-server found: the engine it offers
        with Horizontal(id="body"):
            options = [Option(Content(e.title), id=e.repo) for e in CATALOG] + [Option("Local files", id=LOCAL)]
            options += [Option(Content(f"Server: {name}"), id=SERVER + name) for name in self.servers]
            yield OptionList(*options, id="sources")
            with Vertical(id="right"):
                yield Input(placeholder="owner/repo on the Hub, or a path to a .gguf file — Enter", id="spec")
                yield DataTable(cursor_type="row", zebra_stripes=True, id="quants")
                yield Static("", id="why")
        yield KeyFooter(only=frozenset({"close", "refresh", "quit", "help"}))

    def on_mount(self) -> None:
        for name, server in self.servers.items():  # each says in the list whether it answers
            if server.lacks_its_key:
                self._mark_server(name, "no key")  # not asked: it would refuse (highlighted, it says which variable)
            else:
                self._mark_server(name, "asking…")
                self._list_server(name)
        self.set_class(self.app.size.width < COMPACT_BELOW, "-compact")
        self._columns(QUANT_COLUMNS)
        if self.native is not None:
            self._look_for_native(self.native)
        if self.hardware is None:
            self._detect()
        else:
            self._hardware_ready(self.hardware, self._hardware_text)

    @work(thread=True, exclusive=True, group="hardware", exit_on_error=False)
    def _detect(self) -> None:
        from mixtral_tui.engine import detect_hardware
        from mixtral_tui.models.hardware import hardware_line

        hardware = detect_hardware()
        self.app.call_from_thread(self._hardware_ready, hardware, hardware_line(hardware))

    @work(thread=True, exclusive=True, group="native", exit_on_error=False)
    def _look_for_native(self, configured: str) -> None:
        """llama.cpp's own server on this machine, not the engine yet: said once, under the heading."""
        from mixtral_tui.engine.native_server.binary import find_binary

        try:
            binary = find_binary(configured)
        except UserError:
            return  # none (or too old): the default engine says nothing of it
        line = (f"Found llama-server ({displayable_line(binary.version)}, {displayable_line(binary.path)}): "
                f"engine “llama-server” in settings ({key_for('settings')}) runs the model on llama.cpp's own build, "
                "several replies at once.")
        self.app.call_from_thread(self._native_found, line)

    def _native_found(self, line: str) -> None:
        if self.is_attached:
            native = self.query_one("#native", Static)
            native.update(Content(line))
            native.add_class("-found")

    def _hardware_ready(self, hardware: Hardware, line: str) -> None:
        if not self.is_attached:  # the picker was closed before the machine was known
            return
        self.hardware = hardware
        self.query_one("#heading", Static).update(Content(f"Choose a model — context {self.context:,} — {line}"))
        if self.server is not None:  # a server's models, shown meanwhile (they need no hardware), stay
            return
        highlighted = self.query_one("#sources", OptionList).highlighted_option
        if self.start is None and highlighted is not None and highlighted.id not in (None, CATALOG[0].repo):
            self._show_source(highlighted.id or "")  # moved to before the machine was known: that one
            return
        repo, _, quant = (self.start or CATALOG[0].repo).partition(":")
        self.wanted_quant = quant.upper() or None
        self.show_repo(repo)
        self.query_one(DataTable).focus()

    # -- layout ------------------------------------------------------------
    @property
    def compact(self) -> bool:
        return self.has_class("-compact")

    def _columns(self, wide: Columns) -> None:
        lay_out(self.query_one(DataTable), wide, self.compact)

    def on_resize(self) -> None:
        compact = self.app.size.width < COMPACT_BELOW
        if compact != self.compact and self.is_mounted:
            self.set_class(compact, "-compact")
            if self.server is not None:
                self.show_server(self.server)
            elif self.repo is None and self.local_paths:
                self.show_local()
            elif self.rows:
                self._show_rows(self.rows)

    # -- sources -----------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self._show_source(event.option.id or "")
        self.query_one(DataTable).focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """↑ ↓ on the list shows that source's files at once (Enter then moves to the table)."""
        if self.hardware is not None and event.option.id != (self.repo or (SERVER + self.server if self.server else LOCAL)):
            self._show_source(event.option.id or "")

    def _show_source(self, source: str) -> None:
        self.server = None
        if source == LOCAL:
            self.show_local()
        elif source.startswith(SERVER):
            self.show_server(source[len(SERVER):])
        else:
            self.show_repo(source)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text.endswith(".gguf") or Path(text).expanduser().is_file():
            path = Path(text).expanduser()
            if path.is_file():
                self.dismiss(str(path))
            else:
                self._why(f"No file at {path}.", True)  # in the picker's own line: a note would cover its list
        elif "/" in text:
            self.show_repo(text)
            self.query_one(DataTable).focus()

    def show_repo(self, repo: str) -> None:
        if self.hardware is None:
            return
        if self.repo is None:  # the local files' or a server's columns were on
            self._columns(QUANT_COLUMNS)
        self.repo, self.server = repo, None
        self.listing_note = ""
        known = entry(repo)
        if known:
            self._show_rows(rows_for(catalog_choices(known), known.shape, self.context, self.hardware, set()))
            self._why(f"{known.title}: {known.note or 'sizes from the catalog'} — asking the Hub for the files…")
        else:
            self._show_rows([])
            self._why(f"asking the Hub for {repo}…")
        self._list(repo, self.hardware)

    @work(thread=True, exclusive=True, group="listing", exit_on_error=False)
    def _list(self, repo: str, hardware: Hardware) -> None:
        from mixtral_tui.models.catalog import shape_for
        from mixtral_tui.models.download import cached_path
        from mixtral_tui.models.hub import list_quants

        try:
            choices = list_quants(repo)
        except UserError as exc:
            note = f"{exc} (sizes shown are the catalog's)" if entry(repo) else str(exc)
            self.app.call_from_thread(self._listing_failed, repo, note)
            return
        downloaded = {c.first.path for c in choices if cached_path(repo, c.first.path, self.models_dir)}
        rows = rows_for(choices, shape_for(repo), self.context, hardware, downloaded)
        self.app.call_from_thread(self._listed, repo, rows)
        self._check_headers(repo, rows)

    def _listing_failed(self, repo: str, note: str) -> None:
        """Kept under the highlighted row's line from now on: moving in the table took it away."""
        if repo == self.repo and self.is_attached:
            self.listing_note = note
            self._why(note, True)

    def _listed(self, repo: str, rows: list[QuantRow]) -> None:
        if repo == self.repo and self.is_attached:
            self.listing_note = ""
            self._show_rows(rows)

    def _check_headers(self, repo: str, rows: list[QuantRow]) -> None:
        """One Range request per file: the real layout and shape, before any download."""
        from mixtral_tui.models.download import remote_info

        for row in rows:
            try:
                info = remote_info(repo, row.choice.first)
            except (UserError, ValueError):
                continue
            if info.old_expert_layout:
                row.old_layout = True
                self.app.call_from_thread(self._listed, repo, rows)

    def show_local(self) -> None:
        """The model loaded, the config's, the recent ones, then the cache's and the models folder's."""
        from mixtral_tui.models.local import known_models, local_row

        self.repo = self.server = None
        self.rows = []
        self._columns(LOCAL_COLUMNS)
        table = self.query_one(DataTable)
        loaded, configured, recent = self.known
        listed = known_models(self.models_dir, loaded, configured, recent)
        self.local_paths = [path for path, _why in listed]
        for path, why in listed:
            _, size, arch, quant, kind, loadable = local_row(path)
            loads = ("yes" if loadable == "yes" else "no") if self.compact else loadable
            # Text, never str: the table reads a str as markup, and these come from the file. Rich Text, not
            # Content: the table sizes each column to its cells (a Content it measured as one cell wide).
            table.add_row(*map(Text, (quant, size, arch, kind, loads, why, displayable_line(path.name))))
        self._why("Enter uses the highlighted file." if self.local_paths else
                  "No .gguf files loaded before, in the config, in the Hugging Face cache or in the models folder yet; "
                  "type a path above.")

    # -- rows --------------------------------------------------------------
    def _show_rows(self, rows: list[QuantRow]) -> None:
        self.rows = rows
        table = self.query_one(DataTable)
        table.clear()
        for row in rows:
            bpw = f"{row.bits_per_weight:.2f}" if row.bits_per_weight else "?"
            parts = f" ({len(row.choice.files)})" if len(row.choice.files) > 1 else ""
            tps = f"{row.plan.est_decode_tps:.0f}" if row.plan.fits else "-"
            state = "downloaded" if row.downloaded else ""
            fit = row.short_fit if self.compact else row.fit
            table.add_row(Content(row.choice.quant), gib(row.choice.size) + parts, bpw, gib(row.memory),
                          Content(fit), tps, state)
        if rows:
            wanted = [i for i, r in enumerate(rows) if r.choice.quant.upper() == (self.wanted_quant or "")]
            table.move_cursor(row=wanted[0] if wanted else best_row(rows))

    def _why(self, text: str, warning: bool = False) -> None:
        why = self.query_one("#why", Static)
        why.update(Content(text))
        why.set_class(warning, "-warning")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.server is not None:
            return
        if self.repo is None and 0 <= event.cursor_row < len(self.local_paths):
            from mixtral_tui.models.local import local_row

            path = self.local_paths[event.cursor_row]
            self._why(f"{displayable_line(str(path))}: loads: {local_row(path)[5]}")
        if self.repo is not None and 0 <= event.cursor_row < len(self.rows):
            row = self.rows[event.cursor_row]
            note = " — this file uses the old Mixtral layout that current llama.cpp refuses" if row.old_layout else ""
            text = f"{row.choice.quant}: {row.plan.summary}{note}"
            if self.listing_note:
                text += f"\n{self.listing_note}"
            self._why(text, warning=row.old_layout or not row.plan.fits or bool(self.listing_note))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.server is not None:
            if 0 <= event.cursor_row < len(self.server_models):
                self.dismiss(ServerChoice(self.server, self.server_models[event.cursor_row]))
            return
        if self.repo is None:
            if 0 <= event.cursor_row < len(self.local_paths):
                self.dismiss(str(self.local_paths[event.cursor_row]))
            return
        if not 0 <= event.cursor_row < len(self.rows):
            return
        row = self.rows[event.cursor_row]
        if row.old_layout:
            self._why("This file uses the old Mixtral layout: pick a newer conversion.", True)
            return
        if row.choice.first.sha256 is None and not row.downloaded:
            self._why(f"The Hub has not listed this repo's files yet (offline?); {pretty(self.REFRESH_KEY)} asks again.", True)
            return
        if row.downloaded:
            from mixtral_tui.models.download import cached_path

            self.dismiss(str(cached_path(self.repo, row.choice.first.path, self.models_dir)))
            return

        def finished(path: Path | None) -> None:
            if path is not None:
                self.dismiss(str(path))

        self.app.push_screen(DownloadScreen(self.repo, row.choice, self.models_dir), finished)

    def action_refresh(self) -> None:
        if self.server is not None:
            self.show_server(self.server)
        elif self.repo:
            self.show_repo(self.repo)

    def action_close(self) -> None:
        self.dismiss(None)

