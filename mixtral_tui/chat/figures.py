"""Human-readable speed and context figures, shared by the TUI and the CLI."""

from __future__ import annotations

from mixtral_tui.engine.base import ReplyStats
from mixtral_tui.vocabulary import FinishReason


def reply_figures(stats: ReplyStats) -> str:
    """One line, e.g. `prompt 120 tok (112 new, 8 reused) 850 tok/s · reply 64 tok 31.2 tok/s · …`."""
    parts = [
        f"prompt {stats.prompt_tokens:,} tok ({stats.prompt_evaluated:,} new, {stats.prompt_reused:,} reused)"
        + (f" {stats.prompt_tps:,.0f} tok/s" if stats.prompt_evaluated else ""),
        f"reply {stats.completion_tokens:,} tok {stats.decode_tps:,.1f} tok/s",
        f"first token {stats.ttft_seconds:.2f} s",
        f"ctx {stats.context_used:,} / {stats.context_size:,}",
    ]
    if stats.finish_reason == FinishReason.LENGTH:
        parts.append("stopped at max tokens")
    elif stats.finish_reason == FinishReason.CONTEXT:
        parts.append("context full")
    elif stats.finish_reason == FinishReason.CANCELLED:
        parts.append("stopped")
    return " · ".join(parts)


def status_figures(stats: ReplyStats) -> str:
    """The short form for the status bar: last reply's speed and the context in use."""
    return (
        f"last reply {stats.completion_tokens:,} tok · {stats.decode_tps:,.1f} tok/s · "
        f"TTFT {stats.ttft_seconds:.2f} s · ctx {stats.context_used:,}/{stats.context_size:,}"
    )
