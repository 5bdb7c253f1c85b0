"""The footer of keys is made again only when the keys it shows change (start-up, focus moves)."""

import pytest
from textual.app import App
from textual.binding import Binding
from textual.widgets import Button, Footer
from textual.widgets._footer import FooterKey

from mixtral_tui.ui.widgets.composer import Composer
from mixtral_tui.ui.widgets.key_footer import KeyFooter
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, wait_for


class SaveButton(Button):
    BINDINGS = [Binding("ctrl+s", "press", "Save")]


class TwoButtons(App):
    def compose(self):
        yield Button("one", id="one")
        yield Button("two", id="two")
        yield SaveButton("save", id="save")
        yield KeyFooter()


def shown_keys(app) -> list[str]:
    return [key.description for key in app.query(FooterKey)]


async def test_same_keys_keep_the_same_footer_and_new_keys_show():
    app = TwoButtons()
    async with app.run_test() as pilot:
        app.query_one("#one").focus()
        await pilot.pause()
        before = list(app.query(FooterKey))
        assert "Save" not in shown_keys(app)

        app.query_one("#two").focus()  # the screen says its bindings changed; the keys shown did not
        app.refresh_bindings()
        await pilot.pause()
        assert list(app.query(FooterKey)) == before  # the same widgets: nothing was made again

        app.query_one("#save").focus()
        await pilot.pause()
        assert "Save" in shown_keys(app)
        app.query_one("#one").focus()
        await pilot.pause()
        assert "Save" not in shown_keys(app)


async def test_the_app_starts_with_its_message_box_focused_and_builds_its_footer_at_most_twice(monkeypatch):
    builds = []
    real = Footer.recompose

    async def counted(self):
        builds.append(self.app.focused)
        await real(self)

    monkeypatch.setattr(Footer, "recompose", counted)
    app = make_app(ScriptedEngine(["hi"]))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await pilot.pause()
        assert isinstance(app.focused, Composer)
        assert "Search" in shown_keys(app) and "New chat" in shown_keys(app)
        # Textual's Footer made its keys five times here, the first three for the conversation list.
        assert len(builds) <= 2 and not any(type(widget).__name__ == "ConversationList" for widget in builds)


@pytest.mark.parametrize("width", [60, 80, 100, 140])
async def test_keys_that_do_not_fit_are_dropped_whole_never_cut_mid_word(width):
    """In pick mode at 140 columns "… ^f Search  f2 Re▏^p palette"; at 60, "⏎▏^p paletteo"."""
    from tests.fixtures.pilot import send

    app = make_app(ScriptedEngine())
    async with app.run_test(size=(width, 24)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.generation is None, what="the reply")
        await pilot.press("shift+tab")
        await pilot.pause(0.3)
        keys = [key for key in app.screen.query(FooterKey) if key.display]
        [palette] = [key for key in keys if "-command-palette" in key.classes]
        others = [key for key in keys if key is not palette]
        assert others and all(key.region.right <= palette.region.x for key in others)
        assert "Copy" in [key.description for key in others]  # the first of the pick's keys stays
