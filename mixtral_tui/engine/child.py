"""The engine's own process: `python -m mixtral_tui.engine.child SOCKET_FD FLAG_FD`, or `--devices`.

Started by engine/process.py (which says why a second process). It serves one request
at a time with a LlamaEngine until it is told to quit or the app goes away. Its stdout
and stderr already point at the log file.
"""

from __future__ import annotations

import mmap
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import fields
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import ReplyStats, ToolSpec, Turn

if TYPE_CHECKING:
    from mixtral_tui.engine.base import Engine

SEND_EVERY = 0.02
"""Seconds the child gathers tokens before sending them (the first goes at once): a message per
token would cost more than a token of a fast model, and 20 ms is below the screen's fastest pace
(1/30 s). Measured on 2 cores with a 450 tok/s model: the app's receiving thread 0.12-0.19 s of
CPU per two 600-token replies at 2 ms, 0.04-0.05 s at 20 ms."""


class SharedFlag:
    """The app's stop request, read like the CancelToken the engine checks before every token."""

    def __init__(self, flag: mmap.mmap) -> None:
        self._flag = flag

    @property
    def cancelled(self) -> bool:
        return self._flag[0] != 0


def serve(conn: Connection, stop_flag: mmap.mmap) -> None:
    """Answer requests: ("load", spec), ("count_tokens", turns, exact, tools), ("stream_reply", turns, sampling, tools),
    ("quit",). Answers are ("ok", value), ("error", kind, text); a reply streams as ("chunks", ...)
    then ("done", figures). Log lines go as ("log", text, level) whenever llama.cpp writes one."""
    send_lock = threading.Lock()

    def send(message: tuple) -> None:
        with send_lock:  # llama.cpp logs from its own threads too
            conn.send(message)

    from mixtral_tui.engine.llama import LlamaEngine

    engine = LlamaEngine(log_sink=lambda text, level: send(("log", text, level)))
    while True:
        try:
            operation, *args = conn.recv()
        except (EOFError, OSError):
            return  # the app is gone
        if operation == "quit":
            engine.close()
            return
        try:
            if operation == "stream_reply":
                stream(engine, send, SharedFlag(stop_flag), *args)
            elif operation in ("load", "count_tokens"):
                send(("ok", getattr(engine, operation)(*args)))
            else:
                send(("error", "ValueError", f"unknown request {operation!r}"))
        except OSError:
            return  # the app is gone (a broken socket)
        except Exception as exc:  # the app raises it again on its side
            send(("error", type(exc).__name__, str(exc)))


def stream(engine: Engine, send: Callable[[tuple], None], cancel: SharedFlag, turns: list[Turn], sampling: Sampling,
           tools: tuple[ToolSpec, ...] = ()) -> None:
    """The reply as ("chunks", text, tokens so far, tok/s, figures, thinking, calls): the tokens of
    SEND_EVERY seconds joined, so the app's side does its work per message, not per token. The
    calls come whole, with the last chunk."""
    stats = ReplyStats()
    pending: list[str] = []
    thinking: list[str] = []
    latest = None
    sent_at = float("-inf")  # the first token at once: time to first token is not held back
    for chunk in engine.stream_reply(turns, sampling, cancel, stats, tools=tools):
        pending.append(chunk.text)
        thinking.append(chunk.thinking)
        latest = chunk
        now = time.perf_counter()
        if now - sent_at >= SEND_EVERY or chunk.tool_calls:
            send(("chunks", "".join(pending), latest.completion_tokens, latest.decode_tps, figures(stats),
                  "".join(thinking), chunk.tool_calls))
            pending, thinking, sent_at = [], [], now
    if pending and latest is not None:
        send(("chunks", "".join(pending), latest.completion_tokens, latest.decode_tps, figures(stats),
              "".join(thinking), ()))
    send(("done", figures(stats)))


def figures(stats: ReplyStats) -> dict:
    return {field.name: getattr(stats, field.name) for field in fields(stats)}


DEVICES_MARK = "DEVICES "


def print_devices() -> None:
    """`--devices`: what llama.cpp sees, as one marked JSON line (native start-up lines may come too)."""
    import json

    from mixtral_tui.engine.llama import backend_devices

    offload, devices = backend_devices()
    sys.stdout.write("\n" + DEVICES_MARK + json.dumps([offload, devices]) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--devices"]:
        print_devices()
    else:
        serve(Connection(int(sys.argv[1])), mmap.mmap(int(sys.argv[2]), 1))
