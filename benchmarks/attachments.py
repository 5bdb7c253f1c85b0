"""Benchmark 11: what attaching files costs, through the whole app: `python benchmarks/attachments.py [--quick]`.

1. Enter -> the request out with a 1 MB source tree attached (`@tree`, a git repository of 200
   files of 5 KB): the files read, counted and checked, the message saved, the reply asked for
   (the scripted engine, whose counting is nearly free: the app's own work; a real tokenizer's
   share is measured apart, on the tiny model).
2. The message box while a directory is read: keys typed while the worker reads a 4 MB tree,
   each key's time from reaching the app (posted as the terminal driver posts it) to its letter in
   the box (p99). Pilot's own press() takes 64 ms a key here, idle: it is not the measure.
3. The first screen of a conversation whose 20 user messages carry 20 attachments of 50 KB against
   the same conversation without them, each the newest of its own history, interleaved A/B, B/A.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LINE = "    value = compute(alpha, beta)  # a line of a source file, about sixty bytes long\n"


def write_tree(root: Path, files: int, each: int) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        folder = root / f"pkg{i % 10}"
        folder.mkdir(exist_ok=True)
        (folder / f"module{i}.py").write_text(LINE * (each // len(LINE)))
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def make_app(work: Path, engine: object, history: object = None):  # type: ignore[no-untyped-def]
    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    config = Config(sampling=Sampling(max_tokens=4, temperature=0.0))
    return MixtralApp(config, LoadSpec("scripted", context_size=4_000_000),
                      history=history or History(work / "h.sqlite3"), engine=engine, start_dir=work)  # type: ignore[arg-type]


def timed_engine(marks: list[float]):  # type: ignore[no-untyped-def]
    from tests.fixtures.fake_engine import ScriptedEngine

    class Timed(ScriptedEngine):
        def stream_reply(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            marks.append(time.perf_counter())
            yield from super().stream_reply(*args, **kwargs)

    return Timed(pieces=["ok"], context_size=4_000_000)


async def enter_to_request(work: Path, rounds: int) -> list[float]:
    marks: list[float] = []
    app = make_app(work, timed_engine(marks))
    times = []
    async with app.run_test(size=(120, 40)) as pilot:
        while app.model_info is None:
            await asyncio.sleep(0.01)
        for _ in range(rounds):
            view = app.active_view()
            view.composer.focus()
            view.composer.insert("Review @tree please")
            before = len(marks)
            pressed = time.perf_counter()
            await pilot.press("enter")
            while len(marks) == before:
                await asyncio.sleep(0.001)
            times.append(marks[-1] - pressed)
            while app.generation is not None:
                await asyncio.sleep(0.01)
            await app.conversations.new()
    return times


async def keys_while_reading(work: Path, reads: int) -> tuple[list[float], float]:
    """Each key's time from reaching the app (as the terminal driver posts it) to its letter in the
    box, for the keys typed while the big tree is read and counted (the estimate's worker); and
    how long that read took."""
    from textual import events

    app = make_app(work, timed_engine([]))
    latencies = []
    async with app.run_test(size=(120, 40)):
        while app.model_info is None:
            await asyncio.sleep(0.01)
        composer = app.active_view().composer
        composer.focus()
        composer.insert("Review @big ")
        box = app.active_view().message_box
        done: list[float] = []
        counted = box._counted

        def noted(*args):  # type: ignore[no-untyped-def]
            done.append(time.perf_counter())  # the worker's answer is in (then dropped: the text changed)
            return counted(*args)

        box._counted = noted  # type: ignore[method-assign]
        took = []
        for _ in range(reads):
            done.clear()
            began = time.perf_counter()
            box._estimate()  # a read starts now, in its worker
            for i in range(500):
                letter = "abcdefghij"[i % 10]
                expected = composer.text + letter
                started = time.perf_counter()
                app.post_message(events.Key(letter, letter))
                while composer.text != expected:
                    await asyncio.sleep(0.0002)
                if done:
                    break
                latencies.append(time.perf_counter() - started)
                await asyncio.sleep(0.002)
            assert done, "the read was not over after 500 keys"
            took.append(done[0] - began)
    return latencies, statistics.median(took)


def conversation_with(history, attachments: bool, each: int) -> int:  # type: ignore[no-untyped-def]
    from mixtral_tui.store.attachments import Attachment

    conversation = history.create_conversation("files" if attachments else "plain")
    for m in range(20):
        files = [Attachment(f"doc{m}.txt", (f"{m} " + LINE) * (each // len(LINE)), tokens=12_000)] if attachments else []
        history.add_message(conversation.id, "user", f"Question {m}", attached=files)
        history.add_message(conversation.id, "assistant", "An answer of a few words.")
    return conversation.id


async def open_seconds(work: Path, database: Path) -> float:
    """From the app's start to its first screen with the conversation's messages (the newest
    conversation opens at start), as benchmark 4 times it."""
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.widgets.message import MessageView

    started = time.perf_counter()
    app = make_app(work, timed_engine([]), History(database))
    async with app.run_test(size=(120, 40)) as pilot:
        while len(app.query(MessageView)) < 20:
            await asyncio.sleep(0.001)
        await pilot.pause()
        return time.perf_counter() - started


def tokenizer_share(work: Path) -> tuple[float, int]:
    """The tiny model's tokenizer on the 1 MB tree's text: each file, as the check before sending
    counts it, then the whole text once, as the reply's prompt is tokenized: seconds, tokens."""
    from mixtral_tui.chat.attach import read_named, with_tokens
    from mixtral_tui.engine.base import LoadSpec, Turn
    from mixtral_tui.engine.llama import LlamaEngine
    from tests.fixtures.gguf_models import write_model

    engine = LlamaEngine()
    engine.load(LoadSpec(str(write_model(work / "tiny.gguf")), context_size=1024))
    found = read_named([("tree", work / "tree")], 10_000_000)
    started = time.perf_counter()
    counted = with_tokens(engine, found)
    engine.count_tokens([Turn("user", "".join(a.text for a in found))])
    took = time.perf_counter() - started
    engine.close()
    return took, sum(a.tokens for a in counted)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds = 3 if args.quick else 7
    from mixtral_tui.store.history import History

    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        work = Path(home)
        write_tree(work / "tree", 200, 5_000)
        write_tree(work / "big", 280, 14_000)
        enter = asyncio.run(enter_to_request(work, rounds))
        keys, read_for = asyncio.run(keys_while_reading(work, 5 if args.quick else 15))
        databases = {files: work / f"opened-{files}.sqlite3" for files in (True, False)}
        for files, database in databases.items():
            conversation_with(History(database), files, 50_000)
        asyncio.run(open_seconds(work, databases[False]))  # warm: imports and the disk cache
        opened: dict[bool, list[float]] = {True: [], False: []}
        for turn in range(rounds):
            pair = [True, False]
            for files in pair if turn % 2 == 0 else reversed(pair):
                opened[files].append(asyncio.run(open_seconds(work, databases[files])))
        tokenizing, tokens = tokenizer_share(work)
    middle = statistics.median
    p99 = sorted(keys)[max(0, int(len(keys) * 0.99) - 1)]
    print(f"Enter -> request out, a 1 MB tree of 200 files attached: {1000 * middle(enter):.0f} ms median, "
          f"{1000 * max(enter):.0f} ms worst of {rounds} (goal <= 200 ms)")
    print(f"keys while a 4 MB tree is read ({1000 * read_for:.0f} ms a read, median): p99 {1000 * p99:.1f} ms, worst "
          f"{1000 * max(keys):.1f} ms of the {len(keys)} typed meanwhile (goal p99 < 50 ms)")
    print(f"opening 20 messages with 20 x 50 KB attached / without: {middle(opened[True]) / middle(opened[False]):.3f} "
          f"({1000 * middle(opened[True]):.0f} vs {1000 * middle(opened[False]):.0f} ms; goal within 10%)")
    print(f"the tiny model's tokenizer on the 1 MB tree (each file for the check, then the prompt as the reply "
          f"reads it): {1000 * tokenizing:.0f} ms "
          f"for {tokens:,} tokens (not in the first figure: the scripted engine counts words)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
