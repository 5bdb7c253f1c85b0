"""The llama.cpp engine in a process of its own, behind the same Engine protocol.

Why a second process:
- A crash in native code (an assert on a damaged tensor, a GPU driver abort, memory
  running out) ends the engine's process, not the app: the user gets a message saying
  what happened and where the log is, and every conversation stays on screen.
- The token loop does not share an interpreter lock with the UI. In one process each
  native call lets the UI thread take the lock, and the next token waits for it to give
  it back; the faster the model, the more that costs.
- Whatever native code prints goes to the log file: the child's stdout and stderr point
  there, never at the terminal the TUI draws on.
- Unloading ends the process, which hands back every byte, GPU memory included.

The child (engine/child.py) runs `LlamaEngine` unchanged. Requests and replies are pickled
tuples on a socket pair; the stop flag is a byte of shared memory the child reads before
every token. The child is started with subprocess, not multiprocessing: multiprocessing's
spawn imports the parent's main script again, which breaks scripts without a main guard.
"""

from __future__ import annotations

import mmap
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from mixtral_tui import errors
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import Cancellation, Chunk, LoadSpec, LogSink, ModelInfo, ReplyStats, ToolSpec, Turn

POLL_SECONDS = 0.05
"""How often the parent, waiting for the child, looks at the reply's cancel token."""


class EngineStopped(errors.ModelLoadError):
    """The engine's process ended while it was working (a crash in native code, or killed)."""


