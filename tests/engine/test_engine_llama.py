"""The real llama.cpp engine on real GGUF files: the tiny Mixtral-shaped MoE model and Gemma 3 270M."""

import os
import subprocess
import sys

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn, default_threads
from mixtral_tui.engine.llama import LlamaEngine
from mixtral_tui.errors import ModelLoadError, PromptTooLongError
from tests.fixtures.streaming import reply


@pytest.fixture(scope="module")
def tiny_engine(tiny_model):
    lines: list[str] = []
    engine = LlamaEngine(log_sink=lambda text, level: lines.append(text))
    engine.load(LoadSpec(str(tiny_model), context_size=512))
    engine.log_lines = lines
    yield engine
    engine.unload()


@pytest.fixture(scope="module")
def gemma_engine(gemma_model):
    engine = LlamaEngine()
    engine.load(LoadSpec(str(gemma_model), context_size=1024))
    yield engine
    engine.unload()




def test_tiny_moe_model_loads_with_its_own_template(tiny_engine):
    info = tiny_engine.info
    assert info.architecture == "llama" and info.template == "gguf" and info.context_size == 512
    assert info.threads == default_threads() > 0  # the UI paces its updates by it
    assert any("n_expert" in line and "8" in line for line in "".join(tiny_engine.log_lines).splitlines())


def test_tiny_model_streams_exactly_max_tokens_with_figures(tiny_engine):
    _text, chunks, stats = reply(tiny_engine, [Turn("user", "hello world")])
    counts = [c.completion_tokens for c in chunks]
    assert counts[:24] == list(range(1, 25)) and counts[-1] == 24  # one chunk a token (+ a final flush)
    assert stats.completion_tokens == 24 and stats.finish_reason == "length"
    assert stats.prompt_tokens > 0 and stats.ttft_seconds > 0 and stats.decode_tps > 0
    assert stats.context_used == stats.prompt_tokens + 24 and stats.context_size == 512


def test_greedy_output_is_repeatable(tiny_engine):
    first, _, _ = reply(tiny_engine, [Turn("user", "the model")])
    tiny_engine._llm.reset()
    second, _, _ = reply(tiny_engine, [Turn("user", "the model")])
    assert first == second


def test_next_turn_reuses_the_kv_cache(tiny_engine):
    turns = [Turn("system", "be kind"), Turn("user", "hello world")]
    _, _, first = reply(tiny_engine, turns)
    follow = turns + [Turn("assistant", "the expert"), Turn("user", "chat code")]
    _, _, second = reply(tiny_engine, follow)
    assert second.prompt_reused >= first.prompt_tokens - 1
    assert second.prompt_evaluated < second.prompt_tokens - first.prompt_tokens + 12
    assert second.prompt_reused + second.prompt_evaluated == second.prompt_tokens


def test_cancel_is_checked_on_every_token(tiny_engine):
    cancel = CancelToken()
    stats = ReplyStats()
    counts = []
    for chunk in tiny_engine.stream_reply([Turn("user", "go")], Sampling(max_tokens=200), cancel, stats):
        counts.append(chunk.completion_tokens)
        if len(counts) == 3:
            cancel.cancel()
    # Not one more token after the cancel (a last chunk may carry held-back text of those three).
    assert max(counts) == 3 and stats.finish_reason == "cancelled" and stats.completion_tokens == 3


def test_random_bytes_from_the_model_never_break_decoding(tiny_engine):
    # The tiny model's vocabulary is mostly single bytes, so it emits invalid UTF-8 and control bytes.
    text, _, _ = reply(tiny_engine, [Turn("user", "x")], Sampling(temperature=1.5, max_tokens=200, seed=3))
    assert isinstance(text, str) and text


def test_prompt_longer_than_context_is_refused(tiny_engine):
    with pytest.raises(PromptTooLongError, match="context holds 512"):
        reply(tiny_engine, [Turn("user", "the " * 2000)])


