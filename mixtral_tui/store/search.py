"""Finding saved messages by their words.

The user's text never reaches SQLite as a query language: each word becomes a quoted
full-text phrase (so `"`, `*`, `-`, `AND`, `NEAR(` are just words), all of them must occur,
and each matches as the start of a word too ("quest" finds "questions"). Hits carry a
snippet whose matched words are marked with two private-use characters, which the CLI and the
UI turn into their own emphasis: the text itself is data and is never read as markup.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass

from mixtral_tui.errors import StoreError
from mixtral_tui.store.liveness import status_as_read
from mixtral_tui.store.migrations import has_attachment_index, has_search_index
from mixtral_tui.vocabulary import Status

MARK_START, MARK_END = "\ue000", "\ue001"
SNIPPET_WORDS = 16
SNIPPETS = (MARK_START, MARK_END, SNIPPET_WORDS) * 2
"""The arguments of the two snippets each hit gets: of its answer, and of its thinking (shown
when the words are only there)."""
NOTICE_ROOM = 20
"""Extra index hits taken before the app's own notes are left out (they are few and alike)."""

_WORD = re.compile(r"\w", re.UNICODE)


@dataclass
class SearchHit:
    conversation_id: int
    title: str
    message_id: int | None  # None: the conversation's title matched
    role: str  # user | assistant | system | title
    created_at: float
    snippet: str  # one line; matched words between MARK_START and MARK_END
    status: str = Status.DONE  # the message's as read (a replaced reply is still found, and says so)
    model: str | None = None  # a reply's: the model that wrote it
    server: str | None = None  # ... and the server it ran on, for a model elsewhere
    in_thinking: bool = False  # the words are in the reply's thinking, not in its answer
    in_attachment: str = ""  # the words are in this file the message carried, not in its text

    def marked(self) -> tuple[str, list[tuple[int, int]]]:
        """The snippet without marks, and where the marked words are in it."""
        text, spans, start = "", [], None
        for piece in re.split(f"([{MARK_START}{MARK_END}])", self.snippet):
            if piece == MARK_START:
                start = len(text)
            elif piece == MARK_END:
                if start is not None and start < len(text):
                    spans.append((start, len(text)))
                start = None
            else:
                text += piece
        return text, spans


def _words(text: str) -> list[str]:
    """Whitespace-separated words with a letter or digit in them (FTS5 ends a string at a NUL)."""
    return [word for word in text.replace("\x00", " ").split() if _WORD.search(word)]