class ProcessEngine:
    """Engine whose model lives in a child process (see the module docstring for why)."""

    def __init__(self, log_sink: LogSink | None = None) -> None:
        self.info: ModelInfo | None = None
        self._log_sink = log_sink
        self._process: subprocess.Popen[bytes] | None = None
        self._conn: Connection | None = None
        self._stop_flag: mmap.mmap | None = None
        self._log_from: tuple[Path, int] | None = None  # (log file, offset) where the current process's native output begins
        self._lock = threading.Lock()  # one request at a time on the pipe

    # -- the Engine protocol -------------------------------------------------
    def load(self, spec: LoadSpec) -> ModelInfo:
        with self._lock:
            self._stop_process()  # a fresh process per model: unloading must give back all memory
            self._start_process()
            self.info = self._call("load", spec, doing=f"loading {os.path.basename(spec.model_path)}")
            return self.info

    def count_tokens(self, turns: list[Turn], exact: bool = False, tools: Sequence[ToolSpec] = ()) -> int:
        with self._lock:
            return self._call("count_tokens", turns, exact, tuple(tools), doing="counting tokens")

    def stream_reply(
        self, turns: list[Turn], sampling: Sampling, cancel: Cancellation, stats: ReplyStats,
        tools: Sequence[ToolSpec] = (),
    ) -> Iterator[Chunk]:
        with self._lock:
            stop_flag = self._stop_flag
            if self._conn is None or stop_flag is None:
                raise errors.ModelLoadError(errors.NO_MODEL)
            stop_flag[0] = 0
            self._send(("stream_reply", turns, sampling, tuple(tools)))
            finished = False
            try:
                while True:
                    kind, *payload = self._receive(cancel, doing="writing the reply")
                    if kind == "chunks":  # several tokens' text at once (child.SEND_EVERY)
                        text, count, speed, figures, thinking, calls = payload
                        _fill(stats, figures)
                        yield Chunk(text, count, speed, thinking, tool_calls=calls)
                    elif kind == "done":
                        _fill(stats, payload[0])
                        finished = True
                        return
                    else:
                        finished = True
                        raise _error_from(*payload)
            finally:
                if not finished and self._conn is not None:  # the caller stopped reading: stop the child too
                    stop_flag[0] = 1
                    self._drain_reply()

    def unload(self) -> None:
        # Not blocking on a reply someone stopped reading (an exception in the reader can keep the
        # suspended generator, and its lock, alive): after a wait, end the process regardless.
        locked = self._lock.acquire(timeout=5)
        try:
            self._stop_process()
            self.info = None
        finally:
            if locked:
                self._lock.release()

    def close(self) -> None:
        self.unload()

    # -- the child process ---------------------------------------------------
    def _start_process(self) -> None:
        from mixtral_tui.paths import app_paths

        ours, theirs = socket.socketpair()
        with tempfile.TemporaryFile() as flag_file:
            flag_file.write(b"\0")
            flag_file.flush()
            self._stop_flag = mmap.mmap(flag_file.fileno(), 1)
            try:
                log = app_paths().llama_log
                log.parent.mkdir(parents=True, exist_ok=True)
                output = open(log, "ab")  # noqa: SIM115 (the child writes to it; closed below)
                self._log_from = (log, output.seek(0, os.SEEK_END))  # what this process writes starts here
            except OSError:
                output = open(os.devnull, "wb")  # noqa: SIM115 (as above)
                self._log_from = None
            with theirs, output:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "mixtral_tui.engine.child", str(theirs.fileno()), str(flag_file.fileno())],
                    pass_fds=(theirs.fileno(), flag_file.fileno()),
                    stdin=subprocess.DEVNULL,
                    stdout=output,  # native code that prints past llama_log_set writes to the log, not the TUI
                    stderr=output,
                    start_new_session=True,  # Ctrl+C and hang-ups are the parent's to handle
                )
        self._conn = Connection(ours.detach())

    def _stop_process(self) -> None:
        process, conn = self._process, self._conn
        self._process = self._conn = None
        if conn is not None:
            try:
                conn.send(("quit",))
            except (OSError, ValueError):
                pass
            conn.close()
        if process is not None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)

    def _send(self, request: tuple) -> None:
        if self._conn is None:
            raise self._stopped("sending it work")
        try:
            self._conn.send(request)
        except (OSError, ValueError):
            raise self._stopped("sending it work") from None

    def _call(self, *request: object, doing: str) -> Any:
        if self._conn is None:
            raise errors.ModelLoadError(errors.NO_MODEL)
        self._send(request)
        kind, *payload = self._receive(None, doing=doing)
        if kind == "ok":
            return payload[0]
        raise _error_from(*payload)

    def _receive(self, cancel: Cancellation | None, doing: str) -> tuple:
        """The child's next answer; log lines on the way go to the sink."""
        conn, process, stop_flag = self._conn, self._process, self._stop_flag
        if conn is None or process is None or stop_flag is None:
            raise self._stopped(doing)
        while True:
            try:
                while not conn.poll(POLL_SECONDS):
                    if cancel is not None and cancel.cancelled:
                        stop_flag[0] = 1
                    if process.poll() is not None:
                        raise EOFError
                message = conn.recv()
            except (EOFError, OSError):
                raise self._stopped(doing) from None
            if message[0] == "log":
                if self._log_sink is not None:
                    self._log_sink(message[1], message[2])
                continue
            if cancel is not None and cancel.cancelled:
                stop_flag[0] = 1
            return message

    def _drain_reply(self) -> None:
        try:
            while self._receive(None, doing="stopping the reply")[0] == "chunks":
                pass
        except errors.UserError:
            pass

    def _stopped(self, doing: str) -> EngineStopped:
        process = self._process
        code = None
        if process is not None:
            try:
                code = process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                process.kill()
        self._process, self._conn, self.info = None, None, None
        how = "ended"
        if code is not None and code < 0:
            try:
                how = f"was ended by {signal.Signals(-code).name}"
            except ValueError:
                how = f"was ended by signal {-code}"
        elif code is not None:
            how = f"ended with exit code {code}"
        from mixtral_tui.paths import app_paths

        said = last_complaint(*self._log_from) if self._log_from else ""
        return EngineStopped(
            f"the model's process {how} while {doing}{f' (it said: {said})' if said else ''}. "
            f"llama.cpp's last lines are in the log ({app_paths().llama_log}). The model is "
            "unloaded: load it again, or try fewer GPU layers or a smaller context if memory ran out."
        )


COMPLAINT = re.compile(
    r"GGML_ASSERT|\berror\b|\bfailed\b|out of memory|\babort(ed)?\b|^\w*(Error|Exception):", re.IGNORECASE
)


def last_complaint(log: Path, offset: int) -> str:
    """The last line that reads like the reason, of what the process wrote to the log (its native
    output goes there directly: an assert or a driver error is never in the in-app view)."""
    try:
        with open(log, "rb") as file:
            file.seek(max(offset, file.seek(0, os.SEEK_END) - 65_536))
            lines = file.read().decode("utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    for line in reversed(lines):
        if COMPLAINT.search(line):
            line = line.strip()
            return line if len(line) <= 200 else line[:199] + "…"
    return ""


def _fill(stats: ReplyStats, figures: dict) -> None:
    for name, value in figures.items():
        setattr(stats, name, value)


def _error_from(kind: str, text: str) -> Exception:
    """The child's exception as the parent's: a UserError stays the same kind, anything else is a RuntimeError."""
    known = getattr(errors, kind, None)
    if isinstance(known, type) and issubclass(known, errors.UserError):
        return known(text)
    return RuntimeError(f"{kind}: {text}")
