"""F1's help and the README's table of keys are made from one list, and hold every key."""

from __future__ import annotations

import re
from pathlib import Path

from mixtral_tui.ui.key_help import HELP_ROWS, markdown_table
from mixtral_tui.ui.keys import APP_KEYS, pretty

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_table() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(r"<!-- keys:[^\n]*-->\n(.*?)<!-- /keys -->", text, re.S)
    assert found, "README.md has no <!-- keys --> block"
    return found.group(1)


def test_the_readme_holds_the_table_the_key_list_makes():
    assert readme_table() == markdown_table(), "run: python -m mixtral_tui.ui.key_help, and put it in README.md"


def test_every_app_key_is_in_the_help():
    listed = {row.keys for row in HELP_ROWS}
    assert [pretty(k.keys) for k in APP_KEYS if not any(r.startswith(pretty(k.keys)) for r in listed)] == []


def test_the_keys_the_issue_found_missing_are_listed():
    keys = " ".join(row.keys for row in HELP_ROWS)
    for wanted in ("PgUp", "PgDn", "Home", "End", "Ctrl+T", "Ctrl+P", "Shift+Tab", "Del"):
        assert wanted in keys


async def test_the_help_screen_shows_every_row_and_fits_80_columns():
    from textual.app import App

    from mixtral_tui.ui.screens.help import HelpScreen

    class HelpApp(App):
        def on_mount(self) -> None:
            self.push_screen(HelpScreen())

    app = HelpApp()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        box = app.screen.query_one("Vertical")
        assert box.region.right <= 80
        table = app.screen.query_one("#keys")
        lines = "\n".join(strip.text for strip in table.render_lines(table.region.reset_offset))
        assert "Ctrl+T" in lines and "PgUp / PgDn" in lines and "Quit" in lines
