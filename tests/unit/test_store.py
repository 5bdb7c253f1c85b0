import sqlite3
import threading

import pytest

from mixtral_tui.errors import StoreError
from mixtral_tui.store.history import History
from mixtral_tui.store.migrations import MIGRATIONS, migrate, schema_version


def test_blank_database_gets_every_migration_and_wal(tmp_path):
    path = tmp_path / "h.sqlite3"
    history = History(path)
    db = sqlite3.connect(path)
    assert schema_version(db) == len(MIGRATIONS)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conversation = history.create_conversation("hello")
    history.add_message(conversation.id, "user", "hi")
    assert [m.content for m in history.messages(conversation.id)] == ["hi"]


def test_old_database_is_migrated_with_its_data(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, upto=1)
    assert schema_version(db) == 1
    db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (7, 'kept', 1, 2)")
    db.execute("INSERT INTO messages (conversation_id, role, content, created_at) VALUES (7, 'user', 'old text', 1)")
    db.close()

    history = History(path)
    [message] = history.messages(7)
    assert message.content == "old text" and message.status == "done" and message.stats == {}
    assert history.conversation(7).title == "kept"
    assert schema_version(sqlite3.connect(path)) == len(MIGRATIONS)


def test_every_older_version_migrates(tmp_path):
    for version in range(len(MIGRATIONS)):
        path = tmp_path / f"v{version}.sqlite3"
        db = sqlite3.connect(path, isolation_level=None)
        migrate(db, upto=version)
        db.close()
        history = History(path)
        c = history.create_conversation("after upgrade")
        history.add_message(c.id, "assistant", "x", model="M", model_file="m.gguf", stats={"completion_tokens": 1})
        assert history.messages(c.id)[0].model_file == "m.gguf"


def test_newer_schema_is_refused_with_a_hint(tmp_path):
    path = tmp_path / "new.sqlite3"
    History(path)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    db.commit()
    with pytest.raises(StoreError, match="newer mixtral-tui"):
        History(path)


def test_unreadable_database_says_what_to_do(tmp_path):
    path = tmp_path / "broken.sqlite3"
    path.write_bytes(b"this is not sqlite at all" * 100)
    with pytest.raises(StoreError) as err:
        History(path)
    assert str(path) in str(err.value) and "move it aside" in str(err.value)


def test_two_instances_write_at_once(tmp_path):
    path = tmp_path / "shared.sqlite3"
    first, second = History(path), History(path)
    conversation = first.create_conversation()
    errors = []

    def writer(history, label):
        try:
            for i in range(50):
                history.add_message(conversation.id, "user", f"{label}{i}")
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(h, n)) for h, n in ((first, "a"), (second, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(second.messages(conversation.id)) == 100


def test_writer_waits_for_a_lock_held_by_another_instance(tmp_path):
    path = tmp_path / "locked.sqlite3"
    history = History(path)
    conversation = history.create_conversation()
    blocker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.5, lambda: blocker.execute("COMMIT"))
    timer.start()
    history.add_message(conversation.id, "user", "waited")  # must not raise "database is locked"
    timer.join()
    assert history.messages(conversation.id)[-1].content == "waited"


def test_streaming_replies_left_by_a_killed_process_become_interrupted(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation()
    message = history.add_message(conversation.id, "assistant", "half a rep", status="streaming")
    history._db.execute("UPDATE messages SET created_at = created_at - 60 WHERE id = ?", (message.id,))
    assert history.mark_interrupted() == 1
    [stored] = history.messages(conversation.id)
    assert stored.status == "interrupted" and stored.content == "half a rep"


def test_delete_removes_messages(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation()
    history.add_message(conversation.id, "user", "x")
    history.delete_conversation(conversation.id)
    assert history.conversation(conversation.id) is None
    assert history._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0] == 0


def test_conversations_are_listed_newest_first_with_counts(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    a = history.create_conversation("a")
    b = history.create_conversation("b")
    history.add_message(a.id, "user", "later")
    listed = history.conversations()
    assert [c.title for c in listed] == ["a", "b"] and listed[0].message_count == 1
    assert b.id != a.id
