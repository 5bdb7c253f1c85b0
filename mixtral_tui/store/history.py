"""Conversations and messages, stored in SQLite.

WAL mode lets a second running instance read and write the same file; each
thread gets its own connection so the generation worker can checkpoint a
streaming reply without touching the UI thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mixtral_tui.errors import StoreError
from mixtral_tui.store import attachments
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.store.liveness import is_alive, status_as_read
from mixtral_tui.store.migrations import migrate
from mixtral_tui.store.search import SearchHit, search
from mixtral_tui.vocabulary import Status

Result = TypeVar("Result")
MEMORY = ":memory:"
PLACEHOLDER_TITLE = "New chat"


@dataclass
class Conversation:
    id: int
    title: str
    created_at: float
    updated_at: float
    message_count: int = 0
    system_prompt: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    title_given: bool = True  # False: still the placeholder, which the first message replaces
    forked_from: int | None = None  # the conversation this one is a fork of (it may be deleted since)
    draft: str = ""  # the message box's unsent text


@dataclass
class Message:
    id: int
    conversation_id: int
    role: str  # a Role
    content: str
    created_at: float
    status: str = Status.DONE  # as read: 'streaming' only while it is being written (store/liveness.py)
    model: str | None = None
    quant: str | None = None
    sampling: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    model_file: str | None = None
    server: str | None = None  # the server that wrote it (a model elsewhere); None: a local model
    thinking: str = ""  # a reasoning model's thinking before its answer (never sent back to it)
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # a reply's calls: id, name, arguments
    tool_call_id: str = ""  # a `tool` message: the call it answers
    attachments: list[Attachment] = field(default_factory=list)  # files a user message carried, as sent


def _row_id(cursor: sqlite3.Cursor) -> int:
    """The id of the row an INSERT just made (sqlite3 types it as optional: None only when no row was)."""
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _loads(text: str | None) -> dict[str, Any]:
    return json.loads(text) if text else {}


def _dumps(value: dict[str, Any] | None) -> str | None:
    return json.dumps(value, sort_keys=True) if value else None


def _calls(calls: list[dict[str, Any]] | None) -> str | None:
    return json.dumps(calls, ensure_ascii=False) if calls else None


_INSERT_MESSAGE = (
    "INSERT INTO messages (conversation_id, role, content, created_at, status, model, quant,"
    " sampling_json, stats_json, model_file, checkpoint_at, writer_pid, server, thinking, tool_calls_json, tool_call_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""A message's row: a new one (add_message) or a copy (fork)."""


def _copy_messages(db: sqlite3.Connection, conversation_id: int, messages: list[Message]) -> int:
    """Copies of these messages into a conversation (a fork's, an import's), as they were but for
    their ids and the checkpoint marks of a reply being written, their attachments linked to the
    same texts; returns the conversation's id."""
    for m in messages:
        copied = db.execute(
            _INSERT_MESSAGE,
            (conversation_id, m.role, m.content, m.created_at, m.status, m.model, m.quant, _dumps(m.sampling),
             _dumps(m.stats), m.model_file, None, None, m.server, m.thinking, _calls(m.tool_calls), m.tool_call_id),
        )
        if m.attachments:
            attachments.save(db, _row_id(copied), m.attachments)
    return conversation_id


