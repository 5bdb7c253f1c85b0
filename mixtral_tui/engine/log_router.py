"""Where llama.cpp's native log lines go: a log file and the in-app log view.

Nothing native may reach the terminal while the TUI owns it, so the engine
hands every line to a LogRouter instead of stderr.
"""

from __future__ import annotations

import io
import threading
import time
from collections import deque
from pathlib import Path

from mixtral_tui.engine.base import LOG_DEBUG, LOG_INFO, LogSink

Entry = tuple[int, int, str]  # (number, level, line): numbers count every line this router took


class LogRouter:
    """Appends lines to a file and keeps the recent ones with their levels (thread-safe).

    The file gets every line; a viewer picks by level. Debug lines are kept apart, so the
    ~1,200 that a model load writes do not push out the lines that matter.
    """

    def __init__(self, path: Path | None, keep: int = 5000) -> None:
        self.path = path
        self._recent: deque[Entry] = deque(maxlen=keep)  # info and above
        self._recent_debug: deque[Entry] = deque(maxlen=keep)
        self._lock = threading.Lock()
        self._partial = ""
        self._partial_level = LOG_INFO
        self.total = 0  # lines ever written: a viewer asks for those after the last it showed
        self.debug_total = 0
        self._file = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                self._file = path.open("a", encoding="utf-8", buffering=1)
                self._file.write(f"\n--- mixtral-tui session {time.strftime('%Y-%m-%d %H:%M:%S')} ---\n")
            except OSError:
                self._file = None  # logging must never stop the app

    def write(self, text: str, level: int = LOG_INFO) -> None:
        """Take text in any pieces (llama.cpp logs in fragments); keep whole lines, each with the
        level of its first piece."""
        with self._lock:
            if not self._partial:
                self._partial_level = level
            self._partial += text
            *lines, self._partial = self._partial.split("\n")
            for line in lines:
                entry = (self.total, self._partial_level, line)
                self.total += 1
                if self._partial_level <= LOG_DEBUG:
                    self._recent_debug.append(entry)
                    self.debug_total += 1
                else:
                    self._recent.append(entry)
                if self._file is not None:
                    try:
                        self._file.write(line + "\n")
                    except (OSError, ValueError):  # full disk, or closed at shutdown
                        self._file = None
                self._partial_level = level  # the next line begins in this piece

    def entries(self, after: int = -1, debug: bool = False) -> list[Entry]:
        """Kept lines numbered above `after`, in order; debug lines only when asked for."""
        with self._lock:
            chosen = [entry for entry in self._recent if entry[0] > after]
            if debug:
                chosen += [entry for entry in self._recent_debug if entry[0] > after]
                chosen.sort()
            return chosen


_NOT_USED = ("Using fallback chat format", "Guessed chat format", "Using gguf chat template", "Using chat eos_token",
             "Using chat bos_token")
"""llama-cpp-python's lines about the chat format it would use for its own chat API, which the app
never calls: it renders prompts with its own template (engine/templates.py). "Using fallback chat
format: llama-2" beside "template gemma" in the status line misled; the engine logs its choice."""


class PrintedLines(io.TextIOBase):
    """A file-like object for redirect_stderr during a load: llama-cpp-python's own prints go to
    the log too, a line at a time (print writes the text and its newline apart), less the lines
    of _NOT_USED."""

    def __init__(self, sink: LogSink) -> None:
        self._sink = sink
        self._partial = ""

    def write(self, text: str) -> int:
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            if not line.startswith(_NOT_USED):
                self._sink(line + "\n", LOG_INFO)
        return len(text)

    def flush(self) -> None:
        if self._partial:
            self._sink(self._partial, LOG_INFO)
            self._partial = ""
