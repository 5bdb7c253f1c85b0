"""The names the model knows tools by: `SERVER_TOOL` (`time_get_current_time`), as llama.cpp's web
UI and aichat name them, so two servers never shadow each other. OpenAI-style APIs take names of
at most 64 letters, digits, `_` and `-`: other characters become `_`, a long name is cut and
given a short hash, and two tools that would come out the same are both told apart by a hash."""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 64
_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_-]")


def _short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:6]


def _clean(server: str, tool: str) -> str:
    name = _NOT_ALLOWED.sub("_", f"{server}_{tool}")
    if len(name) > MAX_NAME:
        name = f"{name[: MAX_NAME - 7]}_{_short_hash(server + chr(0) + tool)}"
    return name


def model_names(tools: list[tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """{name for the model: (server, tool)} for every (server, tool), each name its own."""
    first: dict[str, list[tuple[str, str]]] = {}
    for server, tool in tools:
        first.setdefault(_clean(server, tool), []).append((server, tool))
    named: dict[str, tuple[str, str]] = {}
    for name, owners in first.items():
        if len(owners) == 1:
            named[name] = owners[0]
            continue
        for server, tool in owners:  # `a_b` + `c` and `a` + `b_c`: both told apart, neither shadows
            named[f"{name[: MAX_NAME - 7]}_{_short_hash(server + chr(0) + tool)}"] = (server, tool)
    return named
