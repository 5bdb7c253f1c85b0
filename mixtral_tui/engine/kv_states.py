"""Saved KV-cache states of earlier conversations, kept in RAM within a byte budget.

Why: the model has one KV cache. Switching from conversation A to B overwrites A's
cached prompt, and going back to A would read A's whole history again (seconds
for a long conversation on a CPU). Before the cache is overwritten the engine
saves its state here; a prompt that starts with a saved state's tokens loads it
back and reads only what is new. States are found by the longest shared token
prefix, so no conversation ids cross the engine seam, and the least recently
used go first when the budget is reached.

Pure Python: the engine hands in and takes out opaque bytes.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass


def common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


@dataclass(frozen=True)
class SavedState:
    tokens: tuple[int, ...]
    blob: bytes


class StateCache:
    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._states: OrderedDict[tuple[int, ...], bytes] = OrderedDict()  # oldest use first

    @property
    def used_bytes(self) -> int:
        return sum(len(blob) for blob in self._states.values())

    def __len__(self) -> int:
        return len(self._states)

    def put(self, tokens: Sequence[int], blob: bytes) -> bool:
        """Keep this state (False when it alone is over the budget). A saved state whose tokens
        this one extends is dropped: the new one serves every prompt the old one did."""
        if not tokens or len(blob) > self.budget_bytes:
            return False
        key = tuple(tokens)
        for old in [k for k in self._states if len(k) <= len(key) and key[: len(k)] == k]:
            del self._states[old]
        self._states[key] = blob
        while self.used_bytes > self.budget_bytes:
            self._states.popitem(last=False)
        return True

    def best(self, tokens: Sequence[int]) -> tuple[int, SavedState] | None:
        """The saved state sharing the longest prefix with these tokens, and that length."""
        found: tuple[int, tuple[int, ...]] | None = None
        for key in self._states:
            shared = common_prefix(key, tokens)
            if shared and (found is None or shared > found[0]):
                found = (shared, key)
        if found is None:
            return None
        self._states.move_to_end(found[1])
        return found[0], SavedState(found[1], self._states[found[1]])

    def clear(self) -> None:
        self._states.clear()
