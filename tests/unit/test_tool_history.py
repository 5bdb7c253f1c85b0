"""Tool calls and their results in the history: what the model is sent of them later, what a
reply written again replaces, and how the exports carry them."""

from __future__ import annotations

import json

from mixtral_tui.chat.export import conversation_markdown
from mixtral_tui.chat.export_json import conversation_json, import_conversation
from mixtral_tui.chat.rules import turns_for, write_again
from mixtral_tui.engine.base import ToolCall, Turn
from mixtral_tui.store.history import History

CALL = {"id": "a1B2c3D4e", "name": "time_get_current_time", "arguments": '{"timezone": "Asia/Tokyo"}'}
RESULT = '{"timezone": "Asia/Tokyo", "datetime": "2026-12-03T21:05:00+09:00"}'


def conversation_with_a_call(history: History, answered: bool = True) -> int:
    conversation = history.create_conversation("Time")
    cid = conversation.id
    history.add_message(cid, "user", "What time is it in Tokyo?")
    reply = history.add_message(cid, "assistant", "Let me look.")
    history.update_message(reply.id, "Let me look.", "done", tool_calls=[CALL])
    if answered:
        history.add_message(cid, "tool", RESULT, stats={"tool": CALL["name"], "seconds": 0.21, "outcome": "done"},
                            tool_call_id=CALL["id"])
        history.add_message(cid, "assistant", "It is 21:05 in Tokyo.")
    return cid


def test_later_turns_send_the_call_and_its_result_again(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history)
    history.add_message(cid, "user", "And in Paris?")
    turns = turns_for(history.messages(cid), "Be brief.")
    call = ToolCall(CALL["id"], CALL["name"], CALL["arguments"])
    assert turns == [Turn("system", "Be brief."), Turn("user", "What time is it in Tokyo?"),
                     Turn("assistant", "Let me look.", tool_calls=(call,)),
                     Turn("tool", RESULT, tool_call_id=CALL["id"]),
                     Turn("assistant", "It is 21:05 in Tokyo."), Turn("user", "And in Paris?")]


def test_a_call_left_without_a_result_is_not_sent(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history, answered=False)
    history.add_message(cid, "user", "Never mind.")
    assert [(t.role, t.content, t.tool_calls) for t in turns_for(history.messages(cid), "")] == [
        ("user", "What time is it in Tokyo?", ()), ("assistant", "Let me look.", ()), ("user", "Never mind.", ())]


def test_a_model_that_takes_no_tools_reads_them_as_text_in_turns_that_alternate(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history)
    history.add_message(cid, "user", "Thanks")
    turns = turns_for(history.messages(cid), "", with_tools=False)
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant", "user"]
    assert turns[1].content == 'Let me look.\n[called time_get_current_time with {"timezone": "Asia/Tokyo"}]'
    assert turns[2].content == f"[the result of time_get_current_time]\n{RESULT}"
    assert all(not t.tool_calls and not t.tool_call_id for t in turns)


def test_writing_a_reply_again_replaces_its_rounds_of_calls_too(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history)
    messages = history.messages(cid)
    first_round = messages[1]
    assert write_again(messages, None).replaced_from == first_round.id
    assert write_again(messages, messages[3].id).replaced_from == first_round.id  # from its last round
    assert write_again(messages, messages[0].id).replaced_from == first_round.id  # from the user's message


def test_the_markdown_export_shows_the_call_and_its_result(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history)
    text = conversation_markdown(history.conversation(cid), history.messages(cid))
    assert "**Called `time_get_current_time`** (call a1B2c3D4e)\n\n````json\n{\n  \"timezone\": \"Asia/Tokyo\"\n}\n````" in text
    assert "## Tool result · time_get_current_time · 0.2 s · done" in text
    assert f"````text\n{RESULT}\n````" in text


def test_the_json_export_carries_calls_exactly_and_import_restores_them(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history)
    exported = conversation_json(history.conversation(cid), history.messages(cid))
    copy = import_conversation(history, exported, "x.json")
    again = history.messages(copy.id)
    assert again[1].tool_calls == [CALL] and again[2].tool_call_id == CALL["id"] and again[2].role == "tool"
    assert turns_for(again, "") == turns_for(history.messages(cid), "")


def test_an_export_from_before_tools_still_imports(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    cid = conversation_with_a_call(history, answered=False)
    data = json.loads(conversation_json(history.conversation(cid), history.messages(cid)))
    for message in data["messages"]:
        del message["tool_calls"], message["tool_call_id"]
    copy = import_conversation(history, json.dumps(data), "old.json")
    assert [m.tool_calls for m in history.messages(copy.id)] == [[], []]


def test_search_finds_words_in_a_tools_result(tmp_path):
    history = History(tmp_path / "h.sqlite3")
    conversation_with_a_call(history)
    hits = history.search("datetime")
    assert hits and hits[0].role == "tool"
