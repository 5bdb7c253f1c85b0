"""The `llama-server` process the app owns: started on a free loopback port with a key of its own,
its log read line by line into the app's log (never the terminal), stopped with the model.

It lives and dies with the app. Stopping is SIGTERM, then SIGKILL after STOP_SECONDS. If the app
itself is killed (kill -9), the kernel ends the server: it is started with a parent-death signal
(Linux's PR_SET_PDEATHSIG), from a thread that lives as long as the server (the signal follows
the thread that started it, not the process). The key goes in a file only the user can read
(`--api-key-file`): a key on the command line is visible to every user of the machine in `ps`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import queue
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from mixtral_tui.engine.base import LOG_INFO, LOG_WARN, LogSink
from mixtral_tui.engine.native_server.binary import ServerBinary
from mixtral_tui.errors import ModelLoadError

STOP_SECONDS = 5.0
READY_POLL_SECONDS = 0.1
PR_SET_PDEATHSIG = 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


LEVEL_LETTER = re.compile(r"^[\d.]+ ([DIWE]) ")  # "0.00.008.922 I srv  llama_server: model loaded"


def level_of(line: str) -> int:
    """The log level of one of llama-server's lines: its own letter, else a warning's or error's words."""
    letter = LEVEL_LETTER.match(line)
    if letter:
        return LOG_WARN if letter.group(1) in "WE" else LOG_INFO
    return LOG_WARN if line.lower().startswith(("warning", "error")) else LOG_INFO


def _die_with_parent() -> None:
    """In the child, before it runs llama-server: the kernel sends SIGKILL when the thread that
    started it ends (the app killed, say)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class ServerProcess:
    def __init__(self, binary: ServerBinary, args: Sequence[str], log_sink: LogSink | None) -> None:
        self.binary = binary
        self.port = free_port()
        self.key = secrets.token_urlsafe(32)
        self._dir = tempfile.mkdtemp(prefix="mixtral-tui-server-")  # 0700: only the user
        key_file = Path(self._dir) / "key"
        key_file.touch(mode=0o600)
        key_file.write_text(self.key)
        self.command = [binary.path, *args, "--host", "127.0.0.1", "--port", str(self.port),
                        "--api-key-file", str(key_file)]
        self._log_sink = log_sink
        self.last_lines: deque[str] = deque(maxlen=40)
        self._process: subprocess.Popen[bytes] | None = None
        self._stop = threading.Event()
        self._exited = threading.Event()  # set by the owner once the server is reaped
        self._owner: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def running(self) -> bool:
        return self._process is not None and not self._exited.is_set() and self._process.poll() is None

    def ended_within(self, seconds: float) -> bool:
        """Whether the server has exited, or does within `seconds`: a connection it dropped is
        seen here before its owner has reaped it (and `poll()` says nothing while the owner waits)."""
        return self._process is not None and self._exited.wait(seconds)

    def _log(self, text: str, level: int = LOG_INFO) -> None:
        if self._log_sink is not None:
            self._log_sink(text if text.endswith("\n") else text + "\n", level)

    # -- starting ------------------------------------------------------------
    def start(self) -> None:
        started: queue.Queue[subprocess.Popen[bytes] | OSError] = queue.Queue()
        self._owner = threading.Thread(target=self._own, args=(started,), name="llama-server", daemon=True)
        self._owner.start()
        result = started.get()
        if isinstance(result, OSError):
            raise ModelLoadError(f"{self.binary.path} could not be started ({result.strerror or result})")
        self._process = result
        self._log(f"mixtral-tui: started llama-server (pid {result.pid}) on 127.0.0.1:{self.port}: "
                  + " ".join(self.command[:-1]) + " …key file")

    def _own(self, started: queue.Queue[subprocess.Popen[bytes] | OSError]) -> None:
        """The server's owner for its whole life: it starts it (the parent-death signal is tied to
        this thread), reads its log, and ends when it is asked to or the server exits."""
        try:
            process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, env=self.binary.run_env(),
                                       preexec_fn=_die_with_parent)  # one prctl call: safe beside threads
        except OSError as exc:
            started.put(exc)
            self._exited.set()
            return
        started.put(process)
        assert process.stdout is not None
        for raw in iter(process.stdout.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.last_lines.append(line)
            self._log(line, level_of(line))
        process.wait()
        self._exited.set()
        if not self._stop.is_set():
            self._log(f"mixtral-tui: llama-server exited with status {process.returncode}", LOG_WARN)

    def wait_ready(self, progress: Callable[[str], None] | None = None, timeout: float = 1800.0) -> None:
        """Until /health says the model is loaded (503 while loading); ModelLoadError with the
        server's last words if it exits first, or never gets there."""
        deadline = time.monotonic() + timeout
        said = ""
        while time.monotonic() < deadline:
            if not self.running():
                raise ModelLoadError(f"llama-server stopped while loading the model: {self.last_words()}")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        self._forget_key_file()
                        return
            except urllib.error.HTTPError as exc:
                if exc.code not in (503,):
                    raise ModelLoadError(f"llama-server answered /health with HTTP {exc.code}") from None
            except OSError:
                pass  # not listening yet
            line = next((x for x in reversed(self.last_lines) if x.strip()), "")
            if progress is not None and line and line != said:
                said = line
                progress(line)
            time.sleep(READY_POLL_SECONDS)
        self.stop()
        raise ModelLoadError(f"llama-server did not finish loading within {timeout:.0f} s: {self.last_words()}")

    def last_words(self) -> str:
        lines = [line.strip() for line in self.last_lines if line.strip()]
        errors = [line for line in lines if "error" in line.lower() or "failed" in line.lower()]
        return (errors or lines or ["(it wrote nothing)"])[-1][:300]

    def _forget_key_file(self) -> None:
        """Read at start: no copy of the key stays on disk."""
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- stopping ------------------------------------------------------------
    def stop(self) -> None:
        """SIGTERM, then SIGKILL after STOP_SECONDS; the key file goes too."""
        self._stop.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(STOP_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_SECONDS)
        if self._owner is not None:
            self._owner.join(STOP_SECONDS)
        self._forget_key_file()
        if process is not None:
            self._log(f"mixtral-tui: llama-server (pid {process.pid}) stopped")

    def __del__(self) -> None:  # an engine dropped without close(): no server left behind
        with contextlib.suppress(Exception):
            if self.running() and self._process is not None:
                os.kill(self._process.pid, signal.SIGKILL)
