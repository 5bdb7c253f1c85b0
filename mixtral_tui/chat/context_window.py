"""Fitting a conversation into the model's context window.

When the history no longer fits, the oldest turns go first, a user turn and
its reply together; the system prompt and the newest user turn always stay.
If even those two do not fit, the user is told to shorten the message or raise
the context size: nothing is truncated silently.
"""

from __future__ import annotations

from collections.abc import Callable

from mixtral_tui.engine.base import ReplyPlan, Turn
from mixtral_tui.errors import PromptTooLongError
from mixtral_tui.vocabulary import Role


def reply_reserve(context_size: int, max_tokens: int) -> int:
    """Room kept free for the reply: what the user asked for, but at most a quarter of the context."""
    return max(16, min(max_tokens, context_size // 4))


def fit_turns(
    turns: list[Turn], count_tokens: Callable[[list[Turn]], int], context_size: int, max_tokens: int
) -> ReplyPlan:
    """Drop the fewest oldest turns so the prompt plus the reply reserve fits.

    `turns` may start with one system turn and must end with the new user turn.
    Binary search keeps this to a handful of tokenizations even for long chats.
    """
    system = [t for t in turns[:1] if t.role == Role.SYSTEM]
    body = turns[len(system):]
    limit = context_size - reply_reserve(context_size, max_tokens)

    # Cut points: drop body[:i], where body[i] is a user turn (keeps pairs together).
    cuts = [i for i, t in enumerate(body) if t.role == Role.USER] or [max(0, len(body) - 1)]
    total = count_tokens(system + body)
    if total <= limit:
        return ReplyPlan(system + body, 0, total)

    smallest = count_tokens(system + body[cuts[-1]:])
    if smallest > limit:
        hard_limit = context_size - 16
        if smallest <= hard_limit:  # fits without the full reserve: allow a shorter reply
            return ReplyPlan(system + body[cuts[-1]:], cuts[-1], smallest)
        raise PromptTooLongError(
            f"this message needs {smallest:,} tokens with the system prompt, but the context holds "
            f"{context_size:,}; shorten it or start with a larger --ctx (a multiple of 256)."
        )
    low, high = 0, len(cuts) - 1  # cuts[high] is known to fit
    best = (cuts[-1], smallest)
    while low <= high:
        mid = (low + high) // 2
        n = count_tokens(system + body[cuts[mid]:])
        if n <= limit:
            best = (cuts[mid], n)
            high = mid - 1
        else:
            low = mid + 1
    dropped, tokens = best
    return ReplyPlan(system + body[dropped:], dropped, tokens)


def without_oldest_exchange(turns: list[Turn]) -> list[Turn] | None:
    """The turns less the oldest user turn and what answered it (the system prompt and the newest
    turn stay); None when nothing is left to leave out."""
    system = [t for t in turns[:1] if t.role == Role.SYSTEM]
    body = turns[len(system):]
    if len(body) <= 1:
        return None
    following = next((i for i, t in enumerate(body[1:], start=1) if t.role == Role.USER), None)
    if following is None:  # one exchange left (a reply's rounds of calls among it): it stays whole
        return None
    return system + body[following:]
