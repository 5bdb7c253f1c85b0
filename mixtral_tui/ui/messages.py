"""Messages that carry engine and worker results to the UI thread."""

from __future__ import annotations

import threading
import time

from textual.message import Message

from mixtral_tui.engine.base import Chunk, ModelInfo
from mixtral_tui.store.history import Message as StoredMessage


class ModelLoaded(Message):
    def __init__(self, info: ModelInfo) -> None:
        super().__init__()
        self.info = info


class ModelLoadFailed(Message):
    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason


class ReplyStarted(Message):
    def __init__(self, conversation_id: int, message: StoredMessage, notice: StoredMessage | None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.message = message
        self.notice = notice


class ReplyChunk(Message):
    """New text is waiting in the generation's mailbox (at most one of these is in flight)."""

    def __init__(self, conversation_id: int) -> None:
        super().__init__()
        self.conversation_id = conversation_id


class ChunkMailbox:
    """Coalesces tokens between the worker and the UI.

    The worker drops text in and posts a ReplyChunk only when none is pending;
    the UI takes everything at once. However fast the model, the UI's queue
    never backs up: it handles one message per frame it can draw.
    """

    MIN_INTERVAL = 1 / 30  # at most ~30 screen updates a second: the UI must not starve the model of CPU

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._text: list[str] = []
        self._latest: Chunk | None = None
        self._announced = False
        self._last_take = 0.0

    def put(self, chunk: Chunk) -> bool:
        """Store the chunk; True when the caller should post a ReplyChunk.

        Text that arrives within MIN_INTERVAL of the last update waits for the next
        token (or the end of the reply, which always drains the mailbox).
        """
        with self._lock:
            self._text.append(chunk.text)
            self._latest = chunk
            if self._announced or time.monotonic() - self._last_take < self.MIN_INTERVAL:
                return False
            self._announced = True
            return True

    def take(self) -> tuple[str, Chunk | None]:
        with self._lock:
            text = "".join(self._text)
            self._text.clear()
            self._announced = False
            self._last_take = time.monotonic()
            return text, self._latest


class ReplyFinished(Message):
    def __init__(self, conversation_id: int, message: StoredMessage | None, error: str | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.message = message
        self.error = error
