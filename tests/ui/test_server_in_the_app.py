"""The app on a model that lives on a server: llama-cpp-python's own OpenAI-compatible server with
the tiny MoE model, picked in Ctrl+G, and a conversation moved from the local engine to the
server and back."""

from __future__ import annotations

from dataclasses import replace

from mixtral_tui.server_config import ServerSettings
from mixtral_tui.ui.screens.picker import ModelPicker
from tests.fixtures.pilot import make_app, send, wait_for


def replies(app):
    view = app.active_view()
    return [v.message for v in view.transcript.messages() if v.message.role == "assistant"]


async def test_a_conversation_moves_from_the_local_model_to_a_server_and_back(tiny_server, tiny_model, monkeypatch):
    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    app = make_app(None, tiny_model)  # the app makes its own engines: local first
    app.config = replace(app.config, servers={"lab": ServerSettings(tiny_server, "lab")})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="the local model")
        await send(pilot, "first, locally")
        await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 1, what="a local reply")
        assert replies(app)[0].server is None

        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.rows, what="the picker")
        picker = app.screen
        sources = picker.query_one("#sources")
        line = lambda name: str(sources.get_option(f"server:{name}").prompt)  # noqa: E731
        # Each server's line says what it answered, before it is highlighted; a built-in server
        # without its key is not asked (it would refuse).
        await wait_for(pilot, lambda: line("lab") == "Server: lab · 1 model", what="the server's line")
        assert line("mistral") == "Server: mistral · no key"  # one line in the list's 34 columns
        picker.show_server("mistral")  # highlighted: which variable, and no request to Mistral
        assert "set MISTRAL_API_KEY" in str(picker.query_one("#why").render())
        picker.server = None
        assert picker.server is None  # the table still shows what it showed
        sources.highlighted = next(i for i in range(sources.option_count)
                                   if sources.get_option_at_index(i).id == "server:lab")
        await wait_for(pilot, lambda: picker.server_models, what="the server's models")
        assert picker.server_models == [str(tiny_model)]
        await pilot.pause(0.3)  # asked twice (at opening, and now): listed once
        assert picker.query_one("DataTable").row_count == 1
        picker.query_one("DataTable").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.model_info is not None and app.model_info.server == "lab", what="on the server")
        assert "on lab" in app.status.model_text

        await send(pilot, "then on the server")
        await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 2, what="the server's reply")
        reply = replies(app)[-1]
        assert reply.server == "lab" and reply.model == tiny_model.name and reply.status == "done"
        assert "on lab" in app.active_view().transcript.messages()[-1].render_line(0).text
        assert "measured here" in app.status.figures_text

        await pilot.press("ctrl+r")  # written again, on the server
        await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 3, what="written again")
        assert replies(app)[-2].status == "replaced" and replies(app)[-1].server == "lab"

        app.load_spec = replace(app.load_spec, model_path=str(tiny_model), server=None)  # back, as Ctrl+G does
        app.start_model_load()
        await wait_for(pilot, lambda: app.model_info is not None and not app.model_info.server, what="local again")
        await send(pilot, "and locally again")
        await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 4, what="a local reply again")
        assert replies(app)[-1].server is None and replies(app)[-1].model_file == tiny_model.name


async def test_a_server_that_does_not_answer_is_said_in_the_picker_and_the_app_goes_on(tmp_path):
    from tests.fixtures.fake_engine import ScriptedEngine
    from tests.fixtures.llama_server import free_port

    app = make_app(ScriptedEngine())
    app.config = replace(app.config, servers={"gone": ServerSettings(f"http://127.0.0.1:{free_port()}/v1", "gone")})
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker) and app.screen.hardware is not None)
        picker = app.screen
        sources = picker.query_one("#sources")
        await wait_for(pilot, lambda: str(sources.get_option("server:gone").prompt) == "Server: gone · not answering",
                       what="the server's line")
        picker.show_server("gone")
        await wait_for(pilot, lambda: "cannot connect" in str(picker.query_one("#why").render()), what="the reason")
        await pilot.press("escape")
        assert app.model_info is not None and app.model_info.name == "Scripted"  # still on the model it had


async def test_server_without_a_model_uses_its_only_model_and_opens_no_picker(tiny_server, tiny_model):
    app = make_app(None, model_path="")
    app.load_spec = replace(app.load_spec, server=ServerSettings(tiny_server))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="connected")
        assert not isinstance(app.screen, ModelPicker)
        assert app.model_info.name == tiny_model.name and app.status.model_text.startswith(f"{tiny_model.name} on 127.0.0.1:")
        assert any(note.startswith(f"Connected: {tiny_model.name} on 127.0.0.1:") for note in app.notes)