class History:
    """All reads and writes of the history database."""

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._shared_memory_db: sqlite3.Connection | None = None
        if self.path == MEMORY:
            self._shared_memory_db = self._open()
        else:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._guard(lambda: migrate(self._db))

    # -- connections -------------------------------------------------------
    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("PRAGMA foreign_keys = ON")
        if self.path != MEMORY:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = NORMAL")
        return db

    @property
    def _db(self) -> sqlite3.Connection:
        if self._shared_memory_db is not None:
            return self._shared_memory_db
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._open()
            self._local.db = db
        return db

    def _guard(self, action: Callable[[], Result]) -> Result:
        """Run a database action; turn SQLite failures into a StoreError that says what to do."""
        try:
            return action()
        except sqlite3.DatabaseError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                hint = "another program holds a long write lock on it; try again in a moment"
            elif "not a database" in text or "malformed" in text:
                hint = "the file is damaged: move it aside and restart to begin a new history"
            else:
                hint = "check the file's permissions and free disk space"
            raise StoreError(f"history database {self.path}: {text} ({hint}).") from None
        except OSError as exc:
            raise StoreError(f"history database {self.path}: {exc}.") from None

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        return self._guard(lambda: self._db.execute(sql, params))

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # -- conversations -----------------------------------------------------
    def _conversation(self, row: sqlite3.Row) -> Conversation:
        return Conversation(
            id=row["id"],
            title=row["title"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            message_count=row["message_count"],
            system_prompt=row["system_prompt"],
            sampling=_loads(row["sampling_json"]),
            title_given=bool(row["title_given"]),
            forked_from=row["forked_from"],
            draft=row["draft"],
        )

    _CONVERSATION_SQL = """
        SELECT c.*, (SELECT COUNT(*) FROM messages m WHERE m.conversation_id = c.id) AS message_count
        FROM conversations c
    """

    def conversations(self) -> list[Conversation]:
        """All conversations, most recently updated first."""
        rows = self._guard(
            lambda: self._db.execute(self._CONVERSATION_SQL + " ORDER BY c.updated_at DESC, c.id DESC").fetchall()
        )
        return [self._conversation(r) for r in rows]

    def conversation(self, conversation_id: int) -> Conversation | None:
        row = self._guard(
            lambda: self._db.execute(self._CONVERSATION_SQL + " WHERE c.id = ?", (conversation_id,)).fetchone()
        )
        return self._conversation(row) if row else None

    def create_conversation(self, title: str | None = None) -> Conversation:
        """A new conversation: with the title given, or the placeholder its first message replaces."""
        now = time.time()
        shown = title if title is not None else PLACEHOLDER_TITLE
        cursor = self._write(
            "INSERT INTO conversations (title, created_at, updated_at, title_given) VALUES (?, ?, ?, ?)",
            (shown, now, now, title is not None),
        )
        return Conversation(_row_id(cursor), shown, now, now, title_given=title is not None)

    def fork(self, conversation_id: int, title: str, messages: list[Message]) -> Conversation:
        """A new conversation holding copies of these messages (of conversation_id, whose system
        prompt and sampling it takes too), in one transaction: to go another way from a point
        while the original stays as it is."""
        now = time.time()

        def copy() -> int:
            with self._transaction() as db:
                made = db.execute(
                    "INSERT INTO conversations (title, created_at, updated_at, system_prompt, sampling_json, forked_from)"
                    " SELECT ?, ?, ?, system_prompt, sampling_json, id FROM conversations WHERE id = ?",
                    (title, now, now, conversation_id),
                )
                return _copy_messages(db, _row_id(made), messages)

        forked = self.conversation(self._guard(copy))
        assert forked is not None, "made in the transaction above"
        return forked

    def add_conversation(self, conversation: Conversation, messages: list[Message]) -> Conversation:
        """A copy of a conversation and its messages as they were (an import): every field kept,
        the ids new, in one transaction."""

        def copy() -> int:
            with self._transaction() as db:
                made = db.execute(
                    "INSERT INTO conversations (title, created_at, updated_at, system_prompt, sampling_json, title_given,"
                    " forked_from, draft) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (conversation.title, conversation.created_at, conversation.updated_at, conversation.system_prompt,
                     _dumps(conversation.sampling), conversation.title_given, conversation.forked_from,
                     conversation.draft),
                )
                return _copy_messages(db, _row_id(made), messages)

        added = self.conversation(self._guard(copy))
        assert added is not None, "made in the transaction above"
        return added

    def rename_conversation(self, conversation_id: int, title: str) -> None:
        """A title given (by the user, or from the first message): no later message replaces it."""
        self._write("UPDATE conversations SET title = ?, title_given = 1 WHERE id = ?", (title, conversation_id))

    def save_draft(self, conversation_id: int, draft: str, files: list[Attachment] | None = None) -> bool:
        """The message box's unsent text (and the files waiting to go with it), kept with its
        conversation (not a change: no new time). False: no such conversation (deleted meanwhile)."""
        return self._write("UPDATE conversations SET draft = ?, draft_files_json = ? WHERE id = ?",
                           (draft, attachments.as_json(files or []), conversation_id)).rowcount > 0

    def draft_files(self, conversation_id: int) -> list[Attachment]:
        row = self._guard(lambda: self._db.execute("SELECT draft_files_json FROM conversations WHERE id = ?",
                                                   (conversation_id,)).fetchone())
        return attachments.from_json(row[0]) if row else []

    def delete_conversation(self, conversation_id: int) -> None:
        """The conversation, its messages and the attached texts no other message carries."""

        def delete() -> None:
            with self._transaction() as db:
                db.execute("DELETE FROM conversations WHERE id = ?", (conversation_id,))
                attachments.forget_unused(db)

        self._guard(delete)

    def set_overrides(
        self, conversation_id: int, system_prompt: str | None, sampling: dict[str, Any] | None
    ) -> None:
        """Per-conversation system prompt and sampling; None falls back to the config."""
        self._write(
            "UPDATE conversations SET system_prompt = ?, sampling_json = ? WHERE id = ?",
            (system_prompt, _dumps(sampling), conversation_id),
        )

    # -- messages ----------------------------------------------------------
    def messages(self, conversation_id: int) -> list[Message]:
        rows = self._guard(
            lambda: self._db.execute(
                "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conversation_id,)
            ).fetchall()
        )
        attached = self._guard(lambda: attachments.load(self._db, conversation_id))
        return [
            Message(
                id=r["id"],
                conversation_id=r["conversation_id"],
                role=r["role"],
                content=r["content"],
                created_at=r["created_at"],
                status=status_as_read(r["status"], r["checkpoint_at"], r["writer_pid"]),
                model=r["model"],
                quant=r["quant"],
                sampling=_loads(r["sampling_json"]),
                stats=_loads(r["stats_json"]),
                model_file=r["model_file"],
                server=r["server"],
                thinking=r["thinking"],
                tool_calls=json.loads(r["tool_calls_json"]) if r["tool_calls_json"] else [],
                tool_call_id=r["tool_call_id"],
                attachments=attached.get(r["id"], []),
            )
            for r in rows
        ]

    def add_message(
        self,
        conversation_id: int,
        role: str,
        content: str,
        *,
        status: str = Status.DONE,
        model: str | None = None,
        quant: str | None = None,
        sampling: dict[str, Any] | None = None,
        stats: dict[str, Any] | None = None,
        model_file: str | None = None,
        server: str | None = None,
        tool_call_id: str = "",
        attached: list[Attachment] | None = None,
    ) -> Message:
        now = time.time()
        writing = status == Status.STREAMING  # its checkpoints say it is alive (store/liveness.py)

        def insert() -> int:
            with self._transaction() as db:
                cursor = db.execute(
                    _INSERT_MESSAGE,
                    (conversation_id, role, content, now, status, model, quant, _dumps(sampling), _dumps(stats),
                     model_file, now if writing else None, os.getpid() if writing else None, server, "", None,
                     tool_call_id),
                )
                if attached:
                    attachments.save(db, _row_id(cursor), attached)
                db.execute("UPDATE conversations SET updated_at = ? WHERE id = ?", (now, conversation_id))
                return _row_id(cursor)

        message_id = self._guard(insert)
        return Message(
            message_id, conversation_id, role, content, now, status, model, quant, sampling or {}, stats or {}, model_file,
            server, tool_call_id=tool_call_id, attachments=list(attached or []),
        )

    def update_message(
        self, message_id: int, content: str, status: str, stats: dict[str, Any] | None = None,
        thinking: str | None = None, tool_calls: list[dict[str, Any]] | None = None,
    ) -> None:
        """Checkpoint or finish a reply: one small write (the thinking and its calls too, when it has some)."""
        self._write(
            "UPDATE messages SET content = ?, status = ?, stats_json = COALESCE(?, stats_json), checkpoint_at = ?,"
            " thinking = COALESCE(?, thinking), tool_calls_json = COALESCE(?, tool_calls_json) WHERE id = ?",
            (content, status, _dumps(stats), time.time(), thinking, _calls(tool_calls), message_id),
        )

    def touch(self, message_id: int) -> None:
        """A reply being written is alive though no token came (the model reads a long prompt)."""
        self._write(
            "UPDATE messages SET checkpoint_at = ? WHERE id = ? AND status = ?", (time.time(), message_id, Status.STREAMING)
        )

    def set_status(self, message_id: int, status: str) -> None:
        """A message's status alone (what Ctrl+R or an edit replaces is kept, as "replaced")."""
        self._write("UPDATE messages SET status = ? WHERE id = ?", (status, message_id))

    def search(self, text: str, limit: int = 100, conversation_id: int | None = None) -> list[SearchHit]:
        """Messages (and titles) holding every word of `text`, in one conversation if given; see store/search.py."""
        return self._guard(lambda: search(self._db, text, limit, conversation_id))

    def mark_interrupted(self) -> int:
        """Replies left 'streaming' by a process that ended become 'interrupted' (their text is
        kept); one another running app is writing is left alone."""
        def mark() -> int:
            with self._transaction() as db:
                rows = db.execute(
                    "SELECT id, checkpoint_at, writer_pid FROM messages WHERE status = ?", (Status.STREAMING,)
                ).fetchall()
                dead = [(Status.INTERRUPTED, r["id"]) for r in rows if not is_alive(r["checkpoint_at"], r["writer_pid"])]
                db.executemany("UPDATE messages SET status = ? WHERE id = ?", dead)
                return len(dead)

        return self._guard(mark)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
