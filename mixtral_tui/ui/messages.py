"""Messages that carry engine and worker results to the UI thread."""

from __future__ import annotations

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
    def __init__(self, conversation_id: int, chunk: Chunk) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.chunk = chunk


class ReplyFinished(Message):
    def __init__(self, conversation_id: int, message: StoredMessage | None, error: str | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.message = message
        self.error = error
