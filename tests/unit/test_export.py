"""Exports: Markdown that reads as a document, and JSON that reads back exactly."""

import json

import pytest
from markdown_it import MarkdownIt

from mixtral_tui.chat.export import breaks_structure, conversation_markdown, export_all, fence_for, message_body
from mixtral_tui.chat.export_json import conversation_json, import_conversation
from mixtral_tui.errors import UserError
from mixtral_tui.store.history import History
from mixtral_tui.vocabulary import Status

CODE_REPLY = "Here:\n\n```python\nprint('hi')\n```\n\n- one\n- **two**\n\nand ````four```` and trailing spaces   \n"


def test_fence_is_longer_than_any_backtick_run():
    assert fence_for("plain") == "````"
    assert fence_for("a ````` b") == "``````"


def chat(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation = history.create_conversation("Code talk")
    history.add_message(conversation.id, "user", "show me code")
    history.add_message(
        conversation.id, "assistant", CODE_REPLY, model="Mixtral-8x7B-Instruct", quant="Q4_K_M",
        sampling={"temperature": 0.7, "top_p": 0.95}, stats={"completion_tokens": 12, "decode_tps": 30.0},
    )
    return history, conversation.id


def test_markdown_export_reads_as_markdown_not_as_fenced_text(tmp_path):
    history, cid = chat(tmp_path)
    text = conversation_markdown(history.conversation(cid), history.messages(cid))
    assert text.startswith("# Code talk\n")
    assert "- Model: Mixtral-8x7B-Instruct" in text and "- Quant: Q4_K_M" in text
    assert "temperature 0.7, top_p 0.95" in text
    assert "````markdown" not in text  # nothing here needs a fence
    tokens = MarkdownIt().parse(text)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h2"]
    assert [h.split(" · ")[0] for h in headings] == ["User", "Assistant"]
    assert [t.info for t in tokens if t.type == "fence"] == ["python"]  # the reply's code block, as code
    assert any(t.type == "bullet_list_open" for t in tokens)  # its list, as a list
    assert CODE_REPLY.rstrip("\n") in text  # byte for byte


@pytest.mark.parametrize("text, fenced", [
    ("plain words", False),
    ("### a small heading\ntext", False),
    ("## My own heading\nwould read as a message", True),
    ("# Title\n", True),
    ("```python\nprint(1)\n", True),  # never closed: would swallow what follows
    ("```\n## inside code\n```\n", False),
    ("~~~\ncode\n~~~\nafter", False),
    ("````\n```\nstill code\n````", False),
])
def test_only_what_would_break_the_document_is_fenced(text, fenced):
    assert breaks_structure(text) is fenced
    body = message_body(text)
    if fenced:
        tokens = MarkdownIt().parse(body + "\n\n## Next\n")
        assert tokens[0].type == "fence" and tokens[0].content == text + "\n"
        assert any(t.type == "heading_open" for t in tokens)  # the next section survives
    else:
        assert body == text.rstrip("\n")


def test_statuses_fork_and_system_prompt_are_in_the_markdown(tmp_path):
    history, cid = chat(tmp_path)
    history.set_overrides(cid, "Answer in Spanish.", None)
    messages = history.messages(cid)
    history.set_status(messages[1].id, Status.REPLACED)
    fork = history.fork(cid, "Code talk", history.messages(cid)[:1])
    text = conversation_markdown(history.conversation(cid), history.messages(cid))
    assert "## System prompt (this conversation's)\n\nAnswer in Spanish." in text
    assert "## Assistant · " in text and " · replaced · " in text
    assert f"- Forked from conversation {cid}" in conversation_markdown(fork, history.messages(fork.id))


def test_json_export_reads_back_exactly(tmp_path):
    history, cid = chat(tmp_path)
    history.set_status(history.messages(cid)[1].id, Status.STOPPED)
    history.save_draft(cid, "unsent words")
    original = history.conversation(cid)
    exported = conversation_json(original, history.messages(cid))
    assert json.loads(exported)["messages"][1]["status"] == Status.STOPPED

    other = History(tmp_path / "other.sqlite3")
    other.create_conversation("already here")
    imported = import_conversation(other, exported, "chat.json")
    assert imported.id != original.id
    again = json.loads(conversation_json(imported, other.messages(imported.id)))
    first = json.loads(exported)
    for data in (again, first):
        data["conversation"].pop("id")
        for m in data["messages"]:
            m.pop("id")
    assert again == first  # every field but the ids: statuses, stats, sampling, draft, times


@pytest.mark.parametrize("text, phrase", [
    ("not json", "not JSON"),
    ('{"format": "something else"}', "not a conversation exported by mixtral-tui"),
    ('{"format": "mixtral-tui conversation", "version": 9}', "format version 9"),
    ('{"format": "mixtral-tui conversation", "version": 1, "conversation": {}, "messages": []}', "missing"),
])
def test_a_bad_import_says_what_is_wrong(tmp_path, text, phrase):
    with pytest.raises(UserError, match=phrase):
        import_conversation(History(tmp_path / "h.sqlite3"), text, "x.json")


def test_export_all_writes_one_file_each(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    for title in ("One", "Two / slash"):
        history.create_conversation(title)
    written = export_all(history, tmp_path / "out")
    assert sorted(p.name for p in written) == ["0001-one.md", "0002-two-slash.md"]
    assert sorted(p.name for p in export_all(history, tmp_path / "json", "json")) == ["0001-one.json", "0002-two-slash.json"]
