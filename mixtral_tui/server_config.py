"""Servers the app can talk to instead of a local model: `[servers.NAME]` in config.toml.

Every OpenAI-compatible server (llama.cpp's `llama-server`, vLLM, Ollama, LM Studio, Mistral's
API, llama-cpp-python's own server) is one of these:

    [servers.gpu-box]
    url = "http://10.0.0.5:8080/v1"
    api_key_env = "GPU_BOX_KEY"      # the environment variable that holds the key, never the key
    model = "mixtral-8x7b"           # optional: the server's model to use
    headers = { "X-Team" = "nlp" }   # optional, sent to this server only
    connect_timeout = 10
    read_timeout = 120               # seconds without a byte before the server counts as gone

Two are built in: `mistral` (Mistral's API, key from MISTRAL_API_KEY) and `openai` (key from
OPENAI_API_KEY); a `[servers.mistral]` table replaces the built-in one. A URL given on the
command line is a server of its own, which gets no key unless `--api-key-env VAR` names one.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from mixtral_tui.errors import ConfigError

WEB_ENGINE_ENV = "MIXTRAL_TUI_WEB_ENGINE"
"""`mixtral-tui web`'s engine URL, in a page's app's environment: a local model it picks is loaded
there, for every page."""

WEB_PAGE_ENV = "MIXTRAL_TUI_WEB_PAGE"
"""A page's id, in its app's environment: sent to the web engine with each request (WEB_PAGE_HEADER),
so that the page's replies stop on the engine when the page goes (web/page_server.py)."""

WEB_PAGE_HEADER = "X-Mixtral-Tui-Page"


@dataclass(frozen=True)
class ServerSettings:
    url: str
    name: str = ""  # the config's name for it ("" for a URL from the command line)
    api_key_env: str = ""
    model: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    connect_timeout: float = 10.0
    read_timeout: float = 120.0
    allow_insecure: bool = False  # a key may go over plain http to a host that is not this machine
    kind: str = ""  # "mistral" / "openai" for the built-ins: what their API accepts is known
    # A key the app made itself (its own llama-server's): held here, never in the environment (child
    # processes would inherit it), the config, or a repr that a log line might print.
    own_key: str = field(default="", repr=False, compare=False)

    @property
    def label(self) -> str:
        """How the app names it (replies, the status line): its name, else its host and port."""
        return self.name or urlsplit(self.url).netloc or self.url

    @property
    def lacks_its_key(self) -> bool:
        """A built-in server (Mistral's, OpenAI's) whose key variable is empty: asked, it would only refuse."""
        return bool(self.api_key_env) and self.name in BUILTIN_SERVERS and not os.environ.get(self.api_key_env, "").strip()

    @property
    def key_is_exposed(self) -> bool:
        """Whether a key would cross a network in the clear: http:// to a host that is not loopback."""
        parts = urlsplit(self.url)
        if parts.scheme != "http":
            return False
        host = parts.hostname or ""
        if host == "localhost":
            return False
        try:
            return not ipaddress.ip_address(host).is_loopback
        except ValueError:
            return True


BUILTIN_SERVERS = {
    "mistral": ServerSettings("https://api.mistral.ai/v1", "mistral", "MISTRAL_API_KEY", kind="mistral"),
    "openai": ServerSettings("https://api.openai.com/v1", "openai", "OPENAI_API_KEY", kind="openai"),
}

_KEYS: dict[str, type] = {"url": str, "api_key_env": str, "model": str, "headers": dict, "connect_timeout": float,
         "read_timeout": float}


def _checked_url(url: str, where: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"{where}: server URL {url!r} must start with http:// or https:// and name a host.")
    return url.rstrip("/")


def parse_servers(body: Any, where: str) -> dict[str, ServerSettings]:
    """`[servers.NAME]` tables, checked: a mistake names the server and the key."""
    if not isinstance(body, dict):
        raise ConfigError(f"{where}: 'servers' must hold tables, [servers.NAME].")
    servers: dict[str, ServerSettings] = {}
    for name, table in body.items():
        at = f"{where}: [servers.{name}]"
        if not isinstance(table, dict):
            raise ConfigError(f"{at} must be a table with at least url = \"http://host:port/v1\".")
        if "api_key" in table:
            raise ConfigError(f"{at}: keys are not kept in the config; put the key in an environment variable "
                              "and name it with api_key_env.")
        unknown = sorted(set(table) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{at}: unknown key '{unknown[0]}'; the keys are {', '.join(_KEYS)}.")
        values: dict[str, Any] = {}
        for key, value in table.items():
            kind: type = _KEYS[key]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ConfigError(f"{at}: '{key}' must be {'a number' if kind is float else kind.__name__}, got {value!r}.")
            if isinstance(value, float) and value <= 0:
                raise ConfigError(f"{at}: '{key}' must be more than 0 seconds, got {value!r}.")
            values[key] = value
        headers = values.pop("headers", {})
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
            raise ConfigError(f"{at}: 'headers' must map names to text, e.g. headers = {{ \"X-Team\" = \"nlp\" }}.")
        base = BUILTIN_SERVERS.get(name)
        if "url" not in values and base is None:
            raise ConfigError(f"{at} needs url = \"http://host:port/v1\".")
        url = _checked_url(values.pop("url", base.url if base else ""), at)
        server = replace(base, url=url) if base else ServerSettings(url, name)
        servers[name] = replace(server, headers=tuple(sorted(headers.items())), **values)
    return servers


def all_servers(configured: dict[str, ServerSettings]) -> dict[str, ServerSettings]:
    """The built-in servers, with the config's on top (its own, and any that replace a built-in)."""
    return {**BUILTIN_SERVERS, **configured}


def server_for(choice: str, configured: dict[str, ServerSettings], api_key_env: str = "",
               allow_insecure: bool = False) -> ServerSettings:
    """`--server NAME_OR_URL`: a configured or built-in server by name, or a URL (no key unless
    `api_key_env` names where one is)."""
    from mixtral_tui.errors import UserError

    known = all_servers(configured)
    if choice in known:
        server = known[choice]
        if api_key_env:
            server = replace(server, api_key_env=api_key_env)
    elif "://" in choice:
        try:
            server = ServerSettings(_checked_url(choice, "--server"), api_key_env=api_key_env)
        except ConfigError as exc:
            raise UserError(str(exc)) from None
    else:
        names = ", ".join(sorted(known))
        raise UserError(f"no server named {choice!r}: the servers are {names} ([servers.NAME] in the config), "
                        "or give a URL such as http://127.0.0.1:8080/v1.")
    return replace(server, allow_insecure=allow_insecure) if allow_insecure else server
