"""The conversation's rules, one place for the TUI and the command line: which turns the model
sees, what an edit, a reply written again or a fork takes, and the settings a reply is written with.

Pure functions of stored messages and settings: no Textual, no engine, no database.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from mixtral_tui.chat.attached_text import with_attachments
from mixtral_tui.config import Config, Sampling
from mixtral_tui.engine.base import ToolCall, Turn
from mixtral_tui.store.history import PLACEHOLDER_TITLE, Conversation, Message
from mixtral_tui.vocabulary import CONTEXT_ROLES, Role, Status

TITLE_CHARS = 1000  # a whole first line; a pasted line of a megabyte is not a title
"""A title made from the first message is cut at this many characters (the list shows about that)."""


def in_context(message: Message) -> bool:
    """A turn of the conversation the model goes on from: user and assistant messages (notices are
    for people, and replaced messages are the user's to read)."""
    return message.role in CONTEXT_ROLES and message.status != Status.REPLACED


def turns_in_context(messages: list[Message]) -> list[Message]:
    return [m for m in messages if in_context(m)]


def turns_for(messages: list[Message], system_prompt: str, with_tools: bool = True) -> list[Turn]:
    """What the model sees: the system prompt, then the turns in context that have text, a reply's
    calls and their results among them (a call left without a result is not sent: servers refuse
    one). `with_tools` False, for a model that takes no tools (a conversation that used them on a
    server, continued here): calls and results are told as text, in turns that still alternate."""
    turns = [Turn(Role.SYSTEM, system_prompt)] if system_prompt.strip() else []
    said = turns_in_context(messages)
    answered = {m.tool_call_id for m in said if m.role == Role.TOOL}
    calls_of = {}
    for m in said:
        calls = tuple(ToolCall(c["id"], c["name"], c["arguments"]) for c in m.tool_calls if c.get("id") in answered)
        calls_of.update({c.id: c for c in calls})
        if m.role == Role.TOOL:
            if m.tool_call_id not in calls_of:
                continue  # its call is not in sight
            if with_tools:
                turns.append(Turn(Role.TOOL, m.content, tool_call_id=m.tool_call_id))
            else:
                told = f"[the result of {calls_of[m.tool_call_id].name}]\n{m.content}"
                if turns and turns[-1].role == Role.USER and turns[-1].content.startswith("[the result of "):
                    turns[-1] = Turn(Role.USER, f"{turns[-1].content}\n\n{told}")
                else:
                    turns.append(Turn(Role.USER, told))
        elif calls and with_tools:
            turns.append(Turn(m.role, m.content, tool_calls=calls))
        elif calls:
            asked = "\n".join(f"[called {c.name} with {c.arguments}]" for c in calls)
            turns.append(Turn(m.role, f"{m.content}\n{asked}".strip()))
        elif m.content or m.attachments:  # a message's files are sent after its text, as they were sent
            turns.append(Turn(m.role, with_attachments(m.content, m.attachments)))
    return turns


def title_from(prompt: str) -> str:
    """The first line with words on it, whole (its spacing made single): every place that draws a
    title shortens it to fit there, so a wider terminal or an export shows more of it."""
    line = next((" ".join(line.split()) for line in prompt.splitlines() if line.strip()), "")
    return line[:TITLE_CHARS] or PLACEHOLDER_TITLE


def system_prompt_for(conversation: Conversation, config: Config) -> str:
    """The conversation's own system prompt (F4), else the configured one."""
    return conversation.system_prompt if conversation.system_prompt is not None else config.chat.system_prompt


def sampling_for(conversation: Conversation, config: Config) -> Sampling:
    """The configured sampling with the conversation's overrides (F4) on top."""
    return config.sampling.merged(conversation.sampling)


def with_new_seed(sampling: Sampling) -> Sampling:
    """For a reply written again: a fixed seed would draw the same reply."""
    return replace(sampling, seed=-1)


def place_of(messages: list[Message], message_id: int) -> tuple[list[Message], int | None]:
    """The turns in context and this message's place among them (None: it is not one of them any
    more, replaced by an edit or a reply written again since it was picked)."""
    said = turns_in_context(messages)
    return said, next((i for i, m in enumerate(said) if m.id == message_id), None)


def replaced_from(messages: list[Message], message_id: int) -> list[Message]:
    """What goes out of the model's sight when the conversation goes on from before this message
    (an edit sent in its place, a reply written again): it and every turn in context after it."""
    return [m for m in messages if m.id >= message_id and in_context(m)]


def last_own_message(messages: list[Message]) -> Message | None:
    """The last message the user sent that the model still sees (↑ edits it)."""
    return next((m for m in reversed(messages) if m.role == Role.USER and in_context(m)), None)


class NothingToAnswer(Exception):
    """A reply asked for where the conversation has no message of the user's yet."""


class NotInContext(Exception):
    """The message picked is no longer a turn in context (something replaced it since)."""


@dataclass(frozen=True)
class WriteAgain:
    """Writing the conversation again from a reply: what it replaces (possibly nothing: a message
    of the user's left without a reply just gets one)."""

    replaced_from: int | None  # the first message replaced, with every turn in context after it


def write_again(messages: list[Message], from_id: int | None) -> WriteAgain:
    """From the reply `from_id` (from a message of the user's: the reply to it), or with None the
    last reply, or the reply the last message never got (it failed, or the app was closed)."""
    said = turns_in_context(messages)
    if from_id is None:
        if not any(m.role == Role.USER for m in said):
            raise NothingToAnswer
        place = len(said) - 1
    else:
        said, found = place_of(messages, from_id)
        if found is None:
            raise NotInContext
        place = found
    # A reply is everything after the user's message it answers: its rounds of calls and results too.
    users = [i for i in range(place + 1) if said[i].role == Role.USER]
    index = users[-1] + 1 if users else place
    return WriteAgain(said[index].id if index < len(said) else None)


@dataclass(frozen=True)
class Fork:
    """A new conversation of the turns up to a message, to go another way from there."""

    title: str
    messages: list[Message]
    ends_with_reply: bool


def fork_at(title: str, messages: list[Message], message_id: int) -> Fork:
    said, index = place_of(messages, message_id)
    if index is None:
        raise NotInContext
    kept = said[: index + 1]
    return Fork(title, kept, kept[-1].role == Role.ASSISTANT)


@dataclass(frozen=True)
class Edit:
    """A message of the user's, back in the box: sent, it takes the place of it and what followed."""

    message: Message
    turns_after: int  # the turns in context after it, which the edit replaces too


class NotYours(Exception):
    """Only the user's own messages can be edited."""


def edit_of(messages: list[Message], message_id: int) -> Edit:
    said, index = place_of(messages, message_id)
    if index is None:
        raise NotInContext
    if said[index].role != Role.USER:
        raise NotYours
    return Edit(said[index], len(said) - index - 1)
