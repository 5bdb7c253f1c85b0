"""Gathering a message's attachments before it is sent: read, counted, and refused when the
message with them cannot fit the model's context, all before anything is saved or sent (the
TUI's worker and `ask` both call this). The message's text is never changed here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from mixtral_tui.chat.attached_text import file_block
from mixtral_tui.chat.context_window import reply_reserve
from mixtral_tui.chat.file_reading import DEFAULT_LIMITS, AttachError, FolderLimits, decode, read_path
from mixtral_tui.engine.base import Engine, Turn
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.vocabulary import AttachmentKind, Role

BYTES_A_TOKEN_AT_MOST = 32
"""A file larger than the context times this cannot fit, whatever it holds: refused unread."""


def read_named(named: Sequence[tuple[str, Path]], context_size: int,
               limits: FolderLimits = DEFAULT_LIMITS) -> list[Attachment]:
    """The files and directories named, in order (a file named twice, once)."""
    found: list[Attachment] = []
    for shown, path in named:
        found += read_path(path, shown, max(context_size, 1) * BYTES_A_TOKEN_AT_MOST, limits)
    return unique(found)


def unique(attachments: Sequence[Attachment]) -> list[Attachment]:
    """Each file once (named twice, or by itself and in its directory): the one read last stays,
    in the place it came, so a file named again is sent as it is now."""
    kept: dict[tuple[str, str], Attachment] = {}
    for a in attachments:
        kept.pop((a.kind, a.source or a.name), None)
        kept[(a.kind, a.source or a.name)] = a
    return list(kept.values())


def from_stdin(data: bytes) -> Attachment:
    return Attachment("stdin", decode(data, "standard input"), AttachmentKind.STDIN)


def with_tokens(engine: Engine, attachments: Sequence[Attachment]) -> list[Attachment]:
    """Each file with the tokens its block takes in the prompt (this engine's count)."""
    empty = engine.count_tokens([Turn(Role.USER, "")])
    return [a if a.kind == AttachmentKind.FOLDER else
            replace(a, tokens=max(1, engine.count_tokens([Turn(Role.USER, file_block(a))]) - empty))
            for a in attachments]


SEPARATOR_TOKENS = 2
"""What the blank line between the text and each file adds, at most."""


def check_fits(engine: Engine, text: str, system_prompt: str, attachments: Sequence[Attachment],
               context_size: int, max_tokens: int) -> int:
    """The tokens the message with its files takes (with the system prompt): the text counted,
    plus each file's own count (with_tokens), so a megabyte is not tokenized twice; AttachError
    when it cannot fit the context even alone, naming what it needs and what to do."""
    turns = ([Turn(Role.SYSTEM, system_prompt)] if system_prompt.strip() else []) + [Turn(Role.USER, text)]
    files = [a for a in attachments if a.kind != AttachmentKind.FOLDER]
    needed = engine.count_tokens(turns, exact=True) + sum(a.tokens + SEPARATOR_TOKENS for a in files)
    room = context_size - reply_reserve(context_size, max_tokens)
    if needed > room:
        biggest = max(files, key=lambda a: a.tokens, default=None)
        which = f" (the largest, {biggest.name}, takes {biggest.tokens:,})" if biggest is not None and biggest.tokens else ""
        raise AttachError(
            f"the message with its {len(files)} file(s) needs {needed:,} tokens{which}, and the context holds "
            f"{context_size:,} with {context_size - room:,} kept for the reply; attach fewer files or a part of one, "
            "or start with a larger --ctx (a multiple of 256)")
    return needed
