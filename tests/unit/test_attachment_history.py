"""Attachments in the history: kept exactly as sent (each text once, by sha256), sent again in later
turns though the file changed, copied by a fork, found by search, exported and imported exactly."""

from __future__ import annotations

import json
import sqlite3

from mixtral_tui.chat import rules
from mixtral_tui.chat.export import conversation_markdown
from mixtral_tui.chat.export_json import conversation_json, import_conversation
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.store.history import History
from mixtral_tui.vocabulary import AttachmentKind

NOTES = Attachment("notes.txt", "The quokka lives on Rottnest.\n", source="/tmp/notes.txt", mtime=1.5, tokens=9)
FOLDER = Attachment("src", kind=AttachmentKind.FOLDER, skipped=(("src/.env", "may hold keys or tokens"),))
APP = Attachment("src/app.py", "print('zebra')\n" * 30, folder="src", tokens=120)


def history_with(tmp_path, *attachments: Attachment) -> tuple[History, int]:
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("files")
    history.add_message(conversation.id, "user", "What lives there?", attached=list(attachments))
    history.add_message(conversation.id, "assistant", "A quokka.")
    return history, conversation.id


def blobs(history: History) -> int:
    with sqlite3.connect(history.path) as db:
        return db.execute("SELECT COUNT(*) FROM blobs").fetchone()[0]


def test_kept_as_sent_each_text_once_and_in_the_turns(tmp_path):
    history, conversation = history_with(tmp_path, NOTES, APP, FOLDER)
    history.add_message(conversation, "user", "And again?", attached=[NOTES])
    user, _reply, again = history.messages(conversation)
    assert user.attachments == [NOTES, APP, FOLDER] and again.attachments == [NOTES]
    assert blobs(history) == 2  # NOTES once, though two messages carry it
    turns = rules.turns_for(history.messages(conversation), "")
    assert turns[0].content == ("What lives there?\n\nnotes.txt:\n````\nThe quokka lives on Rottnest.\n````\n\n"
                                f"src/app.py:\n````python\n{APP.text.rstrip()}\n````")


def test_a_fork_carries_them_and_a_deleted_conversation_takes_its_texts_along(tmp_path):
    history, conversation = history_with(tmp_path, NOTES)
    messages = history.messages(conversation)
    fork = history.fork(conversation, "fork", messages[:1])
    assert history.messages(fork.id)[0].attachments == [NOTES]
    history.delete_conversation(conversation)
    assert blobs(history) == 1  # the fork still carries it
    history.delete_conversation(fork.id)
    assert blobs(history) == 0
    assert history.search("quokka") == []  # its words are gone from the index too


def test_search_finds_words_inside_attachments_and_says_which(tmp_path):
    history, conversation = history_with(tmp_path, NOTES, APP)
    [hit] = history.search("zebra")
    assert (hit.message_id, hit.in_attachment, hit.role) == (history.messages(conversation)[0].id, "src/app.py", "user")
    assert "zebra" in hit.snippet
    assert [h.in_attachment for h in history.search("quokka", conversation_id=conversation)] == ["", "notes.txt"]


def test_markdown_shows_each_file_titled_and_fenced_folded_when_long(tmp_path):
    history, conversation = history_with(tmp_path, NOTES, APP, FOLDER)
    text = conversation_markdown(history.conversation(conversation), history.messages(conversation))
    assert "**Attached `notes.txt`** · 1 line · 30 B · 9 tok\n\n````text\nThe quokka lives on Rottnest.\n````" in text
    assert "**Attached `src/app.py`** · 30 lines" in text and "<details><summary>30 lines</summary>" in text
    assert "**Directory `src/`** skipped:\n\n- `src/.env`: may hold keys or tokens" in text


def test_json_export_and_import_are_exact(tmp_path):
    history, conversation = history_with(tmp_path, NOTES, APP, FOLDER)
    text = conversation_json(history.conversation(conversation), history.messages(conversation))
    again = import_conversation(history, text, "x.json")
    assert history.messages(again.id)[0].attachments == [NOTES, APP, FOLDER]
    assert blobs(history) == 2
    data = json.loads(text)
    for message in data["messages"]:  # a file from before attachments
        del message["attachments"]
    older = import_conversation(history, json.dumps(data), "old.json")
    assert [m.attachments for m in history.messages(older.id)] == [[], []]
