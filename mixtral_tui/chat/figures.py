"""Human-readable speed and context figures, shared by the TUI and the CLI.

A figure that is not known is not shown: never a zero in its place (a server that sends no
counts, a reply stopped before its last chunk). A count reckoned here, not by the model's own
tokenizer, is marked ≈. A prompt speed over a handful of tokens (a turn whose prompt was almost
all reused) is noise, and not shown either.
"""

from __future__ import annotations

from mixtral_tui.engine.base import ReplyStats
from mixtral_tui.vocabulary import FinishReason

MIN_TOKENS_FOR_SPEED = 16
"""A speed over fewer tokens than this says more about the clock than the model."""


def reply_figures(stats: ReplyStats) -> str:
    """One line, e.g. `prompt 120 tok (112 new, 8 reused) 850 tok/s · reply 64 tok 31.2 tok/s · …`."""
    parts = [_prompt(stats), _reply(stats)]
    if stats.draft_tokens > 0:  # speculation: how much of what was drafted the model kept
        parts.append(f"drafts {stats.draft_accepted:,}/{stats.draft_tokens:,} kept")
    if stats.ttft_seconds > 0:
        parts.append(f"first token {stats.ttft_seconds:.2f} s")
    parts.append(_context(stats, " / "))
    if stats.finish_reason == FinishReason.LENGTH:
        parts.append("stopped at max tokens")
    elif stats.finish_reason == FinishReason.CONTEXT:
        parts.append("context full")
    elif stats.finish_reason == FinishReason.CANCELLED:
        parts.append("stopped")
    return " · ".join(p for p in parts if p)


def _about(stats: ReplyStats) -> str:
    return "≈" if stats.prompt_counted == "estimate" else ""


def _prompt(stats: ReplyStats) -> str:
    if stats.prompt_tokens <= 0:
        return ""
    text = f"prompt {_about(stats)}{stats.prompt_tokens:,} tok"
    if stats.prompt_counted == "":  # the engine's own count: how much was read anew is known
        text += f" ({stats.prompt_evaluated:,} new, {stats.prompt_reused:,} reused)"
        if stats.prompt_evaluated >= MIN_TOKENS_FOR_SPEED and stats.prompt_tps > 0:
            text += f" {stats.prompt_tps:,.0f} tok/s"
    return text


def _reply(stats: ReplyStats) -> str:
    text = f"reply {stats.completion_tokens:,} tok"
    if stats.decode_tps > 0 and stats.completion_tokens >= 2:
        text += f" {stats.decode_tps:,.1f} tok/s{_where(stats)}"
    return text


def _context(stats: ReplyStats, between: str) -> str:
    if stats.context_size <= 0:
        return ""
    if stats.prompt_tokens <= 0 or stats.context_used <= 0:
        return f"ctx {stats.context_size:,}"
    return f"ctx {_about(stats)}{stats.context_used:,}{between}{stats.context_size:,}"


def _where(stats: ReplyStats) -> str:
    """For a reply from a server: which speed is measured here (the network in it) and which is the
    server's own, where it gives one."""
    if not stats.over_network:
        return ""
    server = f", {stats.server_decode_tps:,.1f} on the server" if stats.server_decode_tps else ""
    return f" measured here{server}"


def status_figures(stats: ReplyStats) -> str:
    """The short form for the status bar: the last reply's speed first (what a narrow status line
    keeps), then its length, the first token's time and the context in use."""
    parts = []
    if stats.decode_tps > 0 and stats.completion_tokens >= 2:
        parts.append(f"last reply {stats.decode_tps:,.1f} tok/s{_where(stats)}")
        parts.append(f"{stats.completion_tokens:,} tok")
    else:
        parts.append(f"last reply {stats.completion_tokens:,} tok")
    if stats.ttft_seconds > 0:
        parts.append(f"TTFT {stats.ttft_seconds:.2f} s")
    parts.append(_context(stats, "/"))
    return " · ".join(p for p in parts if p)
