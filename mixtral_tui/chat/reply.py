"""One assistant reply, from history to history.

Shared by the TUI's worker thread and the `ask` command: it fits the
conversation into the context, streams from the engine, and checkpoints the
growing reply to the database at least once a second, so a kill -9 loses at
most that second.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict

from mixtral_tui.cancel import CancelToken
from mixtral_tui.chat.context_window import fit_turns, without_oldest_exchange
from mixtral_tui.chat.rules import turns_for
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import Chunk, Engine, ModelInfo, ReplyPlan, ReplyStats, ToolCall, ToolSpec, Turn
from mixtral_tui.errors import ContextExceeded
from mixtral_tui.store.history import History, Message
from mixtral_tui.store.liveness import HEARTBEAT_SECONDS
from mixtral_tui.vocabulary import FinishReason, Role, Status

RE_FITS = 20
"""How many times a reply is planned again, an exchange shorter, when a server says it does not fit."""

CHECKPOINT_SECONDS = 1.0
"""A reply being written is saved at least this often: a kill -9 loses at most this much of it."""


class ReplyRun:
    """Generates and records one reply. Create it on the thread that will call `run`."""

    def __init__(
        self,
        engine: Engine,
        history: History,
        conversation_id: int,
        sampling: Sampling,
        system_prompt: str,
        cancel: CancelToken | None = None,
        tools: Sequence[ToolSpec] = (),
    ) -> None:
        self.engine = engine
        self.history = history
        self.conversation_id = conversation_id
        self.sampling = sampling
        self.system_prompt = system_prompt
        self.cancel = cancel or CancelToken()
        self.tools = tools  # offered to the model (chat/tool_rounds.py runs the calls it makes)
        self.calls: list[ToolCall] = []  # the calls the reply ended with
        self.stats = ReplyStats()
        self.message: Message | None = None
        self.notice: Message | None = None
        self._noticed = 0  # turns left out that a notice of this reply has said
        self._thinking: list[str] = []
        self._thinking_from: float | None = None  # when the first thinking came
        self._answered = False  # the answer's first word came (a flag: joining the pieces per chunk grew with the reply)
        self._pieces: list[str] = []  # joined at checkpoints: `text += piece` would copy the whole reply per token

    def run(self, on_chunk: Callable[[Chunk], None] | None = None, on_start: Callable[[Message], None] | None = None,
            on_asked: Callable[[], None] | None = None) -> Message:
        """Stream the reply; returns the finished (or stopped, or failed) message. `on_asked`: the
        engine has the request (a server's is on its way)."""
        info = self.engine.info
        messages = self.history.messages(self.conversation_id)
        turns = turns_for(messages, self.system_prompt, with_tools=not (info and info.no_tools))
        context_size = info.context_size if info else 0
        plan = self._plan(turns, messages, context_size)
        # Asked for first: a server reads the prompt while the reply is recorded and shown.
        chunks = self._stream(plan.turns)
        if on_asked:
            on_asked()
        try:
            self.message = self._record(info)
        except BaseException:
            _close(chunks)
            raise
        if on_start:
            on_start(self.message)
        status = Status.DONE
        last_checkpoint = time.monotonic()
        try:
            with self._heartbeat(self.message.id):
                for attempt in range(1, RE_FITS + 2):
                    try:
                        for chunk in chunks:
                            self._pieces.append(chunk.text)
                            if chunk.tool_calls:
                                self.calls.extend(chunk.tool_calls)
                            if chunk.thinking or (chunk.text and self._thinking_from is not None):
                                self._took_thought(chunk)
                            if on_chunk:
                                on_chunk(chunk)
                            now = time.monotonic()
                            if now - last_checkpoint >= CHECKPOINT_SECONDS:
                                self.history.update_message(self.message.id, self.text, Status.STREAMING,
                                                            thinking=self.thinking or None)
                                last_checkpoint = now
                        break
                    except ContextExceeded as exc:
                        # The server counted more tokens than this side did: the oldest exchange
                        # left out too, each time it says so, with the same notice in the chat.
                        shorter = without_oldest_exchange(plan.turns)
                        if self._pieces or shorter is None or attempt > RE_FITS:
                            raise
                        context_size = min(exc.limit or context_size, context_size)
                        plan = self._plan(shorter, messages, context_size, already=len(turns) - len(shorter))
                        chunks = self._stream(plan.turns)
            if self.stats.finish_reason == FinishReason.CANCELLED:
                status = Status.STOPPED
        except Exception:
            self.stats.finish_reason = FinishReason.ERROR
            status = Status.ERROR
            raise
        finally:
            _close(chunks)
            self.stats.context_size = self.stats.context_size or context_size  # a failure before the engine said
            self.message.content = text = self.text
            self.message.thinking = self.thinking
            self.message.status = status
            self.message.stats = self.stats.to_dict()
            self.message.tool_calls = [asdict(call) for call in self.calls]
            self.history.update_message(self.message.id, text, status, self.message.stats, self.thinking or None,
                                        self.message.tool_calls or None)
        return self.message

    def _stream(self, turns: list[Turn]) -> Iterator[Chunk]:
        if self.tools:
            return self.engine.stream_reply(turns, self.sampling, self.cancel, self.stats, tools=self.tools)
        return self.engine.stream_reply(turns, self.sampling, self.cancel, self.stats)

    def _record(self, info: ModelInfo | None) -> Message:
        """The reply's row, empty and streaming, with who writes it."""
        return self.history.add_message(
            self.conversation_id,
            Role.ASSISTANT,
            "",
            status=Status.STREAMING,
            model=info.name if info else None,
            quant=info.quant if info else None,
            sampling=asdict(self.sampling),
            model_file=(None if info.server else os.path.basename(info.path)) if info else None,
            server=(info.server or None) if info else None,
        )

    def _plan(self, turns: list[Turn], messages: list[Message], context_size: int, already: int = 0) -> ReplyPlan:
        """The turns that fit (`already`: turns left out before, because a server said so); a
        notice in the conversation when older ones are left out anew."""
        def count(turns: list[Turn]) -> int:
            return self.engine.count_tokens(turns, tools=self.tools) if self.tools else self.engine.count_tokens(turns)

        plan = fit_turns(turns, count, context_size, self.sampling.max_tokens)
        plan.dropped_turns += already
        self.stats.dropped_turns = plan.dropped_turns
        if plan.dropped_turns and plan.dropped_turns not in (_last_dropped(messages), self._noticed):
            self._noticed = plan.dropped_turns
            text = (f"The conversation no longer fits in the {context_size:,}-token context: the oldest "
                    f"{plan.dropped_turns} message(s) are left out of what the model sees (the system prompt "
                    "is kept). Start a new conversation or raise the context size to keep them.")
            if self.notice is None:
                self.notice = self.history.add_message(self.conversation_id, Role.NOTICE, text)
            else:  # planned again (a server said it does not fit): one notice, with the final count
                self.history.update_message(self.notice.id, text, Status.DONE)
                self.notice.content = text
        return plan

    @contextmanager
    def _heartbeat(self, message_id: int) -> Iterator[None]:
        """While the reply is written, its checkpoint is touched every few seconds from a thread of
        its own, so that readers know it is alive even while no token comes (the model reading a
        long prompt can take minutes on a CPU). A few bytes written every 5 s, off the token path."""
        done = threading.Event()

        def beat() -> None:
            try:
                while not done.wait(HEARTBEAT_SECONDS):
                    try:
                        self.history.touch(message_id)
                    except Exception:  # a busy or full disk: the token checkpoints say what failed
                        pass
            finally:
                self.history.close()  # this thread's connection

        thread = threading.Thread(target=beat, name="reply-heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _took_thought(self, chunk: Chunk) -> None:
        """The thinking kept apart, and how long and how many tokens it took (until the answer's
        first word)."""
        now = time.monotonic()
        if chunk.thinking:
            self._thinking.append(chunk.thinking)
            if self._thinking_from is None:
                self._thinking_from = now
            if not self._answered:
                self.stats.thinking_tokens = chunk.completion_tokens
                self.stats.thinking_seconds = now - self._thinking_from
        if chunk.text.strip() and not self._answered:  # the answer's first word: thinking is over
            self._answered = True
            if self._thinking_from is not None:
                self.stats.thinking_seconds = now - self._thinking_from

    @property
    def text(self) -> str:
        return "".join(self._pieces)

    @property
    def thinking(self) -> str:
        return "".join(self._thinking)


def _close(chunks: Iterator[Chunk]) -> None:
    """End a reply's stream, read or not (an engine may have sent its request at the call)."""
    close = getattr(chunks, "close", None)
    if close is not None:
        close()


def _last_dropped(messages: list[Message]) -> int:
    for message in reversed(messages):
        if message.role == Role.ASSISTANT and message.stats:
            return int(message.stats.get("dropped_turns", 0))
    return 0
