"""What a server says of its model and of a reply's figures, read into ours."""

from __future__ import annotations

from typing import Any

from mixtral_tui.engine.base import ReplyStats


def own_model_info(models: Any, model: str) -> dict[str, Any]:
    """`mixtral-tui web`'s engine tells its model's name, template and load plan (x_mixtral_tui)."""
    for entry in models.get("data", []) if isinstance(models, dict) else []:
        if isinstance(entry, dict) and entry.get("id") == model and isinstance(entry.get("x_mixtral_tui"), dict):
            return dict(entry["x_mixtral_tui"])
    return {}


def take_figures(stats: ReplyStats, usage: dict[str, Any], timings: dict[str, Any]) -> None:
    """The server's own counts where it gives them (usage; llama.cpp's timings)."""
    if isinstance(usage.get("prompt_tokens"), int) and usage["prompt_tokens"] > 0:
        stats.prompt_tokens = usage["prompt_tokens"]
        if not timings.get("prompt_n"):  # the total alone: how much of it was reused is not told
            stats.prompt_counted = "server"
    if isinstance(usage.get("completion_tokens"), int):
        stats.completion_tokens = max(stats.completion_tokens, usage["completion_tokens"])
    if isinstance(timings.get("prompt_n"), int):
        cached = int(timings.get("cache_n") or 0)
        stats.prompt_evaluated, stats.prompt_reused = timings["prompt_n"], cached
        stats.prompt_tokens = timings["prompt_n"] + cached
        stats.prompt_counted = ""
    if isinstance(timings.get("prompt_ms"), int | float):
        stats.prompt_seconds = float(timings["prompt_ms"]) / 1000
    if isinstance(timings.get("predicted_per_second"), int | float):
        stats.server_decode_tps = float(timings["predicted_per_second"])
    if isinstance(timings.get("draft_n"), int) and isinstance(timings.get("draft_n_accepted"), int):
        stats.draft_tokens, stats.draft_accepted = timings["draft_n"], timings["draft_n_accepted"]


