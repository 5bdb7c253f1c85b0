"""Stopping work that runs in another thread: a reply being written, a download."""

from __future__ import annotations

import threading
from typing import Protocol


class Cancellation(Protocol):
    """What the engine reads before every token: a CancelToken, or the app's stop request as the
    model's own process sees it (engine/child.py)."""

    @property
    def cancelled(self) -> bool: ...


class CancelToken:
    """Set from any thread; the engine checks it before every token, a download between blocks."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()
