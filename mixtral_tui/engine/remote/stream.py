"""One streaming request to a server, read in a thread of its own into a queue: the reply's thread
waits on it a tenth of a second at a time, so Esc stops a reply at once even when the server has
gone quiet, and a server silent for its read timeout is given up on."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import httpx
from httpx_sse import EventSource

from mixtral_tui.cancel import Cancellation

POLL_SECONDS = 0.1


class Stream:
    """One streaming request, read in a thread of its own into a queue."""

    def __init__(self, client: httpx.Client, body: dict) -> None:
        self._items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._stop = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._read, args=(client, body), name="server-stream", daemon=True)
        self._thread.start()

    def _read(self, client: httpx.Client, body: dict) -> None:
        try:
            with client.stream("POST", "chat/completions", json=body) as response:
                self._response = response
                if response.status_code >= 400:
                    response.read()
                    self._items.put(("status", response))
                    return
                kind = response.headers.get("content-type", "")
                if "text/event-stream" not in kind:
                    self._items.put(("not-sse", f"{kind or 'no content type'}: {response.read()[:80]!r}"))
                    return
                for event in EventSource(response).iter_sse():
                    if self._stop.is_set():
                        return
                    self._items.put(("data", event.data))
            self._items.put(("end", None))
        except Exception as exc:  # every failure reaches the reply's thread as a message
            if not self._stop.is_set():
                self._items.put(("error", exc))

    def next(self, cancel: Cancellation, read_timeout: float) -> tuple[str, Any] | None:
        """The next item; None once the user cancels. A server silent for `read_timeout` is gone."""
        quiet_since = time.monotonic()
        while True:
            if cancel.cancelled:
                self.close()
                return None
            try:
                return self._items.get(timeout=POLL_SECONDS)
            except queue.Empty:
                if time.monotonic() - quiet_since > read_timeout:
                    self.close()
                    return ("error", httpx.ReadTimeout(f"nothing for {read_timeout:.0f} s"))

    def close(self) -> None:
        self._stop.set()
        if self._response is not None:
            try:
                self._response.close()
            except Exception:
                pass


def wait(seconds: float, cancel: Cancellation) -> bool:
    """Sleep, a tenth at a time; False when the user cancelled meanwhile."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if cancel.cancelled:
            return False
        time.sleep(POLL_SECONDS)
    return True


