"""Where llama.cpp's native log lines go: a log file and the in-app log view.

Nothing native may reach the terminal while the TUI owns it, so the engine
hands every line to a LogRouter instead of stderr.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

Listener = Callable[[str], None]


class LogRouter:
    """Appends lines to a file, keeps the recent ones, and tells listeners (thread-safe)."""

    def __init__(self, path: Path | None, keep: int = 5000) -> None:
        self.path = path
        self.recent: deque[str] = deque(maxlen=keep)
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._partial = ""
        self.total = 0  # lines ever written, so a viewer can ask for the new ones
        self._file = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("a", encoding="utf-8", buffering=1)
                self._file.write(f"\n--- mixtral-tui session {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n")
            except OSError:
                self._file = None  # logging must never stop the app

    def subscribe(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def write(self, text: str) -> None:
        """Take text in any pieces (llama.cpp logs in fragments); emit whole lines."""
        with self._lock:
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
            listeners = list(self._listeners)
            for line in lines:
                self.recent.append(line)
                self.total += 1
                if self._file is not None:
                    try:
                        self._file.write(line + "\n")
                    except (OSError, ValueError):  # full disk, or closed at shutdown
                        self._file = None
        for line in lines:
            for listener in listeners:
                listener(line)

    def text(self) -> str:
        with self._lock:
            return "\n".join(self.recent)
