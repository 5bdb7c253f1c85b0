"""The model picker: curated models, any Hub repo, or local files, with an honest fit for this machine.

The first screen when no model is set up; also Ctrl+G and the command palette.
Sizes come from the catalog at once (offline too) and from a live listing when
the Hub answers; each file's header is then read with one Range request, so an
old-layout Mixtral is flagged before anyone downloads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from mixtral_tui.errors import UserError
from mixtral_tui.models.catalog import CATALOG, entry
from mixtral_tui.models.options import QuantRow, best_row, catalog_choices, gib, rows_for
from mixtral_tui.text_safety import displayable_line
from mixtral_tui.ui.keys import pretty
from mixtral_tui.ui.screens.download import DownloadScreen
from mixtral_tui.ui.widgets.key_footer import KeyFooter

if TYPE_CHECKING:
    from mixtral_tui.models.hardware import Hardware


LOCAL = "local"


class ModelPicker(Screen[str | None]):
    REFRESH_KEY = "ctrl+r"  # the picker's own (over the app's Ctrl+R, which writes a reply again)
    BINDINGS = [Binding("escape", "close", "Close"), Binding(REFRESH_KEY, "refresh", "Refresh listing")]
    DEFAULT_CSS = """
    ModelPicker #heading { padding: 0 1; background: $panel; }
    ModelPicker #sources { width: 34; height: 1fr; }
    ModelPicker #right { width: 1fr; }
    ModelPicker #quants { height: 1fr; }
    ModelPicker #why { height: auto; min-height: 3; padding: 0 1; color: $text-muted; }
    ModelPicker #why.-warning { color: $text-warning; }
    """

    def __init__(self, context: int, models_dir: str = "", hardware: Hardware | None = None, start: str | None = None) -> None:
        super().__init__()
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

    def compose(self) -> ComposeResult:
        yield Static("Choose a model — looking at this machine…", id="heading")
        with Horizontal():
            options = [Option(Content(e.title), id=e.repo) for e in CATALOG] + [Option("Local files", id=LOCAL)]
            yield OptionList(*options, id="sources")
            with Vertical(id="right"):
                yield Input(placeholder="owner/repo on the Hub, or a path to a .gguf file — Enter", id="spec")
                yield DataTable(cursor_type="row", zebra_stripes=True, id="quants")
                yield Static("", id="why")
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label, width in (("Quant", 9), ("Size", 13), ("bpw", 5), ("Memory", 9), ("Fit on this machine", 34),
                             ("~tok/s", 7), ("", 10)):
            table.add_column(label, width=width)
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

    def _hardware_ready(self, hardware: Hardware, line: str) -> None:
        self.hardware = hardware
        self.query_one("#heading", Static).update(Content(f"Choose a model — context {self.context:,} — {line}"))
        repo, _, quant = (self.start or CATALOG[0].repo).partition(":")
        self.wanted_quant = quant.upper() or None
        self.show_repo(repo)
        self.query_one(DataTable).focus()

    # -- sources -----------------------------------------------------------
    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option.id == LOCAL:
            self.show_local()
        else:
            self.show_repo(event.option.id or "")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if text.endswith(".gguf") or Path(text).expanduser().is_file():
            path = Path(text).expanduser()
            if path.is_file():
                self.dismiss(str(path))
            else:
                self.notify(f"No file at {path}.", severity="error")
        elif "/" in text:
            self.show_repo(text)
            self.query_one(DataTable).focus()

    def show_repo(self, repo: str) -> None:
        if self.hardware is None:
            return
        self.repo = repo
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
            self.app.call_from_thread(self._why, f"{exc} (sizes shown are the catalog's)" if entry(repo) else str(exc), True)
            return
        downloaded = {c.first.path for c in choices if cached_path(repo, c.first.path, self.models_dir)}
        rows = rows_for(choices, shape_for(repo), self.context, hardware, downloaded)
        self.app.call_from_thread(self._listed, repo, rows)
        self._check_headers(repo, rows)

    def _listed(self, repo: str, rows: list[QuantRow]) -> None:
        if repo == self.repo:
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
        from mixtral_tui.models.local import local_models, local_row

        self.repo = None
        table = self.query_one(DataTable)
        table.clear()
        self.rows = []
        self.local_paths = local_models(self.models_dir)
        for path in self.local_paths:
            _, size, arch, quant, kind, loadable = local_row(path)
            # Content, never str: the table reads a str as markup, and these come from the file.
            table.add_row(*map(Content, (quant, size, arch, kind, loadable, "", displayable_line(path.name))))
        self._why("Enter uses the highlighted file." if self.local_paths else
                  "No .gguf files in the Hugging Face cache or the models folder yet.")

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
            table.add_row(Content(row.choice.quant), gib(row.choice.size) + parts, bpw, gib(row.memory),
                          Content(row.fit), tps, state)
        if rows:
            wanted = [i for i, r in enumerate(rows) if r.choice.quant.upper() == (self.wanted_quant or "")]
            table.move_cursor(row=wanted[0] if wanted else best_row(rows))

    def _why(self, text: str, warning: bool = False) -> None:
        why = self.query_one("#why", Static)
        why.update(Content(text))
        why.set_class(warning, "-warning")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if self.repo is not None and 0 <= event.cursor_row < len(self.rows):
            row = self.rows[event.cursor_row]
            note = " — this file uses the old Mixtral layout that current llama.cpp refuses" if row.old_layout else ""
            self._why(f"{row.choice.quant}: {row.plan.summary}{note}", warning=row.old_layout or not row.plan.fits)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if self.repo is None:
            if 0 <= event.cursor_row < len(self.local_paths):
                self.dismiss(str(self.local_paths[event.cursor_row]))
            return
        if not 0 <= event.cursor_row < len(self.rows):
            return
        row = self.rows[event.cursor_row]
        if row.old_layout:
            self.notify("This file uses the old Mixtral layout: pick a newer conversion.", severity="error")
            return
        if row.choice.first.sha256 is None and not row.downloaded:
            self.notify(f"The Hub has not listed this repo's files yet (offline?); {pretty(self.REFRESH_KEY)} asks again.", severity="warning")
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
        if self.repo:
            self.show_repo(self.repo)

    def action_close(self) -> None:
        self.dismiss(None)