def match_expression(text: str) -> str | None:
    """An FTS5 query for the words in `text` (None when it has none): every word must occur, as a
    word or the start of one (as-you-type search, and one search finds "model" and "models")."""
    words = _words(text)
    if not words:
        return None
    return " ".join('"' + word.replace('"', '""') + '"*' for word in words)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _title_hits(db: sqlite3.Connection, words: list[str], limit: int) -> list[SearchHit]:
    """Conversations whose title holds every word (anywhere, any case): a renamed chat is found by its name."""
    if not words:
        return []
    clauses = " AND ".join("title LIKE ? ESCAPE '\\'" for _ in words)
    patterns = ["%" + re.sub(r"([%_\\])", r"\\\1", word) + "%" for word in words]
    rows = db.execute(
        f"SELECT id, title, updated_at FROM conversations WHERE {clauses} ORDER BY updated_at DESC LIMIT ?",
        (*patterns, limit),
    ).fetchall()
    found = re.compile("|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)), re.IGNORECASE)
    return [
        SearchHit(conversation_id, title, None, "title", updated_at,
                  found.sub(lambda m: MARK_START + m.group(0) + MARK_END, _one_line(title)))
        for conversation_id, title, updated_at in rows
    ]


def search(db: sqlite3.Connection, text: str, limit: int = 100, conversation_id: int | None = None) -> list[SearchHit]:
    """Titles that match first (newest first), then messages, best match first (bm25). Notes the
    app wrote itself are left out. With `conversation_id`: that conversation's messages only, in
    the order they were written (finding in one chat reads it from the top, as a page is searched)."""
    expression = match_expression(text)
    if expression is None:
        return []
    hits = _title_hits(db, _words(text), limit) if conversation_id is None else []
    if not has_search_index(db):
        raise StoreError(
            "searching messages needs SQLite's FTS5, which this Python's sqlite3 lacks: install a Python"
            " built with it (python.org, pyenv, Homebrew and Linux distributions' builds have it)"
        )
    if conversation_id is not None:
        rows = _rows_in_conversation(db, expression, conversation_id, limit)
    else:
        rows = _best_rows(db, expression, max(0, limit - len(hits)))
    hits += [
        SearchHit(found_in, title, message_id, role, created_at, _one_line(answer if MARK_START in answer else thought),
                  status_as_read(status, at, pid), model, server, in_thinking=MARK_START not in answer)
        for message_id, found_in, role, created_at, title, answer, thought, status, at, pid, model, server in rows
    ]
    if has_attachment_index(db) and len(hits) < limit:
        hits += [
            SearchHit(found_in, title, message_id, role, created_at, _one_line(snippet),
                      status_as_read(status, at, pid), model, server, in_attachment=name)
            for message_id, found_in, role, created_at, title, snippet, name, status, at, pid, model, server
            in _attachment_rows(db, expression, limit - len(hits), conversation_id)
        ]
    return hits


def _attachment_rows(db: sqlite3.Connection, expression: str, wanted: int, conversation_id: int | None) -> list:
    """Messages whose attached files hold the words, best match first (a text several messages
    carried: each of them)."""
    only = "AND m.conversation_id = ?" if conversation_id is not None else ""
    return db.execute(
        f"""
        SELECT m.id, m.conversation_id, m.role, m.created_at, c.title, found.snippet, a.name, m.status,
               m.checkpoint_at, m.writer_pid, m.model, m.server
        FROM (
            SELECT rowid AS id, rank, snippet(attachment_search, 0, ?, ?, '…', ?) AS snippet
            FROM attachment_search WHERE attachment_search MATCH ? ORDER BY rank LIMIT ?
        ) AS found
        JOIN attachments a ON a.blob_id = found.id
        JOIN messages m ON m.id = a.message_id
        JOIN conversations c ON c.id = m.conversation_id
        WHERE 1 {only}
        ORDER BY found.rank, m.id
        LIMIT ?
        """,
        (MARK_START, MARK_END, SNIPPET_WORDS, expression, wanted + NOTICE_ROOM,
         *((conversation_id,) if conversation_id is not None else ()), wanted),
    ).fetchall()


def _rows_in_conversation(db: sqlite3.Connection, expression: str, conversation_id: int, limit: int) -> list:
    """One conversation's matches in the order written. The index is told the conversation's range
    of message ids, which it can seek: filtering its matches by conversation alone read them all
    (50 ms for a word in half of 50,000 messages, against 1-2 ms)."""
    first, last = db.execute(
        "SELECT MIN(id), MAX(id) FROM messages WHERE conversation_id = ?", (conversation_id,)
    ).fetchone()
    return db.execute(
        """
        SELECT m.id, m.conversation_id, m.role, m.created_at, c.title, found.snippet, found.thought, m.status, m.checkpoint_at,
               m.writer_pid, m.model, m.server
        FROM (
            SELECT rowid AS id, snippet(message_search, 0, ?, ?, '…', ?) AS snippet,
                   snippet(message_search, 1, ?, ?, '…', ?) AS thought
            FROM message_search WHERE message_search MATCH ? AND rowid BETWEEN ? AND ?
        ) AS found
        CROSS JOIN messages m ON m.id = found.id  -- the index first: it seeks the id range
        JOIN conversations c ON c.id = m.conversation_id
        WHERE m.conversation_id = ? AND m.role != 'notice'
        ORDER BY m.id
        LIMIT ?
        """,
        (*SNIPPETS, expression, first or 0, last or -1, conversation_id, limit),
    ).fetchall()


def _best_rows(db: sqlite3.Connection, expression: str, wanted: int) -> list:
    """The best matches of every conversation. Best first inside the index, then the join: ordering
    the joined rows made SQLite build a snippet for every match (150 ms for a word in half of 50,000
    messages, against 35 ms)."""
    return db.execute(
        """
        SELECT m.id, m.conversation_id, m.role, m.created_at, c.title, best.snippet, best.thought, m.status, m.checkpoint_at,
               m.writer_pid, m.model, m.server
        FROM (
            SELECT rowid AS id, rank, snippet(message_search, 0, ?, ?, '…', ?) AS snippet,
                   snippet(message_search, 1, ?, ?, '…', ?) AS thought
            FROM message_search WHERE message_search MATCH ? ORDER BY rank LIMIT ?
        ) AS best
        JOIN messages m ON m.id = best.id
        JOIN conversations c ON c.id = m.conversation_id
        WHERE m.role != 'notice'
        ORDER BY best.rank
        LIMIT ?
        """,
        (*SNIPPETS, expression, wanted + NOTICE_ROOM, wanted),
    ).fetchall()
