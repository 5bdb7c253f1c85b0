"""Human-readable speed and context figures, shared by the TUI and the CLI."""

from __future__ import annotations

from mixtral_tui.engine.base import ReplyStats
from mixtral_tui.vocabulary import FinishReason


def reply_figures(stats: ReplyStats) -> str:
    """One line, e.g. `prompt 120 tok (112 new, 8 reused) 850 tok/s · reply 64 tok 31.2 tok/s · …`."""
    parts = [
        f"prompt {stats.prompt_tokens:,} tok ({stats.prompt_evaluated:,} new, {stats.prompt_reused:,} reused)"
        + (f" {stats.prompt_tps:,.0f} tok/s" if stats.prompt_evaluated else ""),
        f"reply {stats.completion_tokens:,} tok {stats.decode_tps:,.1f} tok/s{_where(stats)}",
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


def _where(stats: ReplyStats) -> str:
    """For a reply from a server: which speed is measured here (the network in it) and which is the
    server's own, where it gives one."""
    if not stats.over_network:
        return ""
    server = f", {stats.server_decode_tps:,.1f} on the server" if stats.server_decode_tps else ""
    return f" measured here{server}"


def status_figures(stats: ReplyStats) -> str:
    """The short form for the status bar: last reply's speed and the context in use."""
    return (
        f"last reply {stats.completion_tokens:,} tok · {stats.decode_tps:,.1f} tok/s{_where(stats)} · "
        f"TTFT {stats.ttft_seconds:.2f} s · ctx {stats.context_used:,}/{stats.context_size:,}"
    )