async def test_after_a_session_with_a_key_the_key_is_nowhere_in_config_history_logs_or_exports(monkeypatch, tmp_path):
    from mixtral_tui.chat.export import export_conversation
    from mixtral_tui.chat.export_json import conversation_json
    from mixtral_tui.paths import app_paths
    from tests.fixtures.fake_openai import FakeOpenAI, Script

    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("SCAN_KEY", secret)
    fake = FakeOpenAI().start()
    try:
        app = make_app(None, model_path="")
        server = ServerSettings(fake.url, "scan", api_key_env="SCAN_KEY")
        app.config = replace(app.config, servers={"scan": server})
        app.load_spec = replace(app.load_spec, server=server)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.model_info is not None, what="connected")
            await send(pilot, "hello")
            await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 1, what="a reply")
            fake.scripts = [Script(kind="status", status=401, body=f"Incorrect API key provided: {secret}")]
            await send(pilot, "again")
            await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 2, what="the refused reply")
            await pilot.press("f3")
            await pilot.press("ctrl+s")  # the config written once
            await pilot.pause(0.2)
            screen_text = "\n".join(app.notes) + app.status.model_text + app.status.state_text
            conversation = app.active_view().conversation_id
            exports = export_conversation(app.history, conversation) + conversation_json(
                app.history.conversation(conversation), app.history.messages(conversation))
        assert fake.chat_requests()[0].headers["authorization"] == f"Bearer {secret}"  # it was sent, to its server
        paths = app_paths()
        files = [p for root in (paths.config_dir, paths.data_dir, paths.log_dir) for p in root.rglob("*") if p.is_file()]
        assert any(p.name == "config.toml" for p in files) and any(p.suffix == ".log" for p in files)
        for path in files:
            assert secret.encode() not in path.read_bytes(), f"the key is in {path}"
        assert secret not in exports and secret not in screen_text
    finally:
        fake.stop()


async def test_a_key_over_plain_http_to_another_machine_is_asked_first(monkeypatch):
    """Reached through loopback here, so the address is made to count as another machine's."""
    from mixtral_tui.ui.screens.dialogs import ConfirmScreen
    from tests.fixtures.fake_openai import FakeOpenAI

    monkeypatch.setenv("LAN_KEY", "sk-lan-secret")
    monkeypatch.setattr(ServerSettings, "key_is_exposed", property(lambda self: True))
    fake = FakeOpenAI().start()
    try:
        for answer, connected in (("escape", False), ("y", True)):
            app = make_app(None, model_path="")
            app.load_spec = replace(app.load_spec, server=ServerSettings(fake.url, "lan", api_key_env="LAN_KEY"))
            async with app.run_test(size=(100, 30)) as pilot:
                await wait_for(pilot, lambda app=app: isinstance(app.screen, ConfirmScreen), what="the question")
                assert "LAN_KEY would cross the network unencrypted" in str(app.screen.query_one(".question").render())
                assert not fake.chat_requests() and not [s for s in fake.seen if "authorization" in s.headers]
                await pilot.press(answer)
                if connected:
                    await wait_for(pilot, lambda app=app: app.model_info is not None, what="connected after yes")
                    assert fake.seen[-1].headers["authorization"] == "Bearer sk-lan-secret"
                else:
                    await pilot.pause(0.2)
                    assert app.model_info is None and "not connected to lan" in app.status.state_text
    finally:
        fake.stop()


async def test_turns_left_out_after_a_servers_refusal_are_said_in_the_open_conversation_at_once():
    """The first plan fits by this side's count; the server says it does not, twice: the
    conversation shows one note, with the final count, before the reply, without a reload."""
    from mixtral_tui.paths import app_paths
    from mixtral_tui.store.history import History
    from tests.fixtures.fake_openai import FakeOpenAI, Script

    fake = FakeOpenAI().start()
    try:
        paths = app_paths()
        paths.ensure()
        history = History(paths.database)
        conversation = history.create_conversation("long")
        for n in range(6):
            history.add_message(conversation.id, "user", f"question {n}")
            history.add_message(conversation.id, "assistant", f"answer {n}")
        app = make_app(None, model_path="", history=history)
        server = ServerSettings(fake.url, "lab")
        app.load_spec = replace(app.load_spec, server=server)
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_for(pilot, lambda: app.model_info is not None, what="connected")
            fake.scripts = [Script(kind="context", max_messages=6, times=-1)]
            await send(pilot, "the newest question")
            await wait_for(pilot, lambda: app.generation is None and len(replies(app)) == 7, what="the reply")
            views = list(app.active_view().transcript.messages())
            notices = [v for v in views if v.message.role == "notice"]
            assert len(notices) == 1 and "left out of what the model sees" in notices[0].source
            stored = [m for m in app.history.messages(conversation.id) if m.role == "notice"]
            assert notices[0].source == stored[0].content  # the final count, as saved
            assert views.index(notices[0]) == len(views) - 2  # right before the reply it is about
    finally:
        fake.stop()


async def test_a_server_given_by_its_url_alone_is_in_the_picker_with_its_models():
    """`--server http://host:port/v1`, in no config: listed by its host, asked, its models shown."""
    from tests.fixtures.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    try:
        app = make_app(None, model_path="")
        app.load_spec = replace(app.load_spec, server=ServerSettings(fake.url))
        host = fake.url.split("//")[1].split("/")[0]
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.model_info is not None, what="connected")
            await pilot.press("ctrl+g")
            await wait_for(pilot, lambda: isinstance(app.screen, ModelPicker), what="the picker")
            picker = app.screen
            sources = picker.query_one("#sources")
            await wait_for(pilot, lambda: str(sources.get_option(f"server:{host}").prompt).endswith("· 1 model"),
                           what="the server's line")
            picker.show_server(host)
            await wait_for(pilot, lambda: picker.query_one("DataTable").row_count == 1, what="its model")
            assert picker.server_models == ["fake-model"]
    finally:
        fake.stop()
