"""Markdown export of a conversation.

Message text is reproduced byte for byte: each message sits inside a fence
longer than any run of backticks it contains, so code blocks in a reply
survive the round trip.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from mixtral_tui.store.history import Conversation, History, Message
from mixtral_tui.vocabulary import Role, Status

ROLE_HEADINGS: dict[str, str] = {Role.SYSTEM: "System", Role.USER: "User", Role.ASSISTANT: "Assistant", Role.NOTICE: "Note"}


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def fence_for(text: str) -> str:
    """A backtick fence longer than the longest backtick run in `text` (at least 4)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(4, longest + 1)


def describe_sampling(sampling: dict) -> str:
    order = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed")
    return ", ".join(f"{key} {sampling[key]}" for key in order if key in sampling)


def _message_section(message: Message) -> str:
    heading = ROLE_HEADINGS.get(message.role, message.role.title())
    notes = []
    if message.status != Status.DONE:
        notes.append(message.status)
    if message.model:
        notes.append(message.model)
    stats = message.stats
    if stats.get("completion_tokens"):
        notes.append(f"{stats['completion_tokens']} tokens at {stats.get('decode_tps', 0):.1f} tok/s")
    suffix = f" _({'; '.join(notes)})_" if notes else ""
    fence = fence_for(message.content)
    return f"## {heading}{suffix}\n\n{fence}markdown\n{message.content}\n{fence}\n"


def conversation_markdown(conversation: Conversation, messages: list[Message]) -> str:
    replies = [m for m in messages if m.role == Role.ASSISTANT]
    models = sorted({f"{m.model} ({m.model_file})" if m.model_file else m.model for m in replies if m.model})
    quants = sorted({m.quant for m in replies if m.quant})
    samplings = []
    for m in replies:
        text = describe_sampling(m.sampling)
        if text and text not in samplings:
            samplings.append(text)
    lines = [
        f"# {conversation.title}",
        "",
        f"- Created: {_when(conversation.created_at)}",
        f"- Updated: {_when(conversation.updated_at)}",
        f"- Model: {', '.join(models) or 'none'}",
        f"- Quant: {', '.join(quants) or 'unknown'}",
        f"- Sampling: {' | '.join(samplings) or 'defaults'}",
    ]
    if conversation.system_prompt:
        lines.append("- System prompt: set for this conversation (see below)")
    header = "\n".join(lines) + "\n"
    body = "\n".join(_message_section(m) for m in messages)
    return header + "\n" + body


def safe_filename(conversation: Conversation) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", conversation.title).strip("-").lower()[:60] or "conversation"
    return f"{conversation.id:04d}-{slug}.md"


def export_conversation(history: History, conversation_id: int) -> str:
    from mixtral_tui.errors import UserError

    conversation = history.conversation(conversation_id)
    if conversation is None:
        raise UserError(f"no conversation with id {conversation_id}; `mixtral-tui list` shows the ids.")
    return conversation_markdown(conversation, history.messages(conversation_id))


def export_all(history: History, folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for conversation in history.conversations():
        path = folder / safe_filename(conversation)
        path.write_text(conversation_markdown(conversation, history.messages(conversation.id)), encoding="utf-8")
        written.append(path)
    return written
