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
    def __init__(self, reason: str, insecure_key: bool = False, no_model: bool = False) -> None:
        super().__init__()
        self.reason = reason
        self.insecure_key = insecure_key  # a key would cross the network in the clear: the user is asked
        self.no_model = no_model  # the server lists none (`mixtral-tui web` before a model is picked)


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


class UpdatePacer:
    """How often the screen shows new text while a reply streams.

    Each update measures the share of a core the UI thread used since the last one,
    and the interval grows while that share is above the budget and shrinks when it is
    well below. Where llama.cpp's threads take every core (a machine of 4 cores or fewer)
    each millisecond the UI paints is taken from the model, whose threads wait for each
    other at every step: the budget is then BUSY_SHARE. With cores to spare, painting is
    cheap and updates stay near the fastest pace. The app keeps one pacer, so each reply
    starts at the pace the last one found.
    """

    FASTEST = 1 / 30
    SLOWEST = 0.25
    START = 0.1
    UI_SHARE = 0.08
    BUSY_SHARE = 0.02

    def __init__(self, ui_share: float = UI_SHARE) -> None:
        self.interval = self.START
        self.ui_share = ui_share
        self._clock: tuple[float, float] | None = None  # (UI thread CPU time, wall time) at the last update

    def share_cores_with(self, model_threads: int, cores: int) -> None:
        """A model is loaded: is there a core llama.cpp leaves to the UI?"""
        self.ui_share = self.BUSY_SHARE if model_threads >= cores else self.UI_SHARE

    def restart(self) -> None:
        """A reply starts: the time since the last one is not streaming time."""
        self._clock = None

    def tick(self) -> None:
        """Call on the UI thread at each update."""
        cpu, wall = time.thread_time(), time.perf_counter()
        if self._clock is not None:
            share = (cpu - self._clock[0]) / max(wall - self._clock[1], 1e-6)
            if share > self.ui_share:
                self.interval = min(self.interval * 1.25, self.SLOWEST)
            elif share < self.ui_share / 2:
                self.interval = max(self.interval * 0.8, self.FASTEST)
        self._clock = (cpu, wall)


class ChunkMailbox:
    """Coalesces tokens between the worker and the UI.

    The worker drops text in and posts a ReplyChunk only when none is pending and the
    pacer's interval has passed since the last update; the UI takes everything at once.
    However fast the model, the UI's queue never backs up.
    """

    def __init__(self, pacer: UpdatePacer | None = None) -> None:
        self._lock = threading.Lock()
        self._text: list[str] = []
        self._thinking: list[str] = []
        self._latest: Chunk | None = None
        self._announced = False
        self._last_take = 0.0
        self._words_taken = False  # the first words go to the screen at once, whatever came before them
        self.pacer = pacer or UpdatePacer()
        self.pacer.restart()

    def put(self, chunk: Chunk) -> bool:
        """Store the chunk; True when the caller should post a ReplyChunk.

        Text that arrives within the interval of the last update waits for the next
        token (or the end of the reply, which always drains the mailbox).
        """
        with self._lock:
            self._text.append(chunk.text)
            if chunk.thinking:
                self._thinking.append(chunk.thinking)
            self._latest = chunk
            first_words = not self._words_taken and bool(chunk.text or chunk.thinking)
            # (a server's first chunk may carry no text: Gemma's on llama_cpp.server. Taken, it
            # started the interval, and the first words waited 100 ms for the next update)
            if self._announced or (time.monotonic() - self._last_take < self.pacer.interval and not first_words):
                return False
            self._announced = True
            return True

    def take(self) -> tuple[str, Chunk | None]:
        """Everything since the last take (on the UI thread: the pacer measures it)."""
        text, _thinking, latest = self.take_all()
        return text, latest

    def take_all(self) -> tuple[str, str, Chunk | None]:
        """The answer's text, the thinking's, and the latest figures since the last take."""
        self.pacer.tick()
        with self._lock:
            text, thinking = "".join(self._text), "".join(self._thinking)
            self._words_taken = self._words_taken or bool(text or thinking)
            self._text.clear()
            self._thinking.clear()
            self._announced = False
            self._last_take = time.monotonic()
            return text, thinking, self._latest


class ReplyFinished(Message):
    def __init__(self, conversation_id: int, message: StoredMessage | None, error: str | None = None,
                 notice: StoredMessage | None = None) -> None:
        super().__init__()
        self.conversation_id = conversation_id
        self.message = message
        self.error = error
        self.notice = notice  # the note of turns left out, as it ended (a server's refusal can add or re-count it)
