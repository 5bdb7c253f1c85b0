"""Benchmark 6: searching a big history, and what the search index costs elsewhere.

    python benchmarks/search.py

On the history of benchmark 4 (1,000 conversations of 50 messages): the one-time upgrade of
a database from before the index (migration 4 indexes every saved message), the time of a
search for a common word, a rare one, two words and a prefix (medians), and the cost of a
streaming reply's checkpoint, the one write made while a reply streams, with and without
the index's triggers, for a reply of 10,000 tokens (~45 KB).
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

QUERIES = {"common word": "point", "rare word": "topic 17", "two words": "bold words", "prefix": "answ"}


def median_seconds(action, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def checkpoint_seconds(path: Path, content: str, repeats: int) -> float:
    from mixtral_tui.store.history import History

    history = History(path)
    conversation = history.create_conversation("checkpoints")
    reply = history.add_message(conversation.id, "assistant", "", status="streaming")
    grown = iter(range(10**9))
    seconds = median_seconds(lambda: history.update_message(reply.id, content + str(next(grown)), "streaming"), repeats)
    history.close()
    return seconds


def run(conversations: int = 1000, messages_each: int = 50, repeats: int = 20) -> dict:
    from benchmarks.startup import write_history
    from mixtral_tui.store.history import History
    from mixtral_tui.store.migrations import MIGRATIONS, migrate

    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as home:
        old = Path(home) / "old.sqlite3"
        write_history(old, conversations, messages_each)
        db = sqlite3.connect(old, isolation_level=None)
        for trigger in ("insert", "delete", "update"):  # as a database from before the index
            db.execute(f"DROP TRIGGER message_search_{trigger}")
        db.execute("DROP TABLE message_search")
        # The schema is current, the index missing (as after a Python without FTS5): migrate() builds
        # it from the messages already saved, as the upgrade to the index did.
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        start = time.perf_counter()
        migrate(db)
        results["upgrade_s"] = time.perf_counter() - start
        db.close()

        history = History(old)
        for name, text in QUERIES.items():
            results[f"hits {name}"] = len(history.search(text))
            results[f"search {name} s"] = median_seconds(lambda text=text: history.search(text), repeats)

        reply = "A line of a long reply, with `code` and **bold** words.\n" * 800  # ~45 KB, ~10,000 tokens
        results["checkpoint_s"] = checkpoint_seconds(Path(home) / "indexed.sqlite3", reply, repeats)
        plain = Path(home) / "plain.sqlite3"
        History(plain).close()
        db = sqlite3.connect(plain, isolation_level=None)
        for trigger in ("insert", "delete", "update"):
            db.execute(f"DROP TRIGGER message_search_{trigger}")
        db.close()
        results["checkpoint_unindexed_s"] = checkpoint_seconds(plain, reply, repeats)
    return results


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key:28} {value * 1000:8.1f} ms" if key.endswith("s") and not key.startswith("hits") else f"{key:28} {value:8}")
