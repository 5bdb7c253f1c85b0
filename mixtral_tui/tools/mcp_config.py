"""`mcp.json`: the MCP servers whose tools the model may call, in the `mcpServers` format that
Claude Desktop, Cursor, LM Studio and oterm read, so a user copies theirs over:

    {"mcpServers": {
      "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"], "env": {"TOKEN": "${MY_TOKEN}"}},
      "docs": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer ${DOCS_KEY}"}}
    }}

A server is stdio (`command`, `args`, `env`, `cwd`) or Streamable HTTP (`url`, `headers`).
`${VAR}` and `${VAR:-default}` are taken from the environment when the file is read; the values
they give (keys, tokens) live in memory only, for that server alone. A bad file is one clear
message naming the file and the place, and the app runs without tools.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mixtral_tui.errors import ConfigError

STDIO_FIELDS = frozenset({"command", "args", "env", "cwd"})
HTTP_FIELDS = frozenset({"url", "headers"})
COMMON_FIELDS = frozenset({"disabled", "type", "timeout", "description"})  # what other clients write too
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
NAME = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
"""A server's name becomes the start of its tools' names (`time_get_current_time`), which an
OpenAI-style `tools` list allows only in letters, digits, `_` and `-`."""


@dataclass(frozen=True)
class McpServer:
    """One server of mcp.json, its `${VAR}`s expanded. `secrets`: the values that came from the
    environment, which the app never writes anywhere (logs, history, the screen)."""

    name: str
    command: str = ""
    args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: str | None = None
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    disabled: bool = False
    secrets: tuple[str, ...] = ()
    header_variables: tuple[str, ...] = ()  # the ${VAR}s its headers take: what a 401 points at

    @property
    def transport(self) -> str:
        return "http" if self.url else "stdio"

    @property
    def shown(self) -> str:
        """How `tools` and the Tools screen name where it runs (never its env or headers)."""
        return self.redact(self.url if self.url else " ".join((self.command, *self.args)))

    def redact(self, text: str) -> str:
        """The text with every value that came from the environment left out: a key given in an
        argument or the URL is not shown, logged or kept, as its env and headers are not."""
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "${…}")
        return text


def mcp_file(config_dir: Path) -> Path:
    """Beside config.toml (MIXTRAL_TUI_HOME moves both)."""
    return config_dir / "mcp.json"


def load_mcp_servers(path: Path, environ: dict[str, str] | None = None) -> list[McpServer]:
    """The servers of `path` (none when it is not there). Raises ConfigError saying where."""
    if not path.exists():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}, line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg}). "
                          "Fix it, or move the file away to run without tools.") from None
    return parse_mcp_servers(data, str(path), os.environ if environ is None else environ)


def parse_mcp_servers(data: Any, where: str, environ: Any) -> list[McpServer]:
    if not isinstance(data, dict) or not isinstance(data.get("mcpServers", {}), dict):
        raise ConfigError(f'{where}: expected {{"mcpServers": {{"NAME": {{...}}}}}}, as Claude Desktop and Cursor write it.')
    unknown = set(data) - {"mcpServers"}
    if unknown:
        raise ConfigError(f"{where}: unknown top-level key {sorted(unknown)[0]!r}; only \"mcpServers\" is read.")
    return [_server(name, entry, f"{where}: mcpServers.{name}", environ)
            for name, entry in data.get("mcpServers", {}).items()]


def _server(name: str, entry: Any, at: str, environ: Any) -> McpServer:
    if not NAME.match(name):
        raise ConfigError(f"{at}: a server's name takes letters, digits, '_' and '-' only (at most 40): its tools "
                          "are named after it.")
    if not isinstance(entry, dict):
        raise ConfigError(f"{at}: expected an object with \"command\" (a program) or \"url\" (a server).")
    known = STDIO_FIELDS | HTTP_FIELDS | COMMON_FIELDS
    for key in entry:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else f" Known: {', '.join(sorted(known))}."
            raise ConfigError(f"{at}: unknown field {key!r}.{hint}")
    has_command, has_url = "command" in entry, "url" in entry
    if has_command == has_url:
        raise ConfigError(f"{at}: give either \"command\" (a program the app starts) or \"url\" (a Streamable "
                          "HTTP server), not " + ("both." if has_command else "neither."))
    if (has_command and HTTP_FIELDS & set(entry)) or (has_url and STDIO_FIELDS & set(entry)):
        raise ConfigError(f"{at}: \"headers\" go with \"url\"; \"args\", \"env\" and \"cwd\" with \"command\".")
    secrets: list[str] = []

    def text(key: str, value: Any) -> str:
        if not isinstance(value, str):
            raise ConfigError(f"{at}.{key}: expected a string, got {json.dumps(value)[:40]}.")
        return _expand(value, f"{at}.{key}", environ, secrets)

    header_variables = tuple(match.group(1) for value in (entry.get("headers") or {}).values()
                             if isinstance(value, str) for match in _VARIABLE.finditer(value))

    def table(key: str) -> dict[str, str]:
        value = entry.get(key, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{at}.{key}: expected an object of names to strings.")
        return {str(k): text(f"{key}.{k}", v) for k, v in value.items()}

    args = entry.get("args", [])
    if not isinstance(args, list):
        raise ConfigError(f"{at}.args: expected a list of strings.")
    disabled = entry.get("disabled", False)
    if not isinstance(disabled, bool):
        raise ConfigError(f"{at}.disabled: expected true or false.")
    url = text("url", entry["url"]) if has_url else ""
    if url and not url.startswith(("http://", "https://")):
        raise ConfigError(f"{at}.url: expected an http:// or https:// address, got {url!r}.")
    return McpServer(
        name=name,
        command=text("command", entry["command"]) if has_command else "",
        args=tuple(text(f"args[{i}]", a) for i, a in enumerate(args)),
        env=table("env"),
        cwd=text("cwd", entry["cwd"]) if "cwd" in entry else None,
        url=url,
        headers=table("headers"),
        disabled=disabled,
        secrets=tuple(s for s in secrets if s),
        header_variables=header_variables,
    )


def _expand(value: str, at: str, environ: Any, secrets: list[str]) -> str:
    """`${VAR}` and `${VAR:-default}` from the environment; a missing one without a default says which."""

    def one(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        found = environ.get(name)
        if found is None or (found == "" and default is not None):
            if default is None:
                raise ConfigError(f"{at}: ${{{name}}} is not set in the environment. Set it (export {name}=…), "
                                  f"or write ${{{name}:-a default}}.")
            return default
        secrets.append(found)
        return found

    return _VARIABLE.sub(one, value)
