"""Ctrl+R writes the last reply again, and ↑ in an empty message box edits the last message: what
they replace stays (marked replaced, out of the model's sight), and nothing runs over a running reply."""

from mixtral_tui.chat.export import export_conversation
from mixtral_tui.chat.rules import turns_for
from mixtral_tui.config import Sampling
from mixtral_tui.store.history import Message
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.vocabulary import Status
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, notifications, send, wait_for


def message(role: str, content: str, status: str = "done") -> Message:
    return Message(id=0, conversation_id=1, role=role, content=content, created_at=0.0, status=status)


def test_replaced_replies_are_not_sent_to_the_model():
    messages = [message("user", "Q"), message("assistant", "first try", Status.REPLACED), message("assistant", "second")]
    assert [(t.role, t.content) for t in turns_for(messages, "")] == [("user", "Q"), ("assistant", "second")]


def views(app) -> list[tuple[str, str, str]]:
    return [(v.message.role, v.message.content, v.message.status) for v in app.active_view().query(MessageView)]


async def first_exchange(pilot, question: str) -> None:
    """Once the model is loaded, the question sent and its reply written."""
    app = pilot.app
    await wait_for(pilot, lambda: app.model_info is not None, what="model load")
    await send(pilot, question)
    await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 2, what="the first reply")


async def test_ctrl_r_writes_the_last_reply_again_and_keeps_the_old_one():
    engine = ScriptedEngine(["Paris", "."])
    app = make_app(engine)
    async with app.run_test() as pilot:
        await first_exchange(pilot, "capital of France?")

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 3, what="the reply written again")
        assert views(app) == [
            ("user", "capital of France?", "done"),
            ("assistant", "Paris.", Status.REPLACED),
            ("assistant", "Paris.", "done"),
        ]
        replaced = app.active_view().query(MessageView)[1]
        assert "replaced" in replaced.figures and "no longer sees it" in replaced.figures
        # make_app's sampling is greedy with seed 1: said so, and written again with a new seed.
        assert any("temperature is 0" in note for note in notifications(app))
        assert [s.seed for s in engine.samplings] == [1, -1]
        # The model saw the question only, as the first time: not its own earlier answer.
        assert [[t.role for t in turns if t.role != "system"] for turns in engine.prompts] == [["user"], ["user"]]
        conversation_id = app.active_view().conversation_id
        stored = app.history.messages(conversation_id)
        assert [(m.role, m.status) for m in stored] == [("user", "done"), ("assistant", Status.REPLACED), ("assistant", "done")]
        assert " · replaced · " in export_conversation(app.history, conversation_id)
        assert [h.status for h in app.history.search("paris", conversation_id=conversation_id)] == [Status.REPLACED, "done"]
        await pilot.press("ctrl+f", *"paris")  # found, both, the old one saying what it is
        await wait_for(pilot, lambda: app.screen.query_one("#hits").option_count == 2, what="two hits")
        hits = app.screen.query_one("#hits")
        assert "Assistant · Scripted (replaced)" in str(hits.get_option_at_index(0).prompt)
        assert "(replaced)" not in str(hits.get_option_at_index(1).prompt)
        await pilot.press("escape")

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


async def test_up_in_an_empty_box_edits_the_last_message_and_sending_replaces_it_and_its_reply():
    engine = ScriptedEngine(["Paris", "."])
    app = make_app(engine)
    async with app.run_test() as pilot:
        await first_exchange(pilot, "capital of Frnace?")
        composer = app.active_view().composer

        await pilot.press("up")
        assert composer.text == "capital of Frnace?" and composer.editing is not None
        assert "Editing" in str(composer.border_title)
        await pilot.press("escape")  # cancels the edit, and nothing else
        assert composer.text == "" and composer.editing is None and composer.border_title is None
        assert len(views(app)) == 2

        await pilot.press("up")
        composer.text = "capital of France?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 4, what="the reply to the edit")
        assert [(role, status) for role, _, status in views(app)] == [
            ("user", Status.REPLACED), ("assistant", Status.REPLACED), ("user", "done"), ("assistant", "done")
        ]
        assert [(t.role, t.content) for t in engine.prompts[-1] if t.role != "system"] == [("user", "capital of France?")]
        assert composer.editing is None and composer.border_title is None
        stored = app.history.messages(app.active_view().conversation_id)
        assert [m.status for m in stored] == [Status.REPLACED, Status.REPLACED, "done", "done"]

        await pilot.press("up", "enter")  # sent again unchanged: replaces the last exchange only
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 6, what="the third reply")
        assert [t.content for t in engine.prompts[-1] if t.role != "system"] == ["capital of France?"]


async def test_editing_waits_for_a_reply_being_written_in_that_conversation():
    app = make_app(ScriptedEngine([f"w{i} " for i in range(300)], delay=0.01), sampling=Sampling(max_tokens=1000))
    async with app.run_test() as pilot:
        await wait_for(pilot, lambda: app.model_info is not None, what="model load")
        await pilot.press("up")
        assert any("no message of yours" in note for note in notifications(app))
        await send(pilot, "go on")
        await wait_for(pilot, lambda: app.generation is not None and app.generation.text, what="the reply")
        composer = app.active_view().composer
        composer.focus()
        await pilot.press("up")
        assert composer.editing is None and any("stop it (Esc) first" in note for note in notifications(app))
        await pilot.press("escape")  # not editing: Esc stops the reply as ever
        await wait_for(pilot, lambda: app.generation is None, what="the reply to stop")


async def test_emptying_the_box_during_an_edit_keeps_editing_until_esc():
    """Ctrl+U used to cancel the edit silently: the new text then went in as a new message and
    the old turn stayed in the prompt."""
    engine = ScriptedEngine(["Paris", "."])
    app = make_app(engine)
    async with app.run_test() as pilot:
        await first_exchange(pilot, "capital of Frnace?")
        composer = app.active_view().composer
        await pilot.press("up", "ctrl+u")
        assert composer.text == "" and composer.editing is not None and "Editing" in str(composer.border_title)
        await pilot.press(*"capital of France?", "enter")
        await wait_for(pilot, lambda: app.generation is None and len(views(app)) == 4, what="the reply to the edit")
        assert [t.content for t in engine.prompts[-1] if t.role != "system"] == ["capital of France?"]
        assert views(app)[0][2] == Status.REPLACED


async def test_esc_on_an_edit_gives_back_the_text_the_box_held():
    app = make_app(ScriptedEngine(["Paris", "."]))
    async with app.run_test() as pilot:
        await first_exchange(pilot, "capital of France?")
        composer = app.active_view().composer
        composer.text = "a half-written next question"
        await pilot.press("shift+tab", "up", "e")  # the user's message, picked
        assert composer.editing is not None and composer.text == "capital of France?"
        await pilot.press("escape")
        assert composer.editing is None and composer.text == "a half-written next question"


async def test_shift_tab_starts_at_the_newest_message_not_the_one_picked_last_time():
    app = make_app(ScriptedEngine(["Paris", "."]))
    async with app.run_test() as pilot:
        await first_exchange(pilot, "capital of France?")
        view = app.active_view()
        await pilot.press("shift+tab", "up", "e", "escape")  # the first message picked, then back to typing
        assert app.focused is view.composer
        await pilot.press("shift+tab")
        assert view.transcript.picked is view.transcript.messages()[-1]  # the reply, the newest
