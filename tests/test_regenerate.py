"""Ctrl+R writes the last reply again: the old one stays (marked replaced, out of the model's
sight), a reply to a message left without one is written, and nothing runs over a running reply."""

from mixtral_tui.config import Sampling
from mixtral_tui.export import export_conversation
from mixtral_tui.reply import REPLACED, turns_for
from mixtral_tui.store.history import Message
from mixtral_tui.ui.widgets.message import MessageView
from tests.fixtures.fake_engine import ScriptedEngine
from tests.pilot_helpers import make_app, notifications, send, wait_for


def message(role: str, content: str, status: str = "done") -> Message:
    return Message(id=0, conversation_id=1, role=role, content=content, created_at=0.0, status=status)


def test_replaced_replies_are_not_sent_to_the_model():
    messages = [message("user", "Q"), message("assistant", "first try", REPLACED), message("assistant", "second")]
    assert [(t.role, t.content) for t in turns_for(messages, "")] == [("user", "Q"), ("assistant", "second")]


def views(app) -> list[tuple[str, str, str]]:
    return [(v.message.role, v.message.content, v.message.status) for v in app.active_view().query(MessageView)]


async def test_ctrl_r_writes_the_last_reply_again_and_keeps_the_old_one():
    engine = ScriptedEngine(["Paris", "."])
    app = make_app(engine)
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await send(pilot, "capital of France?")
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 2, what="the first reply")

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 3, what="the reply written again")
        assert views(app) == [
            ("user", "capital of France?", "done"),
            ("assistant", "Paris.", REPLACED),
            ("assistant", "Paris.", "done"),
        ]
        replaced = app.active_view().query(MessageView)[1]
        assert "replaced" in replaced.figures and "Ctrl+R" in replaced.figures
        # The model saw the question only, as the first time: not its own earlier answer.
        assert [[t.role for t in turns if t.role != "system"] for turns in engine.prompts] == [["user"], ["user"]]
        conversation_id = app.active_view().conversation_id
        stored = app.history.messages(conversation_id)
        assert [(m.role, m.status) for m in stored] == [("user", "done"), ("assistant", REPLACED), ("assistant", "done")]
        assert "_(replaced" in export_conversation(app.history, conversation_id)

        await send(pilot, "and of Italy?")  # the conversation goes on from the new reply
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 5, what="the next reply")
        assert [t.role for t in engine.prompts[-1] if t.role != "system"] == ["user", "assistant", "user"]


async def test_ctrl_r_answers_a_message_left_without_a_reply_and_refuses_when_it_cannot():
    engine = ScriptedEngine([f"w{i} " for i in range(300)], delay=0.01)
    app = make_app(engine, sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await pilot.press("ctrl+r")  # an empty conversation (the model may still be loading: either note will do)
        assert any("write a message first" in note or "loading" in note for note in notifications(app))
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        conversation_id = app.active_view().conversation_id
        app.history.add_message(conversation_id, "user", "left without a reply")  # as after a failed reply

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.generation is not None, what="a reply to it")
        await pilot.press("ctrl+r")  # while it is being written: refused, said so
        assert any("A reply is being written" in note for note in notifications(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.generation is None, what="the reply to stop")
        stored = app.history.messages(conversation_id)
        assert [(m.role, m.status) for m in stored] == [("user", "done"), ("assistant", "stopped")]
        assert engine.prompts[0][-1].content == "left without a reply"
