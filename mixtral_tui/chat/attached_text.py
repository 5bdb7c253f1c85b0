"""What the model sees of a message's attachments, and the one line each shows to the user.

The user's own text comes first, as typed; then each file under its path, in a fenced block
whose fence is longer than any run of backticks inside it (the file cannot end the block early).
A directory's note is not sent: its files are, each under its path inside the directory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from mixtral_tui.chat.file_reading import size_words
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.text_safety import counted
from mixtral_tui.vocabulary import AttachmentKind

LANGUAGES = {".py": "python", ".js": "javascript", ".ts": "typescript", ".rs": "rust", ".go": "go", ".c": "c",
             ".h": "c", ".cpp": "cpp", ".java": "java", ".sh": "bash", ".toml": "toml", ".json": "json",
             ".yaml": "yaml", ".yml": "yaml", ".md": "markdown", ".html": "html", ".css": "css", ".sql": "sql"}


def fence_for(text: str) -> str:
    """A backtick fence longer than the longest backtick run in `text` (at least 4)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(4, longest + 1)


def file_block(attachment: Attachment) -> str:
    """One file as the model reads it: its path, then its text fenced."""
    fence = fence_for(attachment.text)
    dot = attachment.name.rfind(".")
    language = LANGUAGES.get(attachment.name[dot:].lower(), "") if dot > attachment.name.rfind("/") else ""
    body = attachment.text[:-1] if attachment.text.endswith("\n") else attachment.text
    return f"{attachment.name}:\n{fence}{language}\n{body}\n{fence}"


def with_attachments(text: str, attachments: Sequence[Attachment]) -> str:
    """The turn's content: the user's words, then each attached file."""
    blocks = [file_block(a) for a in attachments if a.kind != AttachmentKind.FOLDER]
    if not blocks:
        return text
    return "\n\n".join(([text] if text else []) + blocks)


def summary(attachment: Attachment) -> str:
    """`notes.txt · 2 lines · 74 B · 19 tok`; a directory: what it gave and skipped."""
    if attachment.kind == AttachmentKind.FOLDER:
        skipped = f" · {len(attachment.skipped):,} skipped" if attachment.skipped else ""
        return f"{attachment.name}/{skipped}{' · limit reached' if attachment.limit else ''}"
    tokens = f" · {attachment.tokens:,} tok" if attachment.tokens else ""
    return f"{attachment.name} · {counted(attachment.lines, 'line')} · {size_words(attachment.size)}{tokens}"


def folder_report(note: Attachment, files: Sequence[Attachment]) -> list[str]:
    """A directory's lines: what went in, what was skipped and why (the TUI unfolds it; `ask`
    prints it to stderr)."""
    given = [f for f in files if f.folder == note.name]
    lines = [f"{note.name}/: {counted(len(given), 'file')}, {size_words(sum(f.size for f in given))}"]
    lines += [f"  + {f.name}" for f in given]
    lines += [f"  - {path}: {why}" for path, why in note.skipped]
    if note.limit:
        lines.append(f"  {note.limit}")
    return lines


def shown_lines(attachments: Sequence[Attachment], since: dict[str, str] | None = None) -> list[str]:
    """A message's attachments, a line each: a file named on its own, or a directory with what it
    gave (`since`: what became of a file on disk since, by its name)."""
    lines = []
    for a in attachments:
        if a.kind == AttachmentKind.FOLDER:
            given = [f for f in attachments if f.folder == a.name and f.kind != AttachmentKind.FOLDER]
            tokens = sum(f.tokens for f in given)
            parts = [f"{a.name}/", counted(len(given), "file"), size_words(sum(f.size for f in given))]
            parts += [f"{tokens:,} tok"] if tokens else []
            parts += [f"{len(a.skipped):,} skipped"] if a.skipped else []
            parts += ["limit reached"] if a.limit else []
            changed = sum(1 for f in given if (since or {}).get(f.name))
            parts += [f"{changed:,} changed on disk since"] if changed else []
            lines.append(" · ".join(parts))
        elif not a.folder:
            note = (since or {}).get(a.name, "")
            lines.append(summary(a) + (f" · {note}" if note else ""))
    return lines
