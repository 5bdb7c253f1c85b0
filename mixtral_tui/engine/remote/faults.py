"""A server's failures as one line each that says what to do (the key never in it)."""

from __future__ import annotations

import os
import re

import httpx

from mixtral_tui.errors import ContextExceeded, ServerError, ServerHasNoModel
from mixtral_tui.server_config import ServerSettings

RETRIES_429 = 3
LONGEST_RETRY_WAIT = 30.0


def retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("retry-after", "2")), 0.5), LONGEST_RETRY_WAIT)
    except ValueError:
        return 2.0


def pick_model(wanted: str, models: list[str], server: ServerSettings) -> str:
    if wanted:
        if wanted in models or not models:
            return wanted
        raise ServerError(f"{server.label} has no model {wanted!r}; it has {', '.join(models)}. Pass --model ID.")
    if len(models) == 1:
        return models[0]
    if not models:
        raise ServerHasNoModel(f"{server.label} lists no models; name one with --model ID.")
    raise ServerError(f"{server.label} has {len(models)} models: {', '.join(models[:12])}. Pass --model ID "
                      "(or set model in its [servers.NAME] table).")


def fault(exc: Exception, server: ServerSettings, mid_reply: bool = False) -> ServerError:
    """A network failure as one line that says what to do (the key never in it)."""
    where = server.url
    text = str(exc)
    if isinstance(exc, httpx.ConnectTimeout):
        return ServerError(f"{where} did not answer within {server.connect_timeout:.0f} s (connect timeout): is the "
                           "host up and the port open?")
    if isinstance(exc, httpx.ReadTimeout) or "nothing for" in text:
        during = "stopped sending mid-reply" if mid_reply else "accepted the request but sent nothing"
        return ServerError(f"{server.label} {during} for {server.read_timeout:.0f} s; the text so far is kept. "
                           "read_timeout in its [servers.NAME] table waits longer.")
    if isinstance(exc, httpx.ConnectError):
        if "SSL" in text or "certificate" in text.lower():
            return ServerError(f"TLS failed with {where}: {text}. Check the URL's scheme (http or https) and the "
                               "server's certificate.")
        if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
            return ServerError(f"unknown host in {where}: check the name, or use its IP address.")
        return ServerError(f"cannot connect to {where} ({text or 'connection refused'}): is the server running, "
                           "and listening on that address?")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError):
        part = "the reply so far is kept" if mid_reply else "try again"
        return ServerError(f"{server.label} closed the connection ({text or type(exc).__name__}); {part}.")
    return ServerError(f"{server.label}: {type(exc).__name__}: {text}")


def status_fault(response: httpx.Response, server: ServerSettings, model: str) -> ServerError:
    code = response.status_code
    said = _said(response, os.environ.get(server.api_key_env, "").strip() if server.api_key_env else "")
    if code in (401, 403):
        if server.api_key_env:
            return ServerError(f"{server.label} refused the key (HTTP {code}{said}): check the key in "
                               f"{server.api_key_env}.")
        return ServerError(f"{server.label} wants a key (HTTP {code}{said}): put it in an environment variable and "
                           "name it with api_key_env in [servers.NAME], or --api-key-env VAR.")
    if code == 404:
        return ServerError(f"{server.url}: HTTP 404{said}. " + (f"The model {model!r} may be unknown there: "
                           "`mixtral-tui models --server` lists its models." if model else
                           "It is not an OpenAI-compatible API at this URL; it usually ends in /v1."))
    if code == 429:
        return ServerError(f"{server.label} is still busy after {RETRIES_429} tries (HTTP 429{said}); try again later.")
    if code >= 500:
        return ServerError(f"{server.label} failed (HTTP {code}{said}); the server's log says more.")
    return ServerError(f"{server.label} refused the request (HTTP {code}{said}).")


def _said(response: httpx.Response, key: str = "") -> str:
    """What the server said, shortened, from a JSON error or the first line of a text body. A key
    the server repeats back ("Incorrect API key provided: sk-...") is blotted out."""
    try:
        data = response.json()
        error = data.get("error", data.get("detail", data.get("message"))) if isinstance(data, dict) else None
        text = error.get("message", "") if isinstance(error, dict) else str(error or "")
    except ValueError:
        body = response.text.strip()
        text = "an HTML page" if body.lower().startswith(("<!doctype", "<html")) else body.splitlines()[0] if body else ""
    text = " ".join(text.split())
    if key and len(key) >= 4:
        text = text.replace(key, "[the key]")
    text = text[:200]
    return f": {text}" if text else ""


_TOO_LONG = ("maximum context length", "exceed_context_size", "exceeds the available context", "exceed context window",
             "context_length_exceeded", "too large for model", "context length exceeded", "prompt is too long")
_LIMIT = (r"maximum context length is (\d+)", r"context window of (\d+)", r"(\d+) maximum context length",
          r'"n_ctx":\s*(\d+)', r"context size \((\d+)")


def context_exceeded(response: httpx.Response, server: ServerSettings) -> ContextExceeded | None:
    """The server's way of saying the prompt does not fit (each words it its own way), with the
    context size it names where it names one; None for any other refusal."""
    text = response.text
    if response.status_code not in (400, 413, 422, 500) or not any(p in text.lower() for p in _TOO_LONG):
        return None
    limit = next((int(m.group(1)) for pattern in _LIMIT if (m := re.search(pattern, text))), 0)
    size = f" of {limit:,} tokens" if limit else ""
    return ContextExceeded(f"{server.label} says the conversation does not fit its context{size}.", limit)
