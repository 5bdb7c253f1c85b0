"""Ordered, named schema migrations, keyed on `PRAGMA user_version`.

Each migration runs once, in order, inside a transaction. Never edit one that
has shipped: add the next. Tests run them on a blank database and on a
database left at every older version.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

Migration = Callable[[sqlite3.Connection], None]
MIGRATIONS: list[tuple[str, Migration]] = []


def _run(db: sqlite3.Connection, script: str) -> None:
    """Run statements one by one (executescript would commit our transaction). A trigger's body
    holds semicolons of its own: a statement ends where SQLite says it is complete."""
    statement = ""
    for part in script.split(";"):
        statement += part + ";"
        if sqlite3.complete_statement(statement):
            if statement.strip(" \n;"):
                db.execute(statement)
            statement = ""


def migration(fn: Migration) -> Migration:
    MIGRATIONS.append((fn.__name__, fn))
    return fn


@migration
def m001_conversations_and_messages(db: sqlite3.Connection) -> None:
    _run(
        db,
        """
        CREATE TABLE conversations (
            id INTEGER PRIMARY KEY,
            title TEXT NOT NULL,
            created_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );
        CREATE TABLE messages (
            id INTEGER PRIMARY KEY,
            conversation_id INTEGER NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            content TEXT NOT NULL,
            created_at REAL NOT NULL
        );
        """
    )


@migration
def m002_reply_details(db: sqlite3.Connection) -> None:
    """Per-reply state and figures, and per-conversation overrides."""
    _run(
        db,
        """
        ALTER TABLE messages ADD COLUMN status TEXT NOT NULL DEFAULT 'done';
        ALTER TABLE messages ADD COLUMN model TEXT;
        ALTER TABLE messages ADD COLUMN quant TEXT;
        ALTER TABLE messages ADD COLUMN sampling_json TEXT;
        ALTER TABLE messages ADD COLUMN stats_json TEXT;
        ALTER TABLE conversations ADD COLUMN system_prompt TEXT;
        ALTER TABLE conversations ADD COLUMN sampling_json TEXT;
        CREATE INDEX messages_by_conversation ON messages(conversation_id, id);
        CREATE INDEX conversations_by_update ON conversations(updated_at);
        """
    )


@migration
def m003_model_file(db: sqlite3.Connection) -> None:
    """The GGUF file a reply came from (the model's own name can be shared by many quants)."""
    _run(db, "ALTER TABLE messages ADD COLUMN model_file TEXT")


@migration
def m004_message_search(db: sqlite3.Connection) -> None:
    create_search_index(db, with_thinking=False)  # messages had no thinking yet (m011)


SEARCH_VERSION = len(MIGRATIONS)
"""The schema from which a database has (or, without FTS5, would have) the search index."""


@migration
def m005_reply_checkpoints(db: sqlite3.Connection) -> None:
    """When a reply being written was last saved, and by which process: a reply still marked
    'streaming' is being written only while both say so (store/liveness.py). A kill -9 leaves the
    mark behind; every reader (export, search, another app) then sees it as interrupted."""
    _run(
        db,
        """
        ALTER TABLE messages ADD COLUMN checkpoint_at REAL;
        ALTER TABLE messages ADD COLUMN writer_pid INTEGER;
        """,
    )


@migration
def m006_title_given(db: sqlite3.Connection) -> None:
    """Whether a conversation's title was given (by the user, by its first message, as a fork's)
    or is still the placeholder the first message replaces. It was inferred from the title, so a
    conversation the user named "New chat" was renamed at the next send. Existing ones: a "New
    chat" that has messages of the user's was named so by the user (the first message would have
    renamed it)."""
    _run(
        db,
        """
        ALTER TABLE conversations ADD COLUMN title_given INTEGER NOT NULL DEFAULT 1;
        UPDATE conversations SET title_given = 0 WHERE title = 'New chat' AND NOT EXISTS (
            SELECT 1 FROM messages WHERE messages.conversation_id = conversations.id AND messages.role = 'user'
        );
        """,
    )


@migration
def m007_forked_from(db: sqlite3.Connection) -> None:
    """Which conversation a fork was made from. A fork was told apart only by " (fork)" at the end
    of its title, which the list cut off; now the list says so on its own line. No foreign key:
    a fork stays a fork when its original is deleted. Existing forks keep their titles."""
    _run(db, "ALTER TABLE conversations ADD COLUMN forked_from INTEGER;")


@migration
def m008_drafts(db: sqlite3.Connection) -> None:
    """Each conversation's unsent text: closing a tab, or the app, kept no draft."""
    _run(db, "ALTER TABLE conversations ADD COLUMN draft TEXT NOT NULL DEFAULT '';")


@migration
def m009_whole_titles(db: sqlite3.Connection) -> None:
    """Titles made from a first message were cut to 48 characters and stored with a "…"; now the
    whole first line is stored and each place that draws it shortens it. A title that is still
    its first message's cut start becomes that message's whole first line (one a user typed, or
    one that no longer matches its message, is left as it is)."""
    rows = db.execute(
        "SELECT c.id, c.title, (SELECT m.content FROM messages m WHERE m.conversation_id = c.id AND m.role = 'user'"
        " ORDER BY m.id LIMIT 1) FROM conversations c WHERE c.title LIKE '%…'"
    ).fetchall()
    for conversation_id, title, first in rows:
        if not first:
            continue
        line = next((" ".join(part.split()) for part in first.splitlines() if part.strip()), "")
        cut = title[:-1]
        if len(cut) == 48 and line.startswith(cut) and len(line) > len(cut):
            db.execute("UPDATE conversations SET title = ? WHERE id = ?", (line[:1000], conversation_id))


@migration
def m010_reply_server(db: sqlite3.Connection) -> None:
    """The server a reply came from (its name or host), for a model that runs elsewhere: its
    label, the export and search say which server and model wrote it. Local replies: NULL."""
    _run(db, "ALTER TABLE messages ADD COLUMN server TEXT;")


@migration
def m011_thinking(db: sqlite3.Connection) -> None:
    """A reasoning model's thinking, kept apart from its answer: shown folded, exported marked as
    thinking, never sent back to the model (the turns are made from `content` alone)."""
    _run(db, "ALTER TABLE messages ADD COLUMN thinking TEXT NOT NULL DEFAULT '';")


@migration
def m012_search_thinking(db: sqlite3.Connection) -> None:
    """Thinking is searchable too: the index gets a second column, and is built again from the
    messages (an external-content FTS5 table cannot gain a column in place)."""
    if not has_search_index(db):
        return  # no FTS5 here: `migrate` builds the whole index once a Python with it opens the file
    _run(
        db,
        """
        DROP TRIGGER IF EXISTS message_search_insert;
        DROP TRIGGER IF EXISTS message_search_delete;
        DROP TRIGGER IF EXISTS message_search_update;
        DROP TABLE message_search;
        """,
    )
    create_search_index(db)


THINKING_SEARCH_VERSION = len(MIGRATIONS)
"""The schema from which the search index holds the thinking as well."""


@migration
def m013_tool_calls(db: sqlite3.Connection) -> None:
    """Tools: a reply's calls (id, name, arguments as the model wrote them), and on a `tool`
    message the id of the call it answers, so later turns send both again in the OpenAI form."""
    _run(
        db,
        """
        ALTER TABLE messages ADD COLUMN tool_calls_json TEXT;
        ALTER TABLE messages ADD COLUMN tool_call_id TEXT NOT NULL DEFAULT '';
        """,
    )


@migration
def m014_attachments(db: sqlite3.Connection) -> None:
    """Files attached to messages: each distinct text once, by sha256, linked to the messages that
    carried it, with a full-text index of its words (search finds them, and says so)."""
    _run(
        db,
        """
        CREATE TABLE blobs (
            id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE,
            text TEXT NOT NULL
        );
        CREATE TABLE attachments (
            id INTEGER PRIMARY KEY,
            message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT '',
            folder TEXT NOT NULL DEFAULT '',
            blob_id INTEGER REFERENCES blobs(id),
            bytes INTEGER NOT NULL DEFAULT 0,
            lines INTEGER NOT NULL DEFAULT 0,
            mtime REAL,
            tokens INTEGER NOT NULL DEFAULT 0,
            skipped_json TEXT
        );
        CREATE INDEX attachments_of_message ON attachments (message_id);
        CREATE INDEX attachments_of_blob ON attachments (blob_id);
        """,
    )
    create_attachment_index(db)


ATTACHMENTS_VERSION = len(MIGRATIONS)
"""The schema from which attached texts are kept (and, with FTS5, searched)."""


def create_attachment_index(db: sqlite3.Connection) -> None:
    """The words of attached texts, kept in step with `blobs` (a text is never changed, only
    added or removed); none where SQLite lacks FTS5, as for messages."""
    if not fts5_available(db) or has_attachment_index(db):
        return
    _run(
        db,
        """
        CREATE VIRTUAL TABLE attachment_search USING fts5(
            text, content='blobs', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER attachment_search_insert AFTER INSERT ON blobs BEGIN
            INSERT INTO attachment_search (rowid, text) VALUES (new.id, new.text);
        END;
        CREATE TRIGGER attachment_search_delete AFTER DELETE ON blobs BEGIN
            INSERT INTO attachment_search (attachment_search, rowid, text) VALUES ('delete', old.id, old.text);
        END;
        INSERT INTO attachment_search (attachment_search) VALUES ('rebuild');
        """,
    )


def has_attachment_index(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'attachment_search'").fetchone() is not None


@migration
def m015_draft_files(db: sqlite3.Connection) -> None:
    """The files waiting to go with a conversation's unsent text (a long paste), kept with its draft."""
    _run(db, "ALTER TABLE conversations ADD COLUMN draft_files_json TEXT;")


def has_search_index(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE name = 'message_search'").fetchone() is not None


def create_search_index(db: sqlite3.Connection, with_thinking: bool = True) -> None:
    """A full-text index of every message's text (and thinking), kept in step by triggers (a
    streaming reply's checkpoints too), and filled from the messages already saved. External
    content: the text is stored once, in `messages`; the index holds only its words. A Python
    whose SQLite lacks FTS5 (rare) keeps its history without the index (search then says what is
    missing); `migrate` builds it once a Python that has FTS5 opens the file."""
    if has_search_index(db) or not fts5_available(db):
        return
    columns = ["content", "thinking"] if with_thinking else ["content"]
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    _run(
        db,
        f"""
        CREATE VIRTUAL TABLE message_search USING fts5(
            {names}, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER message_search_insert AFTER INSERT ON messages BEGIN
            INSERT INTO message_search (rowid, {names}) VALUES (new.id, {new});
        END;
        CREATE TRIGGER message_search_delete AFTER DELETE ON messages BEGIN
            INSERT INTO message_search (message_search, rowid, {names}) VALUES ('delete', old.id, {old});
        END;
        CREATE TRIGGER message_search_update AFTER UPDATE OF {names} ON messages BEGIN
            INSERT INTO message_search (message_search, rowid, {names}) VALUES ('delete', old.id, {old});
            INSERT INTO message_search (rowid, {names}) VALUES (new.id, {new});
        END;
        INSERT INTO message_search (message_search) VALUES ('rebuild');
        """
    )


def fts5_available(db: sqlite3.Connection) -> bool:
    try:
        db.execute("CREATE VIRTUAL TABLE temp.fts5_probe USING fts5(text)")
    except sqlite3.OperationalError:  # "no such module: fts5"
        return False
    db.execute("DROP TABLE temp.fts5_probe")
    return True


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, upto: int | None = None) -> int:
    """Apply pending migrations (up to `upto`, for tests); return the new version."""
    target = len(MIGRATIONS) if upto is None else upto
    current = schema_version(db)
    if current > len(MIGRATIONS):
        from mixtral_tui.errors import StoreError

        raise StoreError(
            f"the history database is from a newer mixtral-tui (schema {current}); upgrade mixtral-tui."
        )
    for index in range(current, target):
        _name, fn = MIGRATIONS[index]
        db.execute("BEGIN IMMEDIATE")
        try:
            if schema_version(db) > index:  # another instance migrated meanwhile
                db.execute("ROLLBACK")
                continue
            fn(db)
            db.execute(f"PRAGMA user_version = {index + 1}")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    missing_attachments = target >= ATTACHMENTS_VERSION and not has_attachment_index(db)
    if (target >= SEARCH_VERSION and not has_search_index(db)) or missing_attachments:  # a Python without FTS5 migrated
        db.execute("BEGIN IMMEDIATE")
        try:
            create_search_index(db, with_thinking=schema_version(db) >= THINKING_SEARCH_VERSION)
            if missing_attachments:
                create_attachment_index(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    return schema_version(db)
