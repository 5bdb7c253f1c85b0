"""The MCP servers of a session: started in the background, their tools listed, their calls made.

The SDK is asyncio; a reply runs in a worker thread and `ask` is plain code. So the hub keeps an
event loop in a thread of its own and offers blocking calls to any other thread: nothing here
runs on the UI's loop, and a server that is slow to start never holds up the first screen.

This module is the only importer of the `mcp` SDK (tests enforce it). A stdio server gets the
SDK's default environment (HOME, PATH, …) plus its own `env`, never the user's whole environment,
and its stderr goes to a log file of its own, never to the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from mixtral_tui.cancel import Cancellation
from mixtral_tui.tools.mcp_config import McpServer
from mixtral_tui.tools.names import model_names
from mixtral_tui.tools.why import last_line, leaves, why_it_failed

START_SECONDS = 30.0
"""How long a server may take to start and list its tools (a first `uvx` run downloads it)."""

POLL_SECONDS = 0.05
"""How often a blocking call looks at the caller's stop request."""

ServerLog = Callable[[str, str], None]
"""(server, line): where the hub says what its servers do (the app's log file and F12 view)."""


@dataclass(frozen=True)
class ToolInfo:
    """One tool as the model is offered it: `name` (SERVER_TOOL) is the model's; `tool` the server's."""

    name: str
    server: str
    tool: str
    description: str
    schema: dict[str, Any]

    @property
    def summary(self) -> str:
        """Its description's first line, for `tools` and the Tools screen."""
        return next((line.strip() for line in self.description.splitlines() if line.strip()), "")


@dataclass
class ServerStatus:
    """What `tools` and the Tools screen say of one server."""

    name: str
    shown: str  # the command or URL (never its env or headers)
    state: str  # starting | ready | failed | off
    why: str = ""  # one line, where it did not start or stopped
    tools: list[ToolInfo] = field(default_factory=list)
    restarts: int = 0


class _Broken(Exception):
    """A server that went away while it was in use (a call found its connection closed)."""


class ToolCallFailed(Exception):
    """A call that did not give a result; its text is what the model is told (and the user sees)."""


@dataclass
class _Connection:
    server: McpServer
    status: ServerStatus
    client: Any = None
    tools: list[Any] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    http_status: int = 0  # the last error status its URL answered with
    broken: asyncio.Event = field(default_factory=asyncio.Event)  # a call found it gone

    def saw_status(self, status: int) -> None:
        if status >= 400:
            self.http_status = status


