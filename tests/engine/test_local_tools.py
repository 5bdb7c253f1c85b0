"""Tools for a model on this machine, on real GGUF files through the real llama-cpp-python: the
template in the file decides whether tools are offered, and a model whose template takes them
writes its call in its family's form (fixtures: `write_model(says=...)` makes the random weights
write exactly that), which the engine reads back, in this process and in the engine's own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, ToolSpec, Turn
from mixtral_tui.engine.llama import LlamaEngine
from mixtral_tui.engine.process import ProcessEngine
from mixtral_tui.store.history import History
from mixtral_tui.vocabulary import FinishReason
from tests.cli.test_tools_cli import fx, run, write_mcp
from tests.fixtures.gguf_models import write_model

TEMPLATES = Path(__file__).parents[1] / "fixtures" / "templates"
MISTRAL_CALL = '[TOOL_CALLS] [{"name": "fx_add", "arguments": {"a": 2, "b": 40}}]'
HERMES_CALL = '<tool_call>\n{"name": "fx_add", "arguments": {"a": 2, "b": 40}}\n</tool_call>'
ADD = ToolSpec("fx_add", "Add two integers and return their sum.",
               {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})


@pytest.fixture(scope="session")
def mistral_caller(models) -> Path:
    return write_model(models / "tiny-mistral-small-caller.gguf", name="Mistral-Small-3.1-tiny", says=MISTRAL_CALL,
                       chat_template=(TEMPLATES / "mistralai-Mistral-Small-3.1-24B-Instruct-2503.jinja").read_text())


@pytest.fixture(scope="session")
def qwen_caller(models) -> Path:
    return write_model(models / "tiny-qwen3-caller.gguf", name="Qwen3-tiny", says=HERMES_CALL,
                       chat_template=(TEMPLATES / "Qwen-Qwen3.jinja").read_text())


def reply(engine, turns, tools=(ADD,), **sampling):
    stats = ReplyStats()
    chunks = list(engine.stream_reply(turns, Sampling(**sampling), CancelToken(), stats, tools=tools))
    return "".join(c.text for c in chunks), [call for c in chunks for call in c.tool_calls], stats


@pytest.mark.parametrize("engine_class", [LlamaEngine, ProcessEngine])
def test_a_model_whose_template_takes_tools_calls_one_and_nothing_of_it_is_shown(mistral_caller, engine_class):
    engine = engine_class()
    try:
        info = engine.load(LoadSpec(str(mistral_caller), context_size=4096))
        assert info.no_tools == ""
        text, calls, stats = reply(engine, [Turn("user", "What is 2 + 40?")])
        assert text == "" and stats.finish_reason == FinishReason.TOOL_CALLS
        [call] = calls
        assert call.name == "fx_add" and json.loads(call.arguments) == {"a": 2, "b": 40} and len(call.id) == 9
        # The next round carries the call and its result in Mistral's form, and the tools again
        answered = [Turn("user", "What is 2 + 40?"), Turn("assistant", "", tool_calls=(call,)),
                    Turn("tool", "42", tool_call_id=call.id)]
        assert engine.count_tokens(answered, tools=[ADD]) > engine.count_tokens(answered) > \
            engine.count_tokens(answered[:1])
        # Offered none, the model's text is its answer: shown as written, nothing is run
        text, calls, stats = reply(engine, [Turn("user", "What is 2 + 40?")], tools=())
        assert text == MISTRAL_CALL and calls == [] and stats.finish_reason == FinishReason.STOP
    finally:
        engine.close()


def test_the_prompt_offers_the_tools_only_where_the_template_takes_them(mistral_caller, tiny_model):
    engine = LlamaEngine()
    try:
        engine.load(LoadSpec(str(mistral_caller), context_size=4096))
        prompt = engine.template.render([Turn("user", "hi")], [ADD])
        assert '[AVAILABLE_TOOLS] [{"type": "function", "function": {"name": "fx_add"' in prompt
        info = engine.load(LoadSpec(str(tiny_model), context_size=1024))  # Mixtral 8x7B Instruct's template
        assert "takes no tools" in info.no_tools and "Mistral Small" in info.no_tools and "server" in info.no_tools
        text, calls, _ = reply(engine, [Turn("user", "hi")], max_tokens=4)
        assert calls == [] and text  # offered, but not taken: a plain reply
    finally:
        engine.close()


def test_a_stopped_reply_runs_no_call(mistral_caller):
    engine = LlamaEngine()
    try:
        engine.load(LoadSpec(str(mistral_caller), context_size=4096))
        cancel, stats = CancelToken(), ReplyStats()
        chunks = []
        for chunk in engine.stream_reply([Turn("user", "What is 2 + 40?")], Sampling(), cancel, stats, tools=[ADD]):
            chunks.append(chunk)
            cancel.cancel()  # Esc after the first token (the whole call is one token here)
        assert stats.finish_reason == FinishReason.CANCELLED
        assert not any(c.tool_calls for c in chunks)
        assert "".join(c.text for c in chunks) == MISTRAL_CALL  # shown as written, not run
    finally:
        engine.close()


def test_ask_with_a_local_qwen_model_runs_the_mcp_tool_it_calls(home, qwen_caller):
    write_mcp(home, {"fx": fx()})
    (home / "config" / "config.toml").write_text("[tools]\nmax_rounds = 2\n")
    done = run("ask", "--model", str(qwen_caller), "--ctx", "4096", "--allow-tool", "fx_*", "What is 2 + 40?")
    assert done.returncode == 0, done.stderr
    assert "tools are not offered" not in done.stderr
    history = History(home / "data" / "history.sqlite3")
    [conversation] = history.conversations()
    messages = history.messages(conversation.id)
    # Each round the model calls fx_add (it can do nothing else) and the MCP server adds; after
    # max_rounds it is offered no tools, and what it writes then is its answer, shown as written
    assert [m.role for m in messages] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert messages[1].tool_calls[0]["name"] == "fx_add" and messages[2].content == "42"
    assert messages[2].stats["allowed_by"] == "rule fx_*" and messages[2].stats["outcome"] == "done"
    assert messages[5].tool_calls == [] and messages[5].content == HERMES_CALL
    assert done.stdout.strip().endswith(HERMES_CALL)


def test_tools_says_whether_the_configured_model_takes_them(home, mistral_caller, tiny_model):
    write_mcp(home, {"fx": fx()})
    config = home / "config" / "config.toml"
    config.write_text(f'[model]\npath = "{mistral_caller}"\n')
    done = run("tools")
    assert "the model in config.toml (Mistral-Small-3.1-tiny) takes tools: its calls are read in the mistral form" \
        in done.stdout
    config.write_text(f'[model]\npath = "{tiny_model}"\n')
    done = run("tools")
    assert "the model in config.toml (Mixtral-8x7B-Instruct-tiny) is offered no tools: the chat template of " \
           "Mixtral-8x7B-Instruct-tiny takes no tools" in done.stdout and "Qwen 2.5 or 3" in done.stdout
