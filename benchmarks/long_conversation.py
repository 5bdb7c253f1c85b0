"""Benchmark 3: time to first token deep into a conversation, and after switching away and back.

Runs the real engine in its own process, as the app does, on Gemma 3 270M, and
times from the request to the first text (the UI adds no work before the first
token). Every user turn has the same length, so turn 1
and turn N read the same number of new tokens when the KV cache is reused. Then
another conversation takes the cache, and the first one continues: with saved
states (model.state_cache_mb) its history is restored, without them it is read
again.
"""

from __future__ import annotations

import time
from pathlib import Path

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn

SAMPLING = Sampling(temperature=0.0, max_tokens=24, seed=1)


def user_turn(topic: str, index: int) -> Turn:
    return Turn("user", f"Tell me one more thing about {topic}, item number {index:03d}, briefly please.")


def ttft(engine, turns: list[Turn]) -> tuple[float, str, ReplyStats]:
    """Seconds from asking to the first text, as the app sees it (the model's process and the pipe included)."""
    stats = ReplyStats()
    asked = time.perf_counter()
    first = None
    pieces = []
    for chunk in engine.stream_reply(turns, SAMPLING, CancelToken(), stats):
        first = first or time.perf_counter()
        pieces.append(chunk.text)
    return (first or time.perf_counter()) - asked, "".join(pieces), stats


def measure(model: Path, turns: int, state_cache_mb: int) -> dict:
    from mixtral_tui.engine import create_engine

    engine = create_engine(kind="separate")  # as the app runs it
    engine.load(LoadSpec(str(model), context_size=4096, state_cache_mb=state_cache_mb))
    history = [Turn("system", "You are a helpful assistant.")]
    times = []
    for index in range(1, turns + 1):
        history.append(user_turn("the sea", index))
        seconds, text, _ = ttft(engine, history)
        times.append(seconds)
        history.append(Turn("assistant", text))
    ttft(engine, [Turn("system", "You are a helpful assistant."), user_turn("mountains", 1)])  # another conversation
    history.append(user_turn("the sea", turns + 1))
    back, _, stats = ttft(engine, history)
    engine.close()
    return {"turn_1": times[0], "turn_n": times[-1], "back": back, "back_reused": stats.prompt_reused,
            "back_prompt": stats.prompt_tokens}


def run(model: Path, turns: int = 20) -> dict:
    kept = measure(model, turns, state_cache_mb=1024)
    dropped = measure(model, turns, state_cache_mb=0)
    return {"turns": turns, **kept, "back_without_states": dropped["back"]}