class ToolHub:
    """Start with `start()` (returns at once); `wait_started()` where the tools are needed now."""

    def __init__(self, servers: list[McpServer], log_dir: Path, log: ServerLog | None = None,
                 start_seconds: float = START_SECONDS) -> None:
        self.servers = servers
        self.log_dir = log_dir
        self.start_seconds = start_seconds
        self._log = log or (lambda _server, _line: None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[str, _Connection] = {}
        self._ready = threading.Event()
        self._ready_task: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="mcp-tools", daemon=True)
        self._thread.start()
        self._submit(self._start_all()).result()

    async def _start_all(self) -> None:
        for server in self.servers:
            status = ServerStatus(server.name, server.shown, "off" if server.disabled else "starting",
                                  "disabled in mcp.json" if server.disabled else "")
            connection = self._connections[server.name] = _Connection(server, status)
            if not server.disabled:
                connection.task = asyncio.create_task(self._serve(connection))
        self._ready_task = asyncio.create_task(self._mark_ready())

    async def _mark_ready(self) -> None:
        await asyncio.gather(*(c.started.wait() for c in self._connections.values() if c.task is not None))
        self._ready.set()

    def wait_started(self, timeout: float | None = None) -> bool:
        """Until every server is ready or has failed; False when `timeout` ran out first."""
        if self._thread is None:
            self.start()
        return self._ready.wait(timeout)

    def close(self) -> None:
        """Stop every server (stdin closed, then SIGTERM, SIGKILL: the SDK's order)."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        with contextlib.suppress(Exception):
            self._submit(self._stop_all()).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = None

    async def _stop_all(self) -> None:
        tasks = [c.task for c in self._connections.values() if c.task is not None]
        for connection in self._connections.values():
            connection.stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- one server --------------------------------------------------------
    async def _serve(self, connection: _Connection) -> None:
        """Hold one server's connection open until the hub stops (or it is switched off); a server
        that stops by itself is started once more, then reported."""
        server, status = connection.server, connection.status
        while True:
            errlog = self._errlog(server.name)
            connection.http_status = 0
            connection.broken = asyncio.Event()  # a call on the connection before this one sets its own
            try:
                async with AsyncExitStack() as stack:
                    async with asyncio.timeout(self.start_seconds):
                        connection.client = await stack.enter_async_context(_client(connection, errlog))
                        connection.tools = await _all_tools(connection.client)
                    self._listed(connection)
                    self._log(server.name, f"started: {len(connection.tools)} tool(s)")
                    stopping = asyncio.create_task(connection.stop.wait())
                    breaking = asyncio.create_task(connection.broken.wait())
                    await asyncio.wait((stopping, breaking), return_when=asyncio.FIRST_COMPLETED)
                    stopping.cancel()
                    breaking.cancel()
                    if connection.stop.is_set():
                        return
                    said = last_line(self._errlog_path(server.name))
                    raise _Broken("stopped by itself" + (f": {said}" if said else ""))
            except asyncio.CancelledError:
                raise
            except BaseException as exc:  # a server gone by itself, or any failure: said in one line
                broken_by_itself = [leaf for leaf in leaves(exc) if isinstance(leaf, _Broken)]
                why = server.redact(str(broken_by_itself[0]) if broken_by_itself else why_it_failed(
                    exc, server, self._errlog_path(server.name), self.start_seconds, connection.http_status))
            finally:
                connection.client = None
                errlog.close()
            if connection.stop.is_set():
                return
            was_ready = status.state == "ready"
            self._log(server.name, f"stopped: {why}")
            if was_ready and status.restarts == 0:
                status.restarts += 1
                status.state, status.why = "starting", f"started again after it stopped ({why})"
                continue
            status.state, status.why, status.tools = "failed", why, []
            self._rename()
            connection.started.set()
            return

    def _listed(self, connection: _Connection) -> None:
        connection.status.state = "ready"
        connection.status.why = connection.status.why if connection.status.restarts else ""
        self._rename()
        connection.started.set()

    def _rename(self) -> None:
        """The model's names for every listed tool, made again as servers come and go."""
        listed = [(c.server.name, t.name) for c in self._connections.values()
                  if c.status.state == "ready" for t in c.tools]
        names = model_names(listed)
        by_owner = {owner: name for name, owner in names.items()}
        for connection in self._connections.values():
            connection.status.tools = [
                ToolInfo(by_owner[(connection.server.name, t.name)], connection.server.name, t.name,
                         t.description or "", dict(t.input_schema or {}))
                for t in connection.tools if (connection.server.name, t.name) in by_owner
            ] if connection.status.state == "ready" else []

    def _errlog_path(self, name: str) -> Path:
        return self.log_dir / f"mcp-{name}.log"

    def _errlog(self, name: str) -> TextIO:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return self._errlog_path(name).open("a", encoding="utf-8")

    # -- what the app asks -------------------------------------------------
    def statuses(self) -> list[ServerStatus]:
        return [c.status for c in self._connections.values()]

    def tools(self) -> list[ToolInfo]:
        """The tools of the servers that are ready and switched on, as the model is offered them."""
        return [tool for c in self._connections.values() if c.status.state == "ready" for tool in c.status.tools]

    def tool(self, name: str) -> ToolInfo | None:
        return next((t for t in self.tools() if t.name == name), None)

    def switch(self, server: str, on: bool) -> None:
        """Switch a server off for this session (its tools are no longer offered), or on again."""
        connection = self._connections[server]
        if not on and connection.status.state != "off":
            connection.status.state, connection.status.why = "off", "switched off for this session"
            self._submit(self._switch_off(connection)).result(timeout=15)
        elif on and connection.status.state == "off":
            connection.status.state, connection.status.why, connection.status.restarts = "starting", "", 0
            self._submit(self._switch_on(connection)).result(timeout=5)

    async def _switch_off(self, connection: _Connection) -> None:
        connection.stop.set()
        if connection.task is not None:
            await asyncio.gather(connection.task, return_exceptions=True)
        connection.task = None
        connection.status.state, connection.status.why = "off", "switched off for this session"
        self._rename()

    async def _switch_on(self, connection: _Connection) -> None:
        connection.stop = asyncio.Event()
        connection.started = asyncio.Event()
        connection.task = asyncio.create_task(self._serve(connection))

    def call(self, name: str, arguments: dict[str, Any], timeout: float, cancel: Cancellation) -> tuple[str, bool]:
        """Run one call: (the result's text, whether the server called it an error). Raises
        ToolCallFailed (not run, failed, timed out) and InterruptedError (the user stopped it)."""
        tool = self.tool(name)
        if tool is None:
            raise ToolCallFailed(f"there is no tool {name!r} (its server stopped, or it was never offered)")
        future = self._submit(self._call(tool, arguments, timeout))
        while True:
            try:
                return future.result(timeout=POLL_SECONDS)
            except TimeoutError:
                if cancel.cancelled:
                    future.cancel()
                    raise InterruptedError("stopped by you while it ran") from None
            except CancelledError:
                raise ToolCallFailed(f"the server {tool.server!r} stopped during the call") from None

    async def _call(self, tool: ToolInfo, arguments: dict[str, Any], timeout: float) -> tuple[str, bool]:
        connection = self._connections[tool.server]
        client, broken = connection.client, connection.broken  # this connection's, not a later one's
        if client is None:
            raise ToolCallFailed(f"the server {tool.server!r} is not running ({connection.status.why or 'starting'})")
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout):
                result = await client.call_tool(tool.tool, arguments)
        except TimeoutError:
            raise ToolCallFailed(f"no answer within {timeout:g} s ([tools] timeout): the call was cancelled") from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # the user stopped it
            # the SDK's own scope ended under the call: the server went away mid-call
            broken.set()
            raise ToolCallFailed(f"the server {tool.server!r} stopped during the call") from None
        except Exception as exc:  # the server's failure, told to the model and the user
            if "connection closed" in str(exc).lower():
                broken.set()
                raise ToolCallFailed(f"the server {tool.server!r} stopped during the call") from None
            raise ToolCallFailed(f"the server {tool.server!r} failed the call: "
                                 f"{connection.server.redact(_one_line(exc))}") from None
        self._log(tool.server, f"{tool.tool}: answered in {time.monotonic() - started:.2f} s")
        return _text_of(result), bool(result.is_error)

    def _submit(self, coro: Any) -> Future[Any]:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop)


