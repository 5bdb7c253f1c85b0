import sqlite3
import subprocess
import sys
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


def test_titles_given_before_the_flag_are_known_by_their_messages(tmp_path):
    """m006: a "New chat" that has a message of the user's was so named by the user (the first
    message would have renamed it); one without is still the placeholder."""
    path = tmp_path / "v5.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, upto=5)
    db.executescript(
        "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (1, 'New chat', 0, 0), (2, 'New chat', 0, 0),"
        " (3, 'Baking', 0, 0);"
        "INSERT INTO messages (conversation_id, role, content, created_at) VALUES (1, 'user', 'hi', 0);"
    )
    db.close()
    history = History(path)
    assert [history.conversation(i).title_given for i in (1, 2, 3)] == [True, False, True]


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


def ended_process() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_streaming_replies_left_by_a_killed_process_become_interrupted(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation()
    message = history.add_message(conversation.id, "assistant", "half a rep", status="streaming")
    history._db.execute("UPDATE messages SET writer_pid = ? WHERE id = ?", (ended_process(), message.id))
    [read] = history.messages(conversation.id)
    assert read.status == "interrupted"  # to every reader, at once: its writer is gone
    assert history.mark_interrupted() == 1
    [stored] = history.messages(conversation.id)
    assert stored.status == "interrupted" and stored.content == "half a rep"
    assert history._db.execute("SELECT status FROM messages").fetchone()[0] == "interrupted"


def test_a_reply_another_running_app_writes_is_left_alone(tmp_path):
    """Two apps on one history: the second one starting does not mark the first one's reply."""
    writer, second = History(tmp_path / "h.sqlite3"), History(tmp_path / "h.sqlite3")
    conversation = writer.create_conversation()
    message = writer.add_message(conversation.id, "assistant", "being writ", status="streaming")
    writer._db.execute("UPDATE messages SET created_at = created_at - 60 WHERE id = ?", (message.id,))  # a long reply
    assert second.mark_interrupted() == 0
    assert [m.status for m in second.messages(conversation.id)] == ["streaming"]
    assert [h.status for h in second.search("being")] == ["streaming"]


def test_a_reply_whose_checkpoints_stopped_is_interrupted(tmp_path):
    """A writer that still runs (or a process that took its pid) but no longer saves it."""
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation()
    message = history.add_message(conversation.id, "assistant", "stuck", status="streaming")
    history._db.execute("UPDATE messages SET checkpoint_at = checkpoint_at - 60 WHERE id = ?", (message.id,))
    assert [h.status for h in history.search("stuck")] == ["interrupted"]
    assert history.mark_interrupted() == 1


def test_a_title_the_user_gave_is_kept_even_if_it_is_the_placeholder(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    fresh = history.create_conversation()
    assert fresh.title == "New chat" and not fresh.title_given
    history.rename_conversation(fresh.id, "New chat")  # F2, by the user
    assert history.conversation(fresh.id).title_given
    assert history.create_conversation("Baking").title_given


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


def test_titles_cut_with_an_ellipsis_get_their_whole_first_line_back(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, upto=8)
    line = "Please explain how the KV cache works in llama.cpp when the context is full"
    old_title = " ".join(line.split())[:48] + "…"
    rows = [(1, old_title, f"{line}\nand a second line"), (2, "My own name…", "something else entirely"),
            (3, line[:20] + "…", line)]  # not a 48-character cut: typed by the user
    for cid, title, first in rows:
        db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, 1, 2)", (cid, title))
        db.execute("INSERT INTO messages (conversation_id, role, content, created_at) VALUES (?, 'user', ?, 1)", (cid, first))
    db.close()
    history = History(path)
    assert history.conversation(1).title == line
    assert history.conversation(2).title == "My own name…" and history.conversation(3).title == line[:20] + "…"
