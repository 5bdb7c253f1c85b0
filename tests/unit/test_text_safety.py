from mixtral_tui.text_safety import displayable


def test_escape_sequences_become_visible_symbols():
    text = displayable("red \x1b[31mtext\x1b[0m bell\x07 back\x08 osc \x1b]0;title\x07 c1 \x9b")
    assert "\x1b" not in text and "\x07" not in text and "\x08" not in text and "\x9b" not in text
    assert "␛[31m" in text and "␇" in text


def test_newlines_tabs_and_markup_are_kept():
    assert displayable("a\n\tb [bold]c[/bold]\r\n") == "a\n\tb [bold]c[/bold]\n"


async def test_notes_show_titles_and_paths_as_written_not_as_markup():
    """A note naming a conversation whose title looks like markup (“[/x]” made Textual raise when
    the note was drawn, which ended the app) shows it as written."""
    from textual.widgets._toast import Toast

    from mixtral_tui.config import Sampling
    from tests.fixtures.fake_engine import ScriptedEngine
    from tests.fixtures.pilot import make_app, notifications, wait_for

    engine = ScriptedEngine([f"w{i} " for i in range(400)], delay=0.01)
    app = make_app(engine, sampling=Sampling(max_tokens=1000))
    async with app.run_test(notifications=True) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        composer = app.active_view().composer
        composer.text = "[/x] tricky [red]title"
        composer.focus()
        await pilot.press("enter")  # the chat is named after it, and its reply runs on
        await wait_for(pilot, lambda: app.generation is not None, what="the reply")
        await pilot.press("ctrl+n")
        app.active_view().composer.text = "hello"
        await pilot.press("enter")  # refused: the note names the other chat
        assert "[/x] tricky [red]title" in notifications(app)[-1]
        await wait_for(pilot, lambda: app.screen.query(Toast), what="the note drawn")
        await pilot.pause()
        assert app.is_running and app._exception is None
        drawn = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert any("[/x] tricky [red]title" in text for text in drawn)
        app.action_stop()
        await wait_for(pilot, lambda: app.generation is None, what="the reply stopped")


async def test_a_default_system_prompt_that_looks_like_markup_is_shown_as_written():
    """F4 shows the default system prompt as the placeholder of the conversation's own: one such
    as "Cite sources as [1] [/x]" was read as markup, and Textual raised while drawing it."""
    from dataclasses import replace

    from tests.fixtures.fake_engine import ScriptedEngine
    from tests.fixtures.pilot import make_app, wait_for

    app = make_app(ScriptedEngine())
    app.config = replace(app.config, chat=replace(app.config.chat, system_prompt="Cite sources as [1] [/x] [red]like this"))
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await pilot.press("f4")
        await pilot.pause()
        area = app.screen.query_one("#chat-system_prompt")
        assert app.is_running and app._exception is None
        assert "Cite sources as [1] [/x] [red]like this" in area.render_line(0).text
