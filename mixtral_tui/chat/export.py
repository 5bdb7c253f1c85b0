"""Markdown export of a conversation: a document people read, in any Markdown viewer.

Each message is written as the Markdown it is, under a heading of its own, so lists, code and
tables render as they did in the app. Only a message that would break the document's structure
is fenced: one with a heading of the export's own levels (# or ##) or a code fence left open,
which would swallow the messages after it. Text is never changed, only placed. For an exact,
machine-readable copy, `export --format json` (chat/export_json.py).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from mixtral_tui.chat.attached_text import fence_for, summary
from mixtral_tui.store.history import Conversation, History, Message
from mixtral_tui.vocabulary import AttachmentKind, Role, Status

ROLE_HEADINGS: dict[str, str] = {Role.SYSTEM: "System", Role.USER: "User", Role.ASSISTANT: "Assistant", Role.NOTICE: "Note",
                                 Role.TOOL: "Tool result"}
LONG_RESULT_LINES = 20
"""A tool's result longer than this is folded in the export (`<details>`), its call in sight."""


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def describe_sampling(sampling: dict) -> str:
    order = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed")
    return ", ".join(f"{key} {sampling[key]}" for key in order if key in sampling)


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_OWN_HEADING = re.compile(r"^ {0,3}#{1,2}(\s|$)")


def breaks_structure(text: str) -> bool:
    """Whether the text, written as it is, would change the export's outline: a `#` or `##`
    heading outside code (it would read as a message of its own), or a code fence never closed
    (everything after it would become code)."""
    open_fence: str | None = None
    for line in text.splitlines():
        fence = _FENCE_LINE.match(line)
        if open_fence is None:
            if fence:
                open_fence = fence.group(1)
            elif _OWN_HEADING.match(line):
                return True
        elif fence and fence.group(1)[0] == open_fence[0] and len(fence.group(1)) >= len(open_fence) \
                and not line.strip()[len(fence.group(1)):].strip():
            open_fence = None
    return open_fence is not None


def message_body(text: str) -> str:
    """The message as Markdown, or fenced as written where it would break the document."""
    if not breaks_structure(text):
        return text.rstrip("\n")
    fence = fence_for(text)
    return f"{fence}markdown\n{text}\n{fence}"


def _message_section(message: Message) -> str:
    heading = ROLE_HEADINGS.get(message.role, message.role.title())
    notes = [_when(message.created_at)]
    if message.status != Status.DONE:
        notes.append(message.status)
    if message.model:
        notes.append(f"{message.model} on {message.server}" if message.server else message.model)
    stats = message.stats
    if message.role == Role.TOOL:
        notes[:0] = [str(stats.get("tool", "?")), f"{float(stats.get('seconds', 0)):.1f} s", str(stats.get("outcome", ""))]
        return f"## {heading} · {' · '.join(n for n in notes if n)}\n\n{result_block(message.content)}\n"
    if stats.get("completion_tokens"):
        notes.append(f"{stats['completion_tokens']} tokens at {stats.get('decode_tps', 0):.1f} tok/s")
    body = message_body(message.content) if message.content else ""
    return (f"## {heading} · {' · '.join(notes)}\n\n{thinking_block(message)}{body}{calls_block(message)}"
            f"{attachments_block(message)}\n")


def attachments_block(message: Message) -> str:
    """The files a message carried, as sent: a titled fenced block each, folded when long; a
    directory's note lists what it skipped."""
    blocks = []
    for a in message.attachments:
        if a.kind == AttachmentKind.FOLDER:
            if a.skipped or a.limit:
                skipped = "\n".join(f"- `{path}`: {why}" for path, why in a.skipped)
                blocks.append(f"**Directory `{a.name}/`** skipped:\n\n{skipped}" + (f"\n\n{a.limit}" if a.limit else ""))
            continue
        fence = fence_for(a.text)
        block = f"{fence}text\n{a.text.rstrip(chr(10))}\n{fence}"
        title = f"**Attached `{a.name}`** · {summary(a).split(' · ', 1)[1]}"
        if a.lines > LONG_RESULT_LINES:
            block = f"<details><summary>{a.lines:,} lines</summary>\n\n{block}\n\n</details>"
        blocks.append(f"{title}\n\n{block}")
    return ("\n\n" if blocks and (message.content or message.tool_calls) else "") + "\n\n".join(blocks)


