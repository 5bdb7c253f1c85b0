"""Why an MCP server did not start, or stopped, in one line a user can act on: the command is
not found, it exited (with its last line of stderr), it did not answer in time, the URL refused
the key (naming the variable that holds it), nothing answers at the URL.

The SDK reports most of these as exception groups from its task groups, around an `MCPError`
("Connection closed") or an HTTP client's error: the leaves say what happened.
"""

from __future__ import annotations

import errno
from pathlib import Path

from mixtral_tui.tools.mcp_config import McpServer

LAST_LINE_CHARS = 200


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside nested exception groups (the exception itself when it is none)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def last_line(path: Path) -> str:
    """The last line a server wrote to its stderr (its log file here), cut to one screen line."""
    try:
        with path.open("rb") as file:
            file.seek(0, 2)
            file.seek(max(0, file.tell() - 8192))
            lines = [line.strip() for line in file.read().decode("utf-8", "replace").splitlines() if line.strip()]
    except OSError:
        return ""
    return lines[-1][:LAST_LINE_CHARS] if lines else ""


def why_it_failed(exc: BaseException, server: McpServer, errlog: Path, start_seconds: float,
                  http_status: int = 0) -> str:
    """One line for `tools`, the Tools screen and the log. `http_status`: the last error status an
    HTTP server answered with (the SDK does not carry it in its error)."""
    found = leaves(exc)
    first = found[0]
    if any(isinstance(leaf, TimeoutError) for leaf in found):
        return f"timed out: did not start and list its tools within {start_seconds:g} s"
    if server.url:
        return _http_why(found, server, http_status)
    if isinstance(first, FileNotFoundError) or (isinstance(first, OSError) and first.errno == errno.ENOENT):
        where = f" (nor the folder {server.cwd!r})" if server.cwd else ""
        return (f"command not found: {server.command!r}{where}; install it, or give its full path in mcp.json")
    if isinstance(first, PermissionError):
        return f"cannot run {server.command!r}: permission denied (is it executable?)"
    said = last_line(errlog)
    closed = "connection closed" in str(first).lower()
    if closed:
        return f"exited: {said}" if said else "exited without saying why (its stderr was empty)"
    return f"failed: {_text(first)}" + (f" (its last words: {said})" if said else "")


def _http_why(found: list[BaseException], server: McpServer, status: int) -> str:
    names = {type(leaf).__name__ for leaf in found}
    if status in (401, 403):
        variables = ", ".join(f"${{{v}}}" for v in server.header_variables)
        where = f"check {variables} in its headers" if variables else "its headers in mcp.json give no key"
        word = "unauthorized" if status == 401 else "forbidden"
        return f"HTTP {status} ({word}): {where}"
    if status:
        return f"HTTP {status} from {server.url}"
    if "ConnectError" in names:
        return f"nothing answers at {server.url} (is the server running?)"
    if "ConnectTimeout" in names or "ReadTimeout" in names:
        return f"{server.url} did not answer in time"
    return f"failed: {_text(found[0])}"


def _text(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:LAST_LINE_CHARS]