def test_template_fallback_when_gguf_has_none(no_template_model):
    """The log says the template the prompts use, as the status line does; llama-cpp-python's own
    guess ("Using fallback chat format: llama-2"), which the app never uses, is left out."""
    lines: list[str] = []
    engine = LlamaEngine(log_sink=lambda text, level: lines.append(text))
    info = engine.load(LoadSpec(str(no_template_model), context_size=256))
    assert info.template == "mistral"
    log = "".join(lines)
    assert "prompts use the chat template 'mistral' (the app's choice for this model: the GGUF carries none)" in log
    assert "fallback chat format" not in log and "llama-2" not in log
    assert "llama_model_loader" in log  # the rest of the load's lines are there, whole
    engine.unload()


@pytest.mark.parametrize(
    "fixture, phrase",
    [
        ("old_layout_model", "old layout"),
        ("unknown_arch_model", "architecture 'frobnicator'"),
        ("truncated_model", "truncated"),
        ("not_gguf_file", "not a GGUF file"),
    ],
)
def test_bad_model_files_get_a_clear_reason(request, fixture, phrase):
    engine = LlamaEngine()
    with pytest.raises(ModelLoadError, match=phrase):
        engine.load(LoadSpec(str(request.getfixturevalue(fixture)), context_size=256))


def test_unknown_architecture_reason_comes_from_the_native_log(unknown_arch_model, monkeypatch):
    # Bypass our header pre-check so llama.cpp itself refuses the file.
    monkeypatch.setattr("mixtral_tui.models.gguf_info._known_architectures", lambda: {"frobnicator", "llama"})
    with pytest.raises(ModelLoadError, match=r"architecture 'frobnicator'.*does not"):
        LlamaEngine().load(LoadSpec(str(unknown_arch_model), context_size=256))


def test_missing_model_path(tmp_path):
    with pytest.raises(ModelLoadError, match="model file not found"):
        LlamaEngine().load(LoadSpec(str(tmp_path / "none.gguf")))


def test_gemma_streams_a_reply_with_figures(gemma_engine):
    assert gemma_engine.info.architecture == "gemma3" and gemma_engine.info.quant == "Q4_K_M"
    text, chunks, stats = reply(gemma_engine, [Turn("system", "Be brief."), Turn("user", "The capital of France is")])
    assert text.strip() and len(chunks) >= 1
    assert stats.completion_tokens >= 1 and stats.prompt_tokens > 5 and stats.ttft_seconds > 0


def test_gemma_second_turn_evaluates_only_new_tokens(gemma_engine):
    turns = [Turn("user", "Name a colour.")]
    text, _, first = reply(gemma_engine, turns, Sampling(temperature=0.0, max_tokens=8))
    _, _, second = reply(gemma_engine, turns + [Turn("assistant", text), Turn("user", "Another one.")],
                         Sampling(temperature=0.0, max_tokens=8))
    assert second.prompt_reused >= first.prompt_tokens
    assert second.prompt_evaluated < 30


def test_native_logs_never_reach_the_terminal(tiny_model, tmp_path):
    """Load and generate in a fresh process; its stderr/stdout must hold nothing from llama.cpp."""
    script = (
        "from mixtral_tui.engine.llama import LlamaEngine\n"
        "from mixtral_tui.cancel import CancelToken\nfrom mixtral_tui.engine.base import LoadSpec, Turn, ReplyStats\n"
        "from mixtral_tui.config import Sampling\n"
        "lines = []\n"
        "e = LlamaEngine(log_sink=lambda text, level: lines.append(text))\n"
        f"e.load(LoadSpec({str(tiny_model)!r}, 256))\n"
        "list(e.stream_reply([Turn('user', 'hi')], Sampling(max_tokens=4), CancelToken(), ReplyStats()))\n"
        "e.unload()\n"
        "print('CAPTURED', len(''.join(lines)) > 1000)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CAPTURED True"
    assert done.stderr == ""


def test_thread_count_follows_the_environment(monkeypatch):
    monkeypatch.delenv("MIXTRAL_TUI_THREADS", raising=False)
    automatic = default_threads()
    assert 1 <= automatic <= (os.cpu_count() or 1)
    monkeypatch.setenv("MIXTRAL_TUI_THREADS", "3")
    assert default_threads() == 3
    monkeypatch.setenv("MIXTRAL_TUI_THREADS", "lots")  # not a number: the automatic choice
    assert default_threads() == automatic
