"""Tools for a model on this machine: its own chat template offers them, its text carries the calls.

A GGUF's Jinja template takes `tools` when its model was trained to call them, and each family
writes calls its own way: Mistral (v0.3, Nemo, Small, 8x22B) `[TOOL_CALLS] [{"name", "arguments"}]`
(newer tokenizers `[TOOL_CALLS]name[ARGS]{...}`), Hermes and Qwen `<tool_call>{...}</tool_call>`,
Llama 3.1+ a bare `{"name", "parameters"}` (or after `<|python_tag|>`). The template is given the
messages in the OpenAI form its authors wrote it for (arguments as objects); the reply's text is
read here, and what is a call never reaches the screen. A template with no tools (Mixtral 8x7B
Instruct v0.1, Gemma 3) is why the model is offered none, said in words that name models that can.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from mixtral_tui.engine.base import ToolCall, Turn
from mixtral_tui.engine.tool_ids import new_call_id


class CallFormat(StrEnum):
    MISTRAL = "mistral"
    HERMES = "hermes"
    LLAMA3 = "llama3"


MODELS_THAT_CAN = ("Mixtral 8x22B Instruct, Mistral Small or Nemo, Qwen 2.5 or 3, Llama 3.1 or later, "
                   "or any model on a server (llama-server, vLLM, Ollama, LM Studio, Mistral's API)")


def call_format(source: str) -> CallFormat | None:
    """How a template's model writes calls; None when the template takes no tools (or in a form
    this app does not read)."""
    if "tools" not in source:
        return None
    if "[TOOL_CALLS]" in source:
        return CallFormat.MISTRAL
    if "<tool_call>" in source:
        return CallFormat.HERMES
    if "<|start_header_id|>" in source and ('"parameters"' in source or "<|python_tag|>" in source):
        return CallFormat.LLAMA3
    return None


def why_no_tools(source: str, name: str) -> str:
    """The reason a model is offered no tools, for the Tools screen, `tools` and `ask`."""
    if "tools" in source:
        return (f"the chat template of {name} takes tools in a form this app does not read yet; models that "
                f"can: {MODELS_THAT_CAN}")
    return (f"the chat template of {name} takes no tools (Mixtral 8x7B Instruct and Gemma 3 were not trained "
            f"to call them); models that can: {MODELS_THAT_CAN}")


def _arguments(text: str) -> Any:
    """A call's JSON arguments as an object, as templates render them (`arguments | tojson`)."""
    try:
        return json.loads(text)
    except ValueError:
        return text  # written back as the model wrote it: templates check `is string`


def template_messages(turns: Sequence[Turn]) -> list[dict[str, Any]]:
    """Turns as the template's messages. Only turns that carry calls get a `tool_calls` key:
    templates test `message.tool_calls is defined` and `'tool_calls' in message`."""
    out: list[dict[str, Any]] = []
    for turn in turns:
        message: dict[str, Any] = {"role": turn.role, "content": turn.content}
        if turn.role == "tool":
            message["tool_call_id"] = turn.tool_call_id
        if turn.tool_calls:
            message["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": _arguments(c.arguments)}}
                                     for c in turn.tool_calls]
        out.append(message)
    return out


def one_call_a_turn(turns: Sequence[Turn]) -> list[Turn]:
    """Several calls of one turn as one turn per call, each followed by its result: Llama 3.1's
    template takes a single call per assistant turn (it raises on more), and its model then reads
    each call with the result it got."""
    out: list[Turn] = []
    index = 0
    while index < len(turns):
        turn = turns[index]
        index += 1
        if turn.role != "assistant" or len(turn.tool_calls) < 2:
            out.append(turn)
            continue
        results: dict[str, Turn] = {}
        while index < len(turns) and turns[index].role == "tool":
            results[turns[index].tool_call_id] = turns[index]
            index += 1
        for number, call in enumerate(turn.tool_calls):
            out.append(Turn("assistant", turn.content if number == 0 else "", (call,)))
            if call.id in results:
                out.append(results.pop(call.id))
        out.extend(results.values())  # a result whose call is not here (none should be): kept, not lost
    return out


_MARKERS = {CallFormat.MISTRAL: ("[TOOL_CALLS]",), CallFormat.HERMES: ("<tool_call>",),
            CallFormat.LLAMA3: ("<|python_tag|>", "{")}


def _held_suffix(text: str, markers: Sequence[str]) -> int:
    """How many characters at the end of `text` could be the start of a marker."""
    keep = 0
    for marker in markers:
        for size in range(min(len(marker) - 1, len(text)), 0, -1):
            if text.endswith(marker[:size]):
                keep = max(keep, size)
                break
    return keep