def _client(connection: _Connection, errlog: TextIO) -> Any:
    from mcp.client import Client
    from mcp.client.stdio import StdioServerParameters, stdio_client

    server = connection.server
    if server.url:
        return Client(_HttpTransport(server, connection.saw_status))
    params = StdioServerParameters(command=server.command, args=list(server.args), env=server.env or None,
                                   cwd=server.cwd)
    return Client(stdio_client(params, errlog=errlog))


class _HttpTransport:
    """Streamable HTTP with the server's headers on every request; its HTTP client closed with it."""

    def __init__(self, server: McpServer, saw_status: Callable[[int], None]) -> None:
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        async def seen(response: Any) -> None:
            saw_status(response.status_code)

        self._http = create_mcp_http_client(headers=dict(server.headers))
        self._http.event_hooks["response"].append(seen)
        self._transport = streamable_http_client(server.url, http_client=self._http)

    async def __aenter__(self) -> Any:
        return await self._transport.__aenter__()

    async def __aexit__(self, *exc: Any) -> Any:
        try:
            return await self._transport.__aexit__(*exc)
        finally:
            await self._http.aclose()


async def _all_tools(client: Any) -> list[Any]:
    tools, cursor = [], None
    for _ in range(100):  # a server that pages forever is cut off
        page = await client.list_tools(cursor=cursor)
        tools.extend(page.tools)
        cursor = page.next_cursor
        if not cursor:
            break
    return tools


def _text_of(result: Any) -> str:
    """A result as text for the model: its text parts; other parts (images, resources) named."""
    parts = []
    for part in result.content or []:
        kind = getattr(part, "type", "")
        if kind == "text":
            parts.append(part.text)
        elif kind == "resource" and hasattr(getattr(part, "resource", None), "text"):
            parts.append(part.resource.text)
        else:
            parts.append(f"[{kind or 'non-text'} content, not shown to the model]")
    if not parts and result.structured_content is not None:
        import json

        parts.append(json.dumps(result.structured_content, ensure_ascii=False))
    return "\n".join(parts)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]
