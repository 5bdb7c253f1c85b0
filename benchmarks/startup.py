"""Benchmarks 4 and 5: the first screen with a big history, and opening a huge conversation.

The history is written straight into a real database made by the app's own
migrations, in one transaction (50,000 messages through the app's API would take
minutes). Timings are wall-clock from creating the app to the first screen with
the conversation's messages on it.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mixtral_tui.config import Config
from mixtral_tui.engine.base import LoadSpec

REPLY = (
    "Here is what I found:\n\n- first point, with **bold** words\n- second point\n\n"
    "```python\ndef answer():\n    return 42\n```\n\nThat is all for this turn."
)


def write_history(path: Path, conversations: int, messages_each: int) -> None:
    from mixtral_tui.store.history import History

    History(path).close()  # creates and migrates the schema
    import sqlite3

    db = sqlite3.connect(path)
    now = time.time()
    with db:
        for c in range(conversations):
            stamp = now - (conversations - c) * 60
            cursor = db.execute(
                "INSERT INTO conversations (title, created_at, updated_at) VALUES (?, ?, ?)",
                (f"Conversation {c + 1} about topic {c % 37}", stamp, stamp),
            )
            db.executemany(
                "INSERT INTO messages (conversation_id, role, content, created_at, status) VALUES (?, ?, ?, ?, 'done')",
                [
                    (cursor.lastrowid, "user" if m % 2 == 0 else "assistant",
                     f"Question {m} in conversation {c}?" if m % 2 == 0 else REPLY, stamp + m)
                    for m in range(messages_each)
                ],
            )
    db.close()


async def first_screen_seconds(
    database: Path, scroll: bool = True, report_wall_clock: bool = False
) -> tuple[float, float]:
    """Seconds from creating the app to its first screen with the newest conversation's
    messages, and (with scroll) the longest the UI then froze while the reader went to the top and
    back. report_wall_clock: print the wall clock at the first screen (for a parent process)."""
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.widgets.message import MessageView
    from tests.fixtures.fake_engine import ScriptedEngine

    start = time.perf_counter()
    app = MixtralApp(Config(), LoadSpec("scripted"), history=History(database), engine=ScriptedEngine())
    async with app.run_test(size=(120, 40)) as pilot:
        while not app.query(MessageView):
            await asyncio.sleep(0.005)
        await pilot.pause()
        shown = time.perf_counter() - start
        if report_wall_clock:
            print(time.time(), flush=True)
        if not scroll:
            return shown, 0.0
        # Scroll to the top (which loads the previous page) and back, while probing how long
        # the UI goes without handling a callback: the longest freeze a keypress would meet.
        view = app.active_view()
        view.transcript.focus()
        stalls: list[float] = []
        probing = True

        async def probe() -> None:
            loop = asyncio.get_running_loop()
            while probing:
                sent = time.perf_counter()
                handled = loop.create_future()
                app.call_later(lambda f=handled: f.done() or f.set_result(time.perf_counter()))
                stalls.append(await handled - sent)
                await asyncio.sleep(0.005)

        prober = asyncio.create_task(probe())
        await pilot.press("home")
        await pilot.press("end")
        probing = False
        await prober
    return shown, max(stalls)


def fresh_process_seconds(database: Path) -> tuple[float, float]:
    """The same first screen from a new Python process (imports and Textual's start included):
    seconds to the first screen, as the user sees it, and to the process's end (its exit, which
    the user does not wait for, also tears the app down)."""
    start = time.time()  # the wall clock: the child reports when its screen was up
    done = subprocess.run(
        [sys.executable, __file__, "--first-screen", str(database)], check=True, capture_output=True, text=True
    )
    ended = time.time()
    return float(done.stdout.split()[-1]) - start, ended - start


def run(conversations: int = 1000, messages_each: int = 50, huge: int = 5000, repeats: int = 3) -> dict:
    """Medians of `repeats` runs (after a warm-up run) for the first screen, in-process and fresh."""
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        big = Path(home) / "big.sqlite3"
        write_history(big, conversations, messages_each)
        asyncio.run(first_screen_seconds(big))  # warm: imports and the disk cache are not what is measured
        startup = sorted(asyncio.run(first_screen_seconds(big))[0] for _ in range(repeats))[repeats // 2]
        fresh_runs = sorted(fresh_process_seconds(big) for _ in range(repeats))
        fresh, fresh_exit = fresh_runs[repeats // 2]
        one = Path(home) / "huge.sqlite3"
        write_history(one, 1, huge)
        opened, stall = asyncio.run(first_screen_seconds(one))
    return {"startup_s": startup, "fresh_startup_s": fresh, "fresh_exit_s": fresh_exit, "huge_open_s": opened,
            "huge_scroll_stall_s": stall}


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if sys.argv[1:2] == ["--first-screen"]:
        asyncio.run(first_screen_seconds(Path(sys.argv[2]), scroll=False, report_wall_clock=True))
    else:
        print(run())