class CallReader:
    """Reads a reply's text as it streams: what is not a call goes on to the screen at once; from
    a call's marker on the text is held, and read as calls when the reply ends."""

    def __init__(self, form: CallFormat) -> None:
        self.form = form
        self._pending = ""
        self._calls_text: list[str] | None = None  # set once a marker was seen
        self._began = False  # any answer out yet (Llama 3's bare JSON only counts at the start)

    def feed(self, text: str) -> str:
        if self._calls_text is not None:
            self._calls_text.append(text)
            return ""
        text = self._pending + text
        self._pending = ""
        markers = _MARKERS[self.form]
        if self.form is CallFormat.LLAMA3:
            if self._began:
                return text
            stripped = text.lstrip()
            if not stripped:
                self._pending = text
                return ""
            if stripped.startswith(markers):
                self._calls_text = [stripped]
                return ""
            if "<|python_tag|>".startswith(stripped):
                self._pending = text
                return ""
            self._began = True
            return text
        at = text.find(markers[0])
        if at >= 0:
            self._calls_text = [text[at:]]
            return text[:at]
        keep = _held_suffix(text, markers)
        self._pending = text[len(text) - keep:]
        return text[: len(text) - keep]

    def finish(self, complete: bool = True) -> tuple[str, tuple[ToolCall, ...]]:
        """(text still to show, the calls). Text that held a marker but no readable call, or the
        calls of a reply that was stopped (`complete=False`), is shown as written: nothing the
        model wrote is lost, and nothing it did not finish asking for runs."""
        if self._calls_text is None:
            held, self._pending = self._pending, ""
            return held, ()
        written = "".join(self._calls_text)
        calls = _READERS[self.form](written) if complete else ()
        return ("", calls) if calls else (written, ())


def _call(name: Any, arguments: Any, call_id: Any = None) -> ToolCall | None:
    if not isinstance(name, str) or not name:
        return None
    text = arguments if isinstance(arguments, str) else json.dumps(arguments if arguments is not None else {},
                                                                  ensure_ascii=False)
    return ToolCall(call_id if isinstance(call_id, str) and call_id else new_call_id(), name, text)


def _objects(text: str) -> list[Any]:
    """The JSON values one after another in `text` (separators and spaces between them skipped)."""
    decoder = json.JSONDecoder()
    values, at = [], 0
    while at < len(text):
        while at < len(text) and text[at] in " \t\r\n;,":
            at += 1
        if at >= len(text):
            break
        try:
            value, at = decoder.raw_decode(text, at)
        except ValueError:
            return []
        values.append(value)
    return values


def _mistral(text: str) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for part in text.split("[TOOL_CALLS]"):
        part = part.strip()
        if not part:
            continue
        if part.startswith("["):  # v0.3 to Small 3.1: a JSON array of {"name", "arguments", "id"?}
            values = _objects(part)
            items = values[0] if len(values) == 1 and isinstance(values[0], list) else None
            if items is None:
                return ()
            for item in items:
                call = _call(item.get("name"), item.get("arguments"), item.get("id")) if isinstance(item, dict) else None
                if call is None:
                    return ()
                calls.append(call)
        elif "[ARGS]" in part:  # newer tokenizers: name[CALL_ID]id[ARGS]{...}
            head, arguments = part.split("[ARGS]", 1)
            name, _, call_id = head.partition("[CALL_ID]")
            values = _objects(arguments)
            call = _call(name.strip(), values[0], call_id.strip()) if len(values) == 1 else None
            if call is None:
                return ()
            calls.append(call)
        else:
            return ()
    return tuple(calls)


def _hermes(text: str) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for block in text.split("<tool_call>")[1:]:
        body = block.split("</tool_call>", 1)[0]
        values = _objects(body.strip())
        item = values[0] if len(values) == 1 else None
        call = _call(item.get("name"), item.get("arguments")) if isinstance(item, dict) else None
        if call is None:
            return ()
        calls.append(call)
    return tuple(calls)


def _llama3(text: str) -> tuple[ToolCall, ...]:
    text = text.strip().removeprefix("<|python_tag|>")
    values = _objects(text.strip())
    items = values[0] if len(values) == 1 and isinstance(values[0], list) else values
    calls = []
    for item in items:
        if not isinstance(item, dict) or not ("parameters" in item or "arguments" in item):
            return ()
        call = _call(item.get("name"), item.get("parameters", item.get("arguments")))
        if call is None:
            return ()
        calls.append(call)
    return tuple(calls)


_READERS = {CallFormat.MISTRAL: _mistral, CallFormat.HERMES: _hermes, CallFormat.LLAMA3: _llama3}
