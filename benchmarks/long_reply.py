"""Benchmark 2: a 10,000-token Markdown reply from a scripted engine at ~1,000 tok/s.

Reports the UI time for the first 1,000 tokens and for the last 1,000 (their
ratio shows whether the per-token cost grows with the reply), the time the UI's
updates spend per token at the start and at the end, and how long a callback
posted to the app waits while it streams (the delay a keypress would see).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from mixtral_tui.config import Config, Sampling
from mixtral_tui.engine.base import LoadSpec


def markdown_tokens(count: int) -> list[str]:
    """Prose, lists and short code blocks, about one word per token; the last 1,500 tokens are one
    long code block (a block is rendered again while it is open: the costly case)."""
    parts: list[str] = []
    block = 0
    while len(parts) < count - 1_500:
        block += 1
        parts += [f"Paragraph {block} explains ", "how ", "the ", "terminal ", "streams ", "tokens ", "smoothly. ", "\n\n"]
        parts += ["- item ", "one\n", "- item ", "two\n\n"]
        if block % 5 == 0:
            parts += ["```python\n", "def f", f"{block}(x):\n", "    return ", "x * 2\n", "```\n\n"]
    parts += ["Finally, the whole program:\n\n", "```python\n"]
    line = 0
    while len(parts) < count:
        line += 1
        parts += ["def ", f"step_{line}", "(value: int)", " -> int:\n", "    return ", f"value + {line}", "\n"]
    return parts[:count]


async def run(tokens: int = 10_000) -> dict:
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.widgets.composer import Composer
    from tests.fixtures.fake_engine import ScriptedEngine

    pieces = markdown_tokens(tokens)
    drained: list[tuple[float, int]] = []  # (time, tokens shown so far)

    update_costs: list[tuple[int, float]] = []  # (tokens shown, seconds the update took)
    # The pacer spaces updates while the UI is busy, so an update carries more tokens late in a
    # reply: compare the UI's time per token, not per update.

    def timed(app: MixtralApp) -> None:
        """Each screen update of the reply controller, timed."""
        drain = app.replies.drain

        async def timed_drain(conversation_id: int) -> None:
            generation = app.replies.generations.get(conversation_id)
            began = time.perf_counter()
            await drain(conversation_id)
            latest = generation.mailbox._latest if generation is not None else None
            if latest is not None:
                drained.append((time.perf_counter(), latest.completion_tokens))
                update_costs.append((latest.completion_tokens, time.perf_counter() - began))

        app.replies.drain = timed_drain  # type: ignore[method-assign]

    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        config = Config(sampling=Sampling(max_tokens=tokens + 10))
        app = MixtralApp(config, LoadSpec("scripted"), history=History(Path(home) / "h.sqlite3"),
                         engine=ScriptedEngine(pieces, delay=0.001, context_size=1 << 20))
        timed(app)
        latencies: list[float] = []
        waits: list[tuple[float, float]] = []  # (seconds into the reply, wait)
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.01)
            composer = app.active_view().composer
            composer.text = "go"
            composer.focus()
            start = time.perf_counter()
            # not pilot.press, which waits for idle; from the composer, as its own Enter sends it to its view
            composer.post_message(Composer.Submitted(composer, "go"))
            deadline = time.perf_counter() + 600
            while (app.generation is not None or not drained) and time.perf_counter() < deadline:
                sent = time.perf_counter()
                handled = asyncio.get_running_loop().create_future()
                app.call_later(lambda f=handled: f.done() or f.set_result(time.perf_counter()))
                wait = (await handled) - sent
                if drained:  # while it streams: from the first text on screen (sending is its own step)
                    latencies.append(wait)
                    waits.append((sent - start, wait))
                await asyncio.sleep(0.02)
            await pilot.pause()  # let the last update land before the app closes
        done = time.perf_counter()

    def time_to(n: int) -> float:
        """Seconds from Enter until the screen showed the n-th token."""
        return next(t for t, count in drained if count >= n) - start

    first = time_to(1000)
    last = time_to(tokens) - time_to(tokens - 1000)
    latencies.sort()
    def ui_ms_per_token(low: int, high: int) -> float:
        shown_before = 0
        cost_sum = tokens_sum = 0.0
        for shown, cost in update_costs:
            if low < shown <= high:
                cost_sum += cost
                tokens_sum += shown - shown_before
            shown_before = shown
        return cost_sum * 1000 / tokens_sum if tokens_sum else 0.0

    return {
        "token_ms_first": ui_ms_per_token(0, 1000),
        "token_ms_last": ui_ms_per_token(tokens - 1000, tokens),
        "first_1000_s": first,
        "last_1000_s": last,
        "ratio": last / first if first else float("inf"),
        "total_s": done - start,
        "latency_p50_ms": statistics.median(latencies) * 1000,
        "latency_p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "worst_waits": sorted(waits, key=lambda w: -w[1])[:3],
    }
