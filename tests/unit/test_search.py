"""Finding saved messages by their words: the full-text index follows every write, the user's
text is never read as a query language, and a database from before the index gets one."""

import sqlite3

import pytest

from mixtral_tui.store.history import History
from mixtral_tui.store.migrations import SEARCH_VERSION, migrate
from mixtral_tui.store.search import MARK_END, MARK_START, match_expression


@pytest.fixture
def history(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    bread = history.create_conversation("Baking")
    history.add_message(bread.id, "user", "How do I bake sourdough bread?")
    history.add_message(bread.id, "assistant", "Mix flour, water and **starter**.\n\nThen bake the loaf at 230 °C.")
    history.add_message(bread.id, "notice", "bread notes the app wrote itself")
    rivers = history.create_conversation("Geography")
    history.add_message(rivers.id, "user", "Name three rivers.")
    history.add_message(rivers.id, "assistant", "The Nile, the Amazon and the Yangtze.")
    return history


def found(history: History, text: str) -> list[tuple[str, str]]:
    """(role, snippet with the matched words in [brackets]) for each hit."""
    return [(h.role, h.snippet.replace(MARK_START, "[").replace(MARK_END, "]")) for h in history.search(text)]


def test_words_are_found_in_what_the_user_and_the_model_wrote_and_marked(history):
    assert found(history, "bake") == [
        ("user", "How do I [bake] sourdough bread?"),
        ("assistant", "Mix flour, water and **starter**. Then [bake] the loaf at 230 °C."),
    ]
    assert found(history, "nile amazon") == [("assistant", "The [Nile], the [Amazon] and the Yangtze.")]
    assert found(history, "nile danube") == []  # every word must occur


def test_words_match_as_the_start_of_longer_ones_and_accents_do_not_matter(history):
    assert [role for role, _ in found(history, "sourd")] == ["user"]
    assert [role for role, _ in found(history, "sourd brea ")] == ["user"]
    assert found(history, "ourdough") == []  # the start of a word, not any part of it
    assert [role for role, _ in found(history, "yangtze C")] == []
    assert [role for role, _ in found(history, "230 c")] == ["assistant"]  # "°C" is the word "c"
    history.add_message(1, "user", "Crème brûlée?")
    assert found(history, "creme brulee") == [("user", "[Crème] [brûlée]?")]


def test_notes_the_app_wrote_are_not_found_but_titles_are(history):
    assert all(role != "notice" for role, _ in found(history, "notes"))
    assert found(history, "geog") == [("title", "[Geog]raphy")]
    hit = history.search("geog")[0]
    assert (hit.message_id, hit.title, hit.marked()) == (None, "Geography", ("Geography", [(0, 4)]))


def test_one_conversation_is_searched_in_the_order_written_without_titles(history):
    bread, rivers = 1, 2
    history.add_message(rivers, "user", "Is bread baked near the Nile?")
    assert [h.conversation_id for h in history.search("bread")] == [bread, rivers]
    in_bread = history.search("bread", conversation_id=bread)
    assert [(h.conversation_id, h.role) for h in in_bread] == [(bread, "user")]  # not the app's note
    later = history.add_message(bread, "assistant", "Bake bread twice.")
    assert [h.message_id for h in history.search("bread bake", conversation_id=bread)] == [1, later.id]
    assert history.search("geog", conversation_id=rivers) == []  # titles are for the search of everything
    assert history.search("nile", conversation_id=bread) == []
    assert history.search("nile", conversation_id=999) == []


def test_the_index_follows_checkpoints_and_deletes(history):
    conversation = history.create_conversation("Live")
    reply = history.add_message(conversation.id, "assistant", "", status="streaming")
    history.update_message(reply.id, "The first checkpoint says tortoise", "streaming")
    assert [h.message_id for h in history.search("tortoise")] == [reply.id]
    history.update_message(reply.id, "The reply was rewritten: hare", "done")
    assert history.search("tortoise") == []
    assert [h.message_id for h in history.search("hare")] == [reply.id]
    history.delete_conversation(conversation.id)
    assert history.search("hare") == []


@pytest.mark.parametrize(
    "text",
    ['"', '""bake', "bake*", "*", "-bake", "NOT bake", "bake OR", "AND", "NEAR(bake", "NEAR(", "^bake", "content:bake",
     "(bake", "bake)", "{bake}", "'", "%", "_", "\\", "bake\x00", "   ", ""],
)
def test_query_syntax_in_the_users_text_is_just_text(history, text):
    hits = history.search(text)  # never an FTS5 syntax error
    assert all(MARK_START in h.snippet or h.role == "title" for h in hits)


def test_the_users_words_become_quoted_phrases():
    assert match_expression("bake bread") == '"bake"* "bread"*'
    assert match_expression('say "hi" ') == '"say"* """hi"""*'
    assert match_expression("NEAR( AND") == '"NEAR("* "AND"*'
    assert match_expression("-- ** ") is None


def test_a_database_from_before_the_index_gets_its_messages_indexed(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, upto=SEARCH_VERSION - 1)  # the version before the index
    assert "message_search" not in {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (3, 'kept', 1, 2)")
    db.execute("INSERT INTO messages (conversation_id, role, content, created_at) VALUES (3, 'user', 'an old walrus', 1)")
    db.close()
    [hit] = History(path).search("walrus")
    assert (hit.conversation_id, hit.role, hit.title) == (3, "user", "kept")


def test_many_hits_are_capped_best_first(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("Repeats")
    for i in range(30):
        history.add_message(conversation.id, "user", "echo " * (1 if i != 17 else 5) + f"number {i}")
    hits = history.search("echo", limit=10)
    assert len(hits) == 10
    assert "number 17" in hits[0].snippet  # the word five times ranks first


def test_without_fts5_the_history_still_works_and_search_says_what_is_missing(tmp_path, monkeypatch):
    from mixtral_tui.errors import StoreError
    from mixtral_tui.store import migrations

    monkeypatch.setattr(migrations, "fts5_available", lambda db: False)  # as a Python built without it
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("Still saved")
    message = history.add_message(conversation.id, "user", "no index here")
    history.update_message(message.id, "no index here, edited", "done")
    assert [m.content for m in history.messages(conversation.id)] == ["no index here, edited"]
    with pytest.raises(StoreError, match="needs SQLite's FTS5"):
        history.search("index")
    history.close()

    monkeypatch.undo()  # the same file opened by a Python that has FTS5: the index is built then
    [hit] = History(tmp_path / "h.sqlite3").search("edited")
    assert hit.message_id == message.id


def test_words_in_a_replys_thinking_are_found_and_said_to_be_there(history):
    [conversation] = [c for c in history.conversations() if c.title == "Geography"]
    reply = history.add_message(conversation.id, "assistant", "", status="streaming")
    history.update_message(reply.id, "About 6,650 km.", "streaming", thinking="The user asks how long the Nile is")
    [in_thought] = history.search("long nile", conversation_id=conversation.id)
    assert in_thought.message_id == reply.id and in_thought.in_thinking
    assert in_thought.snippet.replace(MARK_START, "[").replace(MARK_END, "]") == "The user asks how [long] the [Nile] is"
    answer = [h for h in history.search("nile") if h.message_id != reply.id]
    assert answer and not any(h.in_thinking for h in answer)  # found in the answer: the answer's snippet
    history.update_message(reply.id, "About 6,650 km.", "done", thinking="rethought")
    assert history.search("asks") == [] and history.search("rethought")[0].in_thinking  # the index follows


def test_thinking_saved_before_it_was_indexed_is_found_after_the_migration(tmp_path):
    from mixtral_tui.store.migrations import THINKING_SEARCH_VERSION

    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    migrate(db, upto=THINKING_SEARCH_VERSION - 1)  # thinking kept, not indexed
    db.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES (4, 'pondered', 1, 2)")
    db.execute("INSERT INTO messages (conversation_id, role, content, thinking, created_at) "
               "VALUES (4, 'assistant', 'yes', 'a quiet walrus thought', 1)")
    assert db.execute("SELECT count(*) FROM message_search WHERE message_search MATCH 'walrus'").fetchone() == (0,)
    db.close()
    [hit] = History(path).search("walrus")
    assert (hit.conversation_id, hit.role, hit.in_thinking) == (4, "assistant", True)
    assert History(path).search("yes")[0].in_thinking is False
