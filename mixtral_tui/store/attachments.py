"""Files attached to a message, kept exactly as they were sent.

Each distinct text is stored once, by its sha256 (as llm stores fragments), and each message
links to the texts it carried, in order, with the name it was sent under and what it was on disk
then (its path and modification time), so a conversation continued, written again or forked later
sends the same text though the file changed or is gone, and can say that it changed. A directory
attached leaves a row of its own (kind "folder") listing what it skipped and why.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field

from mixtral_tui.vocabulary import AttachmentKind


@dataclass(frozen=True)
class Attachment:
    """One attached text (or, kind FOLDER, the note of a directory: what it gave and skipped)."""

    name: str  # as shown and sent: a path relative to where the app started, "stdin", "pasted text"
    text: str = ""
    kind: str = AttachmentKind.FILE
    source: str = ""  # the absolute path it was read from ("" for stdin and pastes)
    folder: str = ""  # the directory it came in with ("" when named on its own)
    mtime: float | None = None  # its modification time when it was read
    tokens: int = 0  # what it took of the context when sent (the model of then counted it)
    skipped: tuple[tuple[str, str], ...] = field(default=())  # a folder's (path, why) left out
    limit: str = ""  # a folder's note when its file or byte limit was reached

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8", errors="surrogatepass")).hexdigest()

    @property
    def size(self) -> int:
        return len(self.text.encode("utf-8", errors="surrogatepass"))

    @property
    def lines(self) -> int:
        return self.text.count("\n") + (1 if self.text and not self.text.endswith("\n") else 0)


def save(db: sqlite3.Connection, message_id: int, attachments: list[Attachment]) -> None:
    """Link these to the message (inside the caller's transaction); a text already stored is not
    stored again."""
    for position, a in enumerate(attachments):
        blob_id = None
        if a.kind != AttachmentKind.FOLDER:
            digest = a.sha256
            db.execute("INSERT OR IGNORE INTO blobs (sha256, text) VALUES (?, ?)", (digest, a.text))
            blob_id = db.execute("SELECT id FROM blobs WHERE sha256 = ?", (digest,)).fetchone()[0]
        skipped = json.dumps({"skipped": [list(s) for s in a.skipped], "limit": a.limit}) if a.kind == \
            AttachmentKind.FOLDER else None
        db.execute(
            "INSERT INTO attachments (message_id, position, name, kind, source, folder, blob_id, bytes, lines, mtime,"
            " tokens, skipped_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (message_id, position, a.name, a.kind, a.source, a.folder, blob_id, a.size, a.lines, a.mtime, a.tokens,
             skipped),
        )


def load(db: sqlite3.Connection, conversation_id: int) -> dict[int, list[Attachment]]:
    """Every attachment of a conversation's messages, by message id, in the order sent."""
    rows = db.execute(
        "SELECT a.message_id, a.name, a.kind, a.source, a.folder, a.mtime, a.tokens, a.skipped_json, b.text"
        " FROM attachments a JOIN messages m ON m.id = a.message_id LEFT JOIN blobs b ON b.id = a.blob_id"
        " WHERE m.conversation_id = ? ORDER BY a.message_id, a.position",
        (conversation_id,),
    ).fetchall()
    found: dict[int, list[Attachment]] = {}
    for message_id, name, kind, source, folder, mtime, tokens, skipped_json, text in rows:
        note = json.loads(skipped_json) if skipped_json else {}
        found.setdefault(message_id, []).append(Attachment(
            name, text or "", kind, source, folder, mtime, tokens,
            tuple((str(p), str(why)) for p, why in note.get("skipped", [])), str(note.get("limit", ""))))
    return found


def as_json(attachments: list[Attachment]) -> str | None:
    return json.dumps([asdict(a) for a in attachments], ensure_ascii=False) if attachments else None


def from_dict(data: dict) -> Attachment:
    """An attachment as `asdict` wrote it (a draft's files, a JSON export): its skips as tuples again."""
    skipped = tuple((str(path), str(why)) for path, why in data.get("skipped", ()))
    return Attachment(**{**data, "skipped": skipped})


def from_json(text: str | None) -> list[Attachment]:
    """Attachments written by as_json (a draft's files)."""
    return [from_dict(a) for a in json.loads(text)] if text else []


def forget_unused(db: sqlite3.Connection) -> None:
    """Texts no message carries any more (their conversations were deleted) go too."""
    db.execute("DELETE FROM blobs WHERE id NOT IN (SELECT blob_id FROM attachments WHERE blob_id IS NOT NULL)")
