"""A conversation as JSON: everything the history holds of it, to read back exactly.

The Markdown export is for people (it reads as a document); this one is for programs and for
moving a conversation to another machine: every message with its status (replaced, stopped,
interrupted), its model, sampling and figures, the conversation's own settings, its draft and
whether it is a fork. `mixtral-tui import FILE.json` reads it back into the history as a new
conversation, equal to the first in everything but its ids.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from typing import Any

from mixtral_tui.errors import UserError
from mixtral_tui.store.attachments import from_dict
from mixtral_tui.store.history import Conversation, History, Message

FORMAT = "mixtral-tui conversation"
VERSION = 1

_CONVERSATION_FIELDS = [f.name for f in fields(Conversation) if f.name != "message_count"]
_MESSAGE_FIELDS = [f.name for f in fields(Message) if f.name != "conversation_id"]
_LATER_FIELDS = {"tool_calls", "tool_call_id", "attachments"}
"""Message fields that came after version 1's first files: a file without them reads as before."""


def conversation_json(conversation: Conversation, messages: list[Message]) -> str:
    whole = asdict(conversation)
    data = {
        "format": FORMAT,
        "version": VERSION,
        "conversation": {name: whole[name] for name in _CONVERSATION_FIELDS},
        "messages": [{name: value for name, value in asdict(m).items() if name in _MESSAGE_FIELDS} for m in messages],
    }
    return json.dumps(data, ensure_ascii=False, indent=1) + "\n"


def _parsed(text: str, where: str) -> tuple[Conversation, list[Message]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise UserError(f"{where}: not JSON ({exc}).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UserError(f"{where}: not a conversation exported by mixtral-tui (`export --format json` writes one).")
    if data.get("version") != VERSION:
        raise UserError(f"{where}: format version {data.get('version')!r}; this mixtral-tui reads version {VERSION}.")
    try:
        head: dict[str, Any] = data["conversation"]
        conversation = Conversation(message_count=len(data["messages"]),
                                    **{name: head[name] for name in _CONVERSATION_FIELDS})
        # A field newer than the file (a reply's tool calls) keeps its default; the older ones must be there.
        messages = [Message(conversation_id=conversation.id,
                            **{name: m[name] for name in _MESSAGE_FIELDS if name in m or name not in _LATER_FIELDS})
                    for m in data["messages"]]
        for message in messages:  # read back as they were sent: the texts, and a directory's note
            message.attachments = [from_dict(a) for a in message.attachments]  # type: ignore[arg-type]
    except (KeyError, TypeError) as exc:
        raise UserError(f"{where}: a field is missing or of the wrong kind ({exc}).") from None
    if not all(isinstance(m.content, str) and isinstance(m.role, str) for m in messages):
        raise UserError(f"{where}: a message's role or text is not text.")
    return conversation, messages


def import_conversation(history: History, text: str, where: str) -> Conversation:
    """The exported conversation as a new one in this history (new ids, everything else as it was)."""
    conversation, messages = _parsed(text, where)
    return history.add_conversation(conversation, messages)
