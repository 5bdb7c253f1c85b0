"""The words every layer shares: who wrote a message, what state it is in, why a reply ended.

They are `StrEnum`s: stored in SQLite and sent between processes as the plain strings they equal
(`Status.DONE == "done"`), so the database and the engine's child process need no translation,
while the code names each state once and a type checker sees a misspelling.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who a message is from. Notices are the app's own notes in a conversation (a context that
    no longer holds every turn): shown to people, never sent to the model."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    NOTICE = "notice"
    TOOL = "tool"  # one tool call's result, as the model was sent it


CONTEXT_ROLES = (Role.USER, Role.ASSISTANT, Role.TOOL)
"""The roles of the turns the model goes on from (with the system prompt, which is a setting)."""


class Status(StrEnum):
    """A message's state in the history."""

    DONE = "done"
    STREAMING = "streaming"  # being written: alive while its checkpoint is fresh (see store.history)
    STOPPED = "stopped"  # by the user (Esc), its text so far kept
    INTERRUPTED = "interrupted"  # the app that wrote it ended (or was killed) before it finished
    ERROR = "error"
    REPLACED = "replaced"  # written again or edited: kept and shown, never sent to the model


WARNING_STATUSES = frozenset({Status.STOPPED, Status.INTERRUPTED, Status.ERROR})
"""The states a reader should notice: the reply is not what the model would have written in full."""


class FinishReason(StrEnum):
    """Why the engine stopped writing a reply."""

    STOP = "stop"  # the model ended it
    LENGTH = "length"  # max_tokens reached
    CONTEXT = "context"  # the context was full
    CANCELLED = "cancelled"  # the user stopped it
    TOOL_CALLS = "tool_calls"  # it ends in calls of tools: their results go back to the model
    ERROR = "error"


class AttachmentKind(StrEnum):
    """Where an attached text came from (store/attachments.py)."""

    FILE = "file"  # a file named with @path or -f, or one of a directory's
    STDIN = "stdin"  # `ask -f -`
    PASTE = "paste"  # a paste too long for the message box
    FOLDER = "folder"  # not a text: a directory's note of what it gave and skipped
