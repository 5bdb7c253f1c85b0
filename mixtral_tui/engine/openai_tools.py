"""Tool calls in the OpenAI chat-completions form, as servers stream them.

Offered as `tools: [{"type": "function", "function": {name, description, parameters}}]`. A
streamed call comes in pieces under `delta.tool_calls`, each with an `index`: the id and the name
once (llama.cpp, vLLM, OpenAI), the `arguments` JSON in fragments; Mistral's API sends each call
whole in one piece. They are joined per index and handed on whole when the stream ends. Sent back
as an assistant message with `tool_calls` and one `tool` message per result, with its call's id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mixtral_tui.engine.base import ToolCall, ToolSpec, Turn
from mixtral_tui.engine.tool_ids import new_call_id


def tools_field(tools: Sequence[ToolSpec]) -> list[dict[str, Any]]:
    return [{"type": "function", "function": {"name": t.name, "description": t.description,
                                              "parameters": t.parameters or {"type": "object", "properties": {}}}}
            for t in tools]


def message_of(turn: Turn) -> dict[str, Any]:
    """A turn as the server takes it: calls and results in the OpenAI form."""
    if turn.role == "tool":
        return {"role": "tool", "tool_call_id": turn.tool_call_id, "content": turn.content}
    message: dict[str, Any] = {"role": turn.role, "content": turn.content}
    if turn.tool_calls:
        message["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": c.arguments}} for c in turn.tool_calls]
    return message


def turn_of(message: dict[str, Any]) -> Turn:
    """A request's message as a turn (the web engine host serves this form): calls and results
    keep their ids. Raises KeyError, TypeError or ValueError on what is not a message."""
    calls = tuple(ToolCall(str(c["id"]), str(c["function"]["name"]), _arguments_text(c["function"].get("arguments")))
                  for c in message.get("tool_calls") or ())
    return Turn(str(message["role"]), str(message.get("content") or ""), calls, str(message.get("tool_call_id") or ""))


def spec_of(tool: dict[str, Any]) -> ToolSpec:
    """A request's `tools` entry as a ToolSpec."""
    function = tool["function"]
    return ToolSpec(str(function["name"]), str(function.get("description") or ""), dict(function.get("parameters") or {}))


def call_pieces(calls: Sequence[ToolCall]) -> list[dict[str, Any]]:
    """Whole calls as one chunk's `delta.tool_calls` (as Mistral's API streams them)."""
    return [{"index": index, "id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for index, c in enumerate(calls)]


def _arguments_text(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    import json

    return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)


@dataclass
class _Pieces:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallJoiner:
    """Joins the pieces of a reply's calls, per index, into whole calls."""

    def __init__(self) -> None:
        self._calls: dict[int, _Pieces] = {}

    def feed(self, pieces: Any) -> None:
        """One chunk's `delta.tool_calls` (a list; anything else is ignored)."""
        if not isinstance(pieces, list):
            return
        for position, piece in enumerate(pieces):
            if not isinstance(piece, dict):
                continue
            index = piece.get("index")
            index = index if isinstance(index, int) else len(self._calls) if piece.get("id") else position
            call = self._calls.setdefault(index, _Pieces())
            if isinstance(piece.get("id"), str) and piece["id"] and not call.id:
                call.id = piece["id"]
            function = piece.get("function") or {}
            if isinstance(function, dict):
                if isinstance(function.get("name"), str) and function["name"]:
                    call.name = call.name or function["name"]
                arguments = function.get("arguments")
                if isinstance(arguments, str):
                    call.arguments.append(arguments)
                elif isinstance(arguments, dict):  # a server that sends them parsed (Ollama)
                    import json

                    call.arguments.append(json.dumps(arguments, ensure_ascii=False))

    @property
    def any(self) -> bool:
        return bool(self._calls)

    def calls(self) -> tuple[ToolCall, ...]:
        """The calls, in index order; a call without an id gets one the app makes (9 alphanumerics)."""
        return tuple(ToolCall(call.id or new_call_id(), call.name, "".join(call.arguments) or "{}")
                     for _index, call in sorted(self._calls.items()))
