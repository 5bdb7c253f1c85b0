"""The engine in a process of its own: the same replies as in the app's process, stop requests
that reach it, native output kept off the terminal, and a crash that the app survives."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LOG_DEBUG, LOG_INFO, LoadSpec, ReplyStats, Turn
from mixtral_tui.engine.llama import LlamaEngine
from mixtral_tui.engine.process import EngineStopped, ProcessEngine
from mixtral_tui.errors import ModelLoadError, PromptTooLongError, UserError
from tests.fixtures.streaming import reply as stream_all

GREEDY = Sampling(temperature=0.0, max_tokens=40, seed=1)
TURNS = [Turn("system", "Be brief."), Turn("user", "Tell me about experts.")]


@pytest.fixture(scope="module")
def process_engine(tiny_model):
    lines: list[str] = []
    levels: set[int] = set()
    engine = ProcessEngine(log_sink=lambda text, level: lines.append(text) or levels.add(level))
    engine.load(LoadSpec(str(tiny_model), context_size=8192))  # room for replies long enough to stop
    engine.log_lines, engine.log_levels = lines, levels
    yield engine
    engine.unload()


def reply(engine, turns, sampling=GREEDY):
    return stream_all(engine, turns, sampling)


def run_python(script: str) -> subprocess.CompletedProcess:
    """The script in a new interpreter (a fresh app process), this checkout on its path."""
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_replies_match_the_engine_in_the_apps_own_process(process_engine, tiny_model):
    local = LlamaEngine()
    local.load(LoadSpec(str(tiny_model), context_size=512))
    try:
        expected, expected_chunks, expected_stats = reply(local, TURNS)
        assert process_engine.count_tokens(TURNS) == local.count_tokens(TURNS)
    finally:
        local.unload()
    text, chunks, stats = reply(process_engine, TURNS)
    assert text == expected and 1 <= len(chunks) <= len(expected_chunks)  # the tokens of 20 ms come as one chunk
    assert chunks[0].completion_tokens == 1  # the first token is not held back
    assert len(chunks) <= GREEDY.max_tokens // 2  # then batched: the tiny model writes a token in well under 1 ms
    assert chunks[-1].completion_tokens == expected_chunks[-1].completion_tokens == GREEDY.max_tokens
    counts = [c.completion_tokens for c in chunks]
    assert counts == sorted(counts)  # never backwards (the last chunk may repeat the count: held-back text)
    assert stats.completion_tokens == expected_stats.completion_tokens and stats.prompt_tokens == expected_stats.prompt_tokens
    assert stats.decode_tps > 0 and stats.ttft_seconds > 0 and stats.finish_reason == "length"
    assert process_engine.info.name == "Mixtral-8x7B-Instruct-tiny"
    assert any("llama_model_loader" in line for line in process_engine.log_lines)  # the child's log reaches the app
    assert {LOG_DEBUG, LOG_INFO} <= process_engine.log_levels  # with llama.cpp's levels


def test_a_stop_request_reaches_the_other_process(process_engine):
    cancel = CancelToken()
    stats = ReplyStats()
    seen = 0
    for chunk in process_engine.stream_reply(TURNS, Sampling(temperature=0.0, max_tokens=2_000), cancel, stats):
        seen = chunk.completion_tokens
        if seen >= 5:
            cancel.cancel()
    assert stats.finish_reason == "cancelled" and stats.completion_tokens < 1_000
    assert reply(process_engine, TURNS)[2].completion_tokens == GREEDY.max_tokens  # ready for the next one


def test_a_reply_left_unread_is_stopped_and_the_engine_stays_usable(process_engine):
    stream = process_engine.stream_reply(TURNS, Sampling(temperature=0.0, max_tokens=2_000), CancelToken(), ReplyStats())
    next(stream)
    stream.close()  # the reader went away after one chunk
    assert process_engine.count_tokens(TURNS) > 5


def test_errors_cross_as_the_same_kind(process_engine, old_layout_model):
    with pytest.raises(PromptTooLongError, match="context holds 8,192"):
        reply(process_engine, [Turn("user", "word " * 9_000)])
    broken = ProcessEngine()
    with pytest.raises(ModelLoadError, match="old layout"):
        broken.load(LoadSpec(str(old_layout_model), context_size=256))
    broken.unload()


def test_a_crash_in_the_models_process_is_a_message_and_the_model_loads_again(tiny_model):
    engine = ProcessEngine()
    engine.load(LoadSpec(str(tiny_model), context_size=8192))
    stream = engine.stream_reply(TURNS, Sampling(temperature=0.0, max_tokens=8_000), CancelToken(), ReplyStats())
    next(stream)
    log, _ = engine._log_from
    with open(log, "a") as native_stderr:  # what ggml prints before abort() goes straight to the log file
        native_stderr.write("ggml.c:1234: GGML_ASSERT(ne % 32 == 0) failed\n")
    os.kill(engine._process.pid, signal.SIGKILL)  # as that abort() would end it
    with pytest.raises(EngineStopped, match=r"ended by SIGKILL while writing the reply \(it said: ggml.c:1234: "
                       r"GGML_ASSERT\(ne % 32 == 0\) failed\).*load it again") as caught:
        for _ in stream:
            pass
    assert isinstance(caught.value, UserError) and engine.info is None
    with pytest.raises(ModelLoadError, match="no model is loaded"):
        reply(engine, TURNS)
    engine.load(LoadSpec(str(tiny_model), context_size=512))
    assert reply(engine, TURNS)[2].completion_tokens == GREEDY.max_tokens
    engine.unload()


def test_unloading_ends_the_process(tiny_model):
    engine = ProcessEngine()
    engine.load(LoadSpec(str(tiny_model), context_size=512))
    process = engine._process
    engine.unload()
    assert process.poll() is not None and engine.info is None


def test_native_output_goes_to_the_log_file_not_the_terminal(tiny_model, home):
    """In a fresh app process: nothing on its stdout/stderr but what it prints itself."""
    script = (
        "from mixtral_tui.engine.process import ProcessEngine\n"
        "from mixtral_tui.cancel import CancelToken\nfrom mixtral_tui.engine.base import LoadSpec, Turn, ReplyStats\n"
        "from mixtral_tui.config import Sampling\n"
        "lines = []\n"
        "e = ProcessEngine(log_sink=lambda text, level: lines.append(text))\n"
        f"e.load(LoadSpec({str(tiny_model)!r}, 256))\n"
        "list(e.stream_reply([Turn('user', 'hi')], Sampling(max_tokens=4), CancelToken(), ReplyStats()))\n"
        "e.unload()\n"
        "print('CAPTURED', len(''.join(lines)) > 1000)\n"
    )
    done = run_python(script)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "CAPTURED True" and done.stderr == ""


def test_gemma_replies_through_its_own_process(gemma_model):
    engine = ProcessEngine()
    started = time.perf_counter()
    info = engine.load(LoadSpec(str(gemma_model), context_size=1024))
    try:
        assert info.architecture == "gemma3" and time.perf_counter() - started < 60
        text, _, stats = reply(engine, [Turn("user", "The capital of France is")], Sampling(temperature=0.0, max_tokens=8))
        assert text.strip() and stats.completion_tokens >= 1 and stats.prompt_tokens > 5
    finally:
        engine.unload()


def test_hardware_is_asked_from_a_short_lived_process():
    """The app learns the GPUs without loading llama.cpp itself (which would hold a GPU context)."""
    script = (
        "import sys\n"
        "from mixtral_tui.engine import detect_hardware\n"
        "hardware = detect_hardware()\n"
        "print(hardware.gpu_offload, len(hardware.gpus), 'llama_cpp' in sys.modules)\n"
    )
    done = run_python(script)
    assert done.returncode == 0, done.stderr
    from mixtral_tui.engine.llama import backend_devices

    offload, devices = backend_devices()  # the same question, asked here
    assert done.stdout.split() == [str(offload), str(len(devices)), "False"]


def test_a_failed_gpu_probe_is_said_not_taken_for_no_gpu(monkeypatch, capsys):
    """A probe process that dies (a broken driver, a crash) plans for the CPU but says so, with its last words."""
    import sys

    from mixtral_tui.cli.model_commands import doctor_command
    from mixtral_tui.engine import detect_hardware
    from mixtral_tui.models.hardware import hardware_line

    fake = Path(__file__).parents[1] / "fixtures" / "dying_python.sh"
    monkeypatch.setattr(sys, "executable", str(fake))
    hardware = detect_hardware()
    assert hardware.gpus == () and not hardware.gpu_offload
    assert hardware.probe_error == "llama.cpp's device probe ended with status 3: CUDA error: unknown error"
    assert "GPUs unknown (llama.cpp's device probe ended with status 3" in hardware_line(hardware)
    assert doctor_command() == 0
    out = capsys.readouterr().out
    assert "GPU              unknown: llama.cpp's device probe" in out and "GPU offload: unknown" in out
    assert "none that this llama.cpp build can use" not in out