def calls_block(message: Message) -> str:
    """The calls a reply made, each with its arguments as indented JSON."""
    blocks = []
    for call in message.tool_calls:
        try:
            shown = json.dumps(json.loads(call.get("arguments") or "{}"), indent=2, ensure_ascii=False)
        except ValueError:
            shown = str(call.get("arguments", ""))
        fence = fence_for(shown)
        blocks.append(f"**Called `{call.get('name', '?')}`** (call {call.get('id', '')})\n\n{fence}json\n{shown}\n{fence}")
    return ("\n\n" if message.content and blocks else "") + "\n\n".join(blocks)


def result_block(text: str) -> str:
    """A tool's result as written (fenced: it is data, not Markdown), folded when long."""
    fence = fence_for(text)
    block = f"{fence}text\n{text}\n{fence}"
    lines = text.count("\n") + 1
    if lines <= LONG_RESULT_LINES:
        return block
    return f"<details><summary>{lines:,} lines</summary>\n\n{block}\n\n</details>"


def thinking_block(message: Message) -> str:
    """A reasoning model's thinking, before its answer, as a quote marked "Thinking" (a quote
    holds whatever is in it, headings and open fences too, so nothing of it is changed)."""
    if not message.thinking.strip():
        return ""
    stats = message.stats or {}
    seconds, tokens = float(stats.get("thinking_seconds", 0.0)), int(stats.get("thinking_tokens", 0))
    took = " · ".join(part for part in (f"{seconds:.0f} s" if seconds >= 1 else "", f"{tokens:,} tokens" if tokens else "")
                      if part)
    quoted = "\n".join(f"> {line}" if line else ">" for line in message.thinking.strip("\n").splitlines())
    return f"> **Thinking**{f' ({took})' if took else ''}\n>\n{quoted}\n\n"


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
    if conversation.forked_from is not None:
        lines.append(f"- Forked from conversation {conversation.forked_from}")
    header = "\n".join(lines) + "\n"
    sections = [_message_section(m) for m in messages]
    if conversation.system_prompt:
        sections.insert(0, f"## System prompt (this conversation's)\n\n{message_body(conversation.system_prompt)}\n")
    return header + "\n" + "\n".join(sections)


FORMATS = ("markdown", "json")


def safe_filename(conversation: Conversation, fmt: str = "markdown") -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", conversation.title).strip("-").lower()[:60] or "conversation"
    return f"{conversation.id:04d}-{slug}.{'json' if fmt == 'json' else 'md'}"


def _rendered(conversation: Conversation, messages: list[Message], fmt: str) -> str:
    if fmt == "json":
        from mixtral_tui.chat.export_json import conversation_json

        return conversation_json(conversation, messages)
    return conversation_markdown(conversation, messages)


def export_conversation(history: History, conversation_id: int, fmt: str = "markdown") -> str:
    from mixtral_tui.errors import UserError

    conversation = history.conversation(conversation_id)
    if conversation is None:
        raise UserError(f"no conversation with id {conversation_id}; `mixtral-tui list` shows the ids.")
    return _rendered(conversation, history.messages(conversation_id), fmt)


def export_all(history: History, folder: Path, fmt: str = "markdown") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for conversation in history.conversations():
        path = folder / safe_filename(conversation, fmt)
        path.write_text(_rendered(conversation, history.messages(conversation.id), fmt), encoding="utf-8")
        written.append(path)
    return written
