"""`mixtral-tui bench`: a short standard measurement of a model on this machine.

Prompt processing (a 512-token prompt), decoding (up to 128 tokens, greedy),
time to first token and memory, through the same engine the app uses, so the
figures agree with the status bar.
"""

from __future__ import annotations

import resource
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
from mixtral_tui.models.hardware import gib

if TYPE_CHECKING:
    from mixtral_tui.engine.base import Engine, LogSink


WORDS = ("the model reads a long prompt about terminals and experts and writes a reply " * 64).split()


def peak_rss_bytes() -> int:
    """Peak resident memory of this process or of the model's process (the larger; read once that
    process has ended). Linux reports KiB, macOS bytes."""
    peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return peak if sys.platform == "darwin" else peak * 1024


def prompt_of(engine: Engine, tokens: int) -> list[Turn]:
    """A user turn that formats to about `tokens` tokens."""
    words = list(WORDS)
    while len(words) < tokens * 2:
        words += WORDS
    low, high = 1, len(words)
    while low < high:  # the longest prefix that fits
        mid = (low + high + 1) // 2
        if engine.count_tokens([Turn("user", " ".join(words[:mid]))], exact=True) <= tokens:
            low = mid
        else:
            high = mid - 1
    return [Turn("user", " ".join(words[:low]))]


def run_bench(spec: LoadSpec, prompt_tokens: int = 512, decode_tokens: int = 128, log_sink: LogSink | None = None) -> dict:
    from mixtral_tui.engine import create_engine

    engine = create_engine(log_sink=log_sink, kind=spec.engine, remote=spec.server is not None)
    info = engine.load(spec)
    turns = prompt_of(engine, prompt_tokens)
    sampling = Sampling(temperature=0.0, max_tokens=decode_tokens, seed=1, repeat_penalty=1.0)
    # Warm-up pass, then the measured one (the KV cache is cleared by a different prompt in between).
    list(engine.stream_reply([Turn("user", "warm up")], Sampling(max_tokens=4, temperature=0.0), CancelToken(), ReplyStats()))
    stats = ReplyStats()
    list(engine.stream_reply(turns, sampling, CancelToken(), stats))
    engine.unload()
    return {"model": info.name, "quant": info.quant, "context": info.context_size, "stats": stats,
            "peak_rss": peak_rss_bytes(), "plan": info.plan_summary}


def bench_command(spec: LoadSpec) -> int:
    from mixtral_tui.engine.log_router import LogRouter
    from mixtral_tui.paths import app_paths

    if not spec.model_path and spec.server is None:
        from mixtral_tui.cli.chat_commands import no_model_error

        raise no_model_error()
    paths = app_paths()
    paths.ensure()
    log = LogRouter(paths.llama_log).write
    result = run_bench(spec, log_sink=log)
    s = result["stats"]
    print(f"model            {result['model']} {result['quant'] or ''} (context {result['context']:,})")
    if result["plan"]:
        print(f"offload plan     {result['plan']}")
    print(f"prompt           {prompt_line(s)}")
    speed = f", {s.decode_tps:,.1f} tok/s" if s.decode_tps > 0 else ""
    drafts = f" (speculative: drafts {s.draft_accepted:,}/{s.draft_tokens:,} kept)" if s.draft_tokens else ""
    print(f"decode           {s.completion_tokens:,} tokens{speed}{drafts}")
    if spec.engine == "llama-server" and spec.llama_server.speculative and spec.server is None:
        # with and without, the same prompt and sampler: whether speculation pays on this machine
        plain = run_bench(replace(spec, llama_server=replace(spec.llama_server, speculative="")), log_sink=log)["stats"]
        ratio = f" (with / without: {s.decode_tps / plain.decode_tps:.2f}×)" if plain.decode_tps > 0 else ""
        print(f"  without it     {plain.completion_tokens:,} tokens, {plain.decode_tps:,.1f} tok/s{ratio}")
    print(f"first token      {s.ttft_seconds:.3f} s")
    print(f"peak memory      {gib(result['peak_rss'], 2)} (resident, the larger of the app and the model's process)")
    return 0


def prompt_line(stats: ReplyStats) -> str:
    """The prompt's figures as timed by the engine; from a server that does not time its prompt
    (llama-cpp-python's), reckoned from the first token's time, and said so (never "0 tokens in 0 s")."""
    if stats.prompt_counted == "" and stats.prompt_seconds > 0:
        return f"{stats.prompt_evaluated:,} tokens in {stats.prompt_seconds:.2f} s = {stats.prompt_tps:,.1f} tok/s"
    about = "≈" if stats.prompt_counted == "estimate" else ""
    if not stats.prompt_tokens:
        return "not told by the server"
    if stats.ttft_seconds <= 0:
        return f"{about}{stats.prompt_tokens:,} tokens (the server does not time them)"
    return (f"{about}{stats.prompt_tokens:,} tokens, first token after {duration(stats.ttft_seconds)} = "
            f"≈{stats.prompt_tokens / stats.ttft_seconds:,.0f} tok/s (the server does not time its prompt: "
            "this includes the network and the first token)")


def duration(seconds: float) -> str:
    """"0.83 s", or "4 ms" under a second: a small model's prompt on a fast server is read in
    milliseconds, and "0.00 s" read as nothing measured."""
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.0f} ms" if seconds >= 0.0005 else "under 1 ms"
