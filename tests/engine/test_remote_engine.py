"""The server engine against a scripted OpenAI-compatible server on 127.0.0.1: the shapes real
servers send, and every fault the issue lists, each a clear message with nothing received lost."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
from mixtral_tui.engine.remote import RemoteEngine
from mixtral_tui.errors import ServerError
from mixtral_tui.server_config import BUILTIN_SERVERS, ServerSettings
from mixtral_tui.vocabulary import FinishReason
from tests.fixtures.fake_openai import FakeOpenAI, Script

TURNS = [Turn("system", "Be brief."), Turn("user", "Say hello.")]


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    yield server
    server.stop()


def connect(fake: FakeOpenAI, model: str = "", **settings) -> RemoteEngine:
    engine = RemoteEngine(log_sink=lambda text, level: None)
    engine.load(LoadSpec(model, context_size=4096, server=ServerSettings(fake.url, **settings)))
    return engine


def reply(engine: RemoteEngine, sampling: Sampling | None = None, cancel: CancelToken | None = None):
    stats = ReplyStats()
    chunks = list(engine.stream_reply(TURNS, sampling or Sampling(seed=5), cancel or CancelToken(), stats))
    return "".join(c.text for c in chunks), chunks, stats


def test_a_reply_streams_with_the_servers_figures_and_ours(fake):
    engine = connect(fake)
    assert engine.info.name == "fake-model" and engine.info.context_size == 4096  # the server says none: the config's
    text, chunks, stats = reply(engine)
    assert text == "Hello from the server." and len(chunks) == 5
    assert stats.prompt_tokens == 11 and stats.completion_tokens == 5 and stats.finish_reason == FinishReason.STOP
    assert stats.ttft_seconds > 0
    body = fake.chat_requests()[-1].body
    assert body["stream"] is True and body["seed"] == 5 and body["messages"][0] == {"role": "system", "content": "Be brief."}
    assert "top_k" not in body  # a server of unknown kind gets the common fields only


def test_llama_cpp_servers_timings_and_context_are_read(fake):
    fake.props = {"default_generation_settings": {"n_ctx": 8192}}
    fake.scripts = [Script(timings=True)]
    engine = connect(fake)
    assert engine.info.context_size == 8192 and "llama.cpp" in engine.info.template
    _, _, stats = reply(engine)
    assert (stats.prompt_evaluated, stats.prompt_reused, stats.prompt_tokens) == (7, 4, 11)
    assert stats.server_decode_tps == 123.4
    assert {"top_k", "min_p", "repeat_penalty"} <= set(fake.chat_requests()[-1].body)


def test_vllm_is_asked_for_usage_and_its_context_comes_from_its_model_list():
    fake = FakeOpenAI(owned_by="vllm", max_model_len=32768).start()
    try:
        engine = connect(fake)
        assert engine.info.context_size == 32768
        reply(engine)
        body = fake.chat_requests()[-1].body
        assert body["stream_options"] == {"include_usage": True} and "repetition_penalty" in body
    finally:
        fake.stop()


def test_mistral_gets_random_seed_and_its_typed_content_parts_are_read(fake):
    fake.scripts = [Script(kind="mistral")]
    engine = connect(fake, kind="mistral")
    text, _, _ = reply(engine)
    assert text == "Hello from the server."  # the thinking parts are not the answer
    body = fake.chat_requests()[-1].body
    assert body["random_seed"] == 5 and "seed" not in body and "stream_options" not in body


def test_reasoning_sent_apart_is_not_the_answer(fake):
    fake.scripts = [Script(reasoning_field="reasoning_content")]
    text, _, _ = reply(connect(fake))
    assert text == "Hello from the server."


def test_a_server_that_refuses_a_field_is_asked_again_with_the_common_ones(fake):
    fake.props = {"default_generation_settings": {"n_ctx": 2048}}  # llama.cpp: it sends top_k...
    fake.scripts = [Script(kind="refuse-extras", times=-1)]
    text, _, _ = reply(connect(fake))
    assert text == "Hello from the server."
    first, second = fake.chat_requests()[-2:]
    assert "top_k" in first.body and "top_k" not in second.body


def test_esc_closes_the_stream_at_once_even_from_a_silent_server(fake):
    fake.scripts = [Script(kind="stall", delay=0.05)]
    engine = connect(fake)
    cancel = CancelToken()
    stats = ReplyStats()
    got = []
    started = time.monotonic()
    for chunk in engine.stream_reply(TURNS, Sampling(), cancel, stats):
        got.append(chunk.text)
        if len(got) == 2:
            threading.Timer(0.3, cancel.cancel).start()
    assert time.monotonic() - started < 3 and got == ["Hello", " from"]
    assert stats.finish_reason == FinishReason.CANCELLED


def test_the_key_goes_to_its_server_only_and_never_into_a_message(fake, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-very-secret")
    engine = connect(fake, api_key_env="FAKE_KEY")
    reply(engine)
    assert all(s.headers.get("authorization") == "Bearer sk-very-secret" for s in fake.seen if s.path.startswith("/v1"))
    fake.scripts = [Script(kind="status", status=401, body="Invalid API key sk-very-secret")]
    with pytest.raises(ServerError) as error:
        reply(engine)
    assert "FAKE_KEY" in str(error.value)
    unnamed = connect(fake)  # a URL without --api-key-env gets no key
    reply(unnamed)
    assert "authorization" not in fake.chat_requests()[-1].headers


def test_a_key_over_plain_http_to_another_host_needs_allow_insecure(monkeypatch):
    monkeypatch.setenv("K", "secret")
    engine = RemoteEngine()
    server = ServerSettings("http://10.255.255.1:8080/v1", api_key_env="K", connect_timeout=0.2)
    with pytest.raises(ServerError, match="--allow-insecure"):
        engine.load(LoadSpec("", server=server))
    assert not ServerSettings("http://127.0.0.1:1/v1").key_is_exposed and ServerSettings("http://example.org/v1").key_is_exposed
    assert not BUILTIN_SERVERS["mistral"].key_is_exposed


@pytest.mark.parametrize("script, phrase", [
    (Script(kind="status", status=403, body="forbidden"), "wants a key (HTTP 403: forbidden)"),
    (Script(kind="status", status=500, body="CUDA out of memory"), "failed (HTTP 500: CUDA out of memory)"),
    (Script(kind="html"), "HTTP 502: an HTML page"),
    (Script(kind="garbage"), "a chunk that is not a chat completion"),
    (Script(kind="not-sse"), "did not stream an event stream"),
])
def test_faults_are_one_clear_line(fake, script, phrase):
    fake.scripts = [script]
    with pytest.raises(ServerError) as error:
        reply(connect(fake))
    assert phrase in str(error.value) and "Traceback" not in str(error.value)


def test_a_stream_cut_mid_reply_keeps_what_came_and_says_so(fake):
    fake.scripts = [Script(kind="cut")]
    engine = connect(fake)
    got: list[str] = []
    with pytest.raises(ServerError) as error:
        for chunk in engine.stream_reply(TURNS, Sampling(), CancelToken(), ReplyStats()):
            got.append(chunk.text)
    assert got == ["Hello", " from"]
    assert "closed the connection before the reply was finished; the text so far is kept" in str(error.value)


def test_a_server_that_stops_between_chunks_is_given_up_on_after_its_read_timeout(fake):
    fake.scripts = [Script(kind="stall")]
    engine = connect(fake, read_timeout=0.5)
    with pytest.raises(ServerError, match="stopped sending mid-reply"):
        reply(engine)


def test_a_server_that_accepts_and_never_answers(fake):
    fake.scripts = [Script(kind="silent")]
    engine = connect(fake, read_timeout=0.5)
    with pytest.raises(ServerError, match="accepted the request but sent nothing"):
        reply(engine)


def test_429_waits_as_retry_after_says_then_goes_on(fake):
    fake.scripts = [Script(kind="status", status=429, body="slow down", headers={"Retry-After": "1"})]
    started = time.monotonic()
    text, _, _ = reply(connect(fake))
    assert text == "Hello from the server." and time.monotonic() - started >= 0.9


def test_an_unknown_model_lists_the_servers_models(fake):
    with pytest.raises(ServerError, match="has no model 'nope'; it has fake-model"):
        connect(fake, model="nope")


def test_several_models_and_none_chosen_asks_which():
    fake = FakeOpenAI(models=["a", "b"]).start()
    try:
        with pytest.raises(ServerError, match=r"has 2 models: a, b\. Pass --model ID"):
            connect(fake)
        assert connect(fake, model="b").info.name == "b"
    finally:
        fake.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("url, phrase", [
    (lambda: f"http://127.0.0.1:{free_port()}/v1", "cannot connect"),
    (lambda: "http://no-such-host.invalid/v1", "unknown host"),
])
def test_connection_failures(url, phrase):
    engine = RemoteEngine()
    with pytest.raises(ServerError, match=phrase):
        engine.load(LoadSpec("", server=ServerSettings(url(), connect_timeout=2)))


def test_a_server_that_is_not_openai_compatible(fake):
    engine = RemoteEngine()
    with pytest.raises(ServerError, match="HTTP 404"):
        engine.load(LoadSpec("", server=replace(ServerSettings(fake.url), url=fake.url.replace("/v1", "/nothing"))))


def test_token_counts_use_the_servers_tokenizer_or_err_high(fake):
    fake.props = {"default_generation_settings": {"n_ctx": 2048}}
    engine = connect(fake)
    long = [Turn("user", "word " * 500)]
    assert engine.count_tokens(long) == 1000 + 16  # its /tokenize, and the template's share
    asked = len([s for s in fake.seen if s.path == "/tokenize"])
    assert engine.count_tokens([Turn("user", "one two three")]) == 13 // 3 + 16  # sure to fit: not asked
    assert len([s for s in fake.seen if s.path == "/tokenize"]) == asked
    fake.props = None
    estimated = connect(fake)  # no tokenizer: 3 characters a token, and 8 a turn
    assert estimated.count_tokens([Turn("user", "x" * 9000)]) == 3000 + 8 + 8


def test_tls_to_a_plain_http_server_is_a_tls_error(fake):
    engine = RemoteEngine()
    with pytest.raises(ServerError, match="TLS failed"):
        engine.load(LoadSpec("", server=ServerSettings(fake.url.replace("http://", "https://"), connect_timeout=3)))


def test_a_key_the_server_repeats_back_is_blotted_out(fake, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "sk-repeated-back-1234")
    engine = connect(fake, api_key_env="FAKE_KEY")
    fake.scripts = [Script(kind="status", status=401, body="Incorrect API key provided: sk-repeated-back-1234")]
    with pytest.raises(ServerError) as error:
        reply(engine)
    assert "sk-repeated-back-1234" not in str(error.value) and "[the key]" in str(error.value)


def test_when_the_server_says_it_does_not_fit_the_oldest_turns_are_left_out_and_said(fake, tmp_path):
    from mixtral_tui.chat.reply import ReplyRun
    from mixtral_tui.store.history import History

    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("long")
    for n in range(6):
        history.add_message(conversation.id, "user", f"question {n}")
        history.add_message(conversation.id, "assistant", f"answer {n}")
    history.add_message(conversation.id, "user", "the newest question")
    fake.scripts = [Script(kind="context", max_messages=6, times=-1)]
    engine = connect(fake)
    run = ReplyRun(engine, history, conversation.id, Sampling(max_tokens=64), "Be brief.")
    message = run.run()
    assert message.status == "done" and message.content == "Hello from the server."
    sent = fake.chat_requests()[-1].body["messages"]
    assert len(sent) <= 6 and sent[-1]["content"] == "the newest question" and sent[0]["role"] == "system"
    assert run.stats.dropped_turns > 0
    notices = [m for m in history.messages(conversation.id) if m.role == "notice"]
    assert len(notices) == 1 and "left out of what the model sees" in notices[0].content


def test_a_prompt_that_never_fits_says_so(fake, tmp_path):
    from mixtral_tui.chat.reply import ReplyRun
    from mixtral_tui.errors import PromptTooLongError
    from mixtral_tui.store.history import History

    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("one")
    history.add_message(conversation.id, "user", "a question the server never takes")
    fake.scripts = [Script(kind="context", max_messages=0, times=-1)]
    run = ReplyRun(connect(fake), history, conversation.id, Sampling(max_tokens=64), "")
    with pytest.raises(PromptTooLongError, match="does not fit its context of 4,096 tokens"):
        run.run()


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
def test_a_servers_reasoning_comes_apart_as_thinking(fake, field):
    fake.scripts = [Script(reasoning_field=field)]
    stats = ReplyStats()
    chunks = list(connect(fake).stream_reply(TURNS, Sampling(), CancelToken(), stats))
    assert "".join(c.thinking for c in chunks) == "Let me think." and "".join(c.text for c in chunks) == "Hello from the server."


def test_mistrals_thinking_parts_and_inline_tags_from_a_server_are_thinking(fake):
    fake.scripts = [Script(kind="mistral"), Script(pieces=["<think>", "hmm", "</think>", "Hi", "."])]
    engine = connect(fake, kind="mistral")
    chunks = list(engine.stream_reply(TURNS, Sampling(), CancelToken(), ReplyStats()))
    assert "".join(c.thinking for c in chunks) == "hm" * 5 and "".join(c.text for c in chunks) == "Hello from the server."
    chunks = list(engine.stream_reply(TURNS, Sampling(), CancelToken(), ReplyStats()))
    assert "".join(c.thinking for c in chunks) == "hmm" and "".join(c.text for c in chunks) == "Hi."


def test_tools_are_offered_and_streamed_calls_are_joined_per_index(fake):
    from mixtral_tui.engine.base import ToolCall, ToolSpec
    from mixtral_tui.engine.tool_ids import is_mistral_id

    spec = ToolSpec("time_get_current_time", "Get the time in a zone.",
                    {"type": "object", "properties": {"timezone": {"type": "string"}}})
    fake.scripts = [Script(pieces=["Let me look."], tool_calls=[
        {"id": "call_abc", "name": "time_get_current_time", "arguments": '{"timezone": "Asia/Tokyo"}'},
        {"name": "fx_add", "arguments": '{"a": 1, "b": 2}'}])]
    engine = connect(fake)
    stats = ReplyStats()
    chunks = list(engine.stream_reply(TURNS, Sampling(), CancelToken(), stats, tools=[spec]))
    [sent] = fake.chat_requests()
    assert sent.body["tools"] == [{"type": "function", "function": {
        "name": "time_get_current_time", "description": "Get the time in a zone.", "parameters": spec.parameters}}]
    assert "".join(c.text for c in chunks) == "Let me look."
    first, second = chunks[-1].tool_calls
    assert first == ToolCall("call_abc", "time_get_current_time", '{"timezone": "Asia/Tokyo"}')
    assert (second.name, second.arguments) == ("fx_add", '{"a": 1, "b": 2}') and is_mistral_id(second.id)
    assert stats.finish_reason == FinishReason.TOOL_CALLS


def test_calls_and_results_go_back_in_the_openai_form(fake):
    from mixtral_tui.engine.base import ToolCall

    call = ToolCall("a1B2c3D4e", "fx_add", '{"a": 1, "b": 2}')
    turns = [*TURNS, Turn("assistant", "", tool_calls=(call,)), Turn("tool", "3", tool_call_id="a1B2c3D4e")]
    fake.scripts = [Script(pieces=["It is 3."], tool_style="whole")]
    list(connect(fake).stream_reply(turns, Sampling(), CancelToken(), ReplyStats()))
    messages = fake.chat_requests()[0].body["messages"]
    assert messages[-2:] == [
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a1B2c3D4e", "type": "function", "function": {"name": "fx_add", "arguments": '{"a": 1, "b": 2}'}}]},
        {"role": "tool", "tool_call_id": "a1B2c3D4e", "content": "3"}]
    assert "tools" not in fake.chat_requests()[0].body  # none offered: none sent


def test_a_call_sent_whole_as_mistrals_api_sends_it(fake):
    fake.scripts = [Script(pieces=[], tool_calls=[{"id": "Zx9Yw8Vu7", "name": "fx_echo", "arguments": '{"text": "hi"}'}],
                           tool_style="whole")]
    from mixtral_tui.engine.base import ToolSpec

    chunks = list(connect(fake).stream_reply(TURNS, Sampling(), CancelToken(), ReplyStats(),
                                             tools=[ToolSpec("fx_echo", "Echo.")]))
    [call] = chunks[-1].tool_calls
    assert (call.id, call.name, call.arguments) == ("Zx9Yw8Vu7", "fx_echo", '{"text": "hi"}')
