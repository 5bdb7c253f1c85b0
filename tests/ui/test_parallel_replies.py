"""Replies in several tabs at once, where the engine has slots for them (llama-server's
`--parallel`): each tab's reply streams, stops and ends on its own; the status line speaks of the
tab shown and counts the others; with every slot taken a send is refused and the text kept."""

from __future__ import annotations

from mixtral_tui.config import Sampling
from mixtral_tui.vocabulary import Status
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, notifications, send, wait_for


def stored_reply(app, conversation_id: int):
    messages = app.history.messages(conversation_id)
    return messages[-1] if messages and messages[-1].role == "assistant" else None


async def test_two_tabs_write_at_once_and_esc_stops_only_the_one_shown():
    pieces = [f"w{i} " for i in range(400)]
    engine = ScriptedEngine(pieces, delay=0.01, slots=2)
    app = make_app(engine, sampling=Sampling(max_tokens=1000))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        assert "2 slots" in app.status.model_text
        await send(pilot, "first")
        first = app.active_view().conversation_id
        await wait_for(pilot, lambda: app.replies.generations.get(first) and app.replies.generations[first].text)
        await app.run_action("new_conversation")
        second = app.active_view().conversation_id
        await send(pilot, "second", type_it=False)
        assert not any("being written" in n for n in notifications(app))
        await wait_for(pilot, lambda: second in app.replies.generations and app.replies.generations[second].text,
                       what="the second tab's reply")
        one, two = app.replies.generations[first], app.replies.generations[second]
        before = (len(one.text), len(two.text))
        await wait_for(pilot, lambda: len(one.text) > before[0] and len(two.text) > before[1], what="both streaming")
        assert app.generation is two  # the one shown
        assert "1 more in another tab" in app.status.state_text
        app.action_stop()  # Esc here stops this tab's reply only
        await wait_for(pilot, lambda: second not in app.replies.generations, what="the second to stop")
        assert first in app.replies.generations
        assert app.status.state_text == "Ready · a reply is being written in another tab"
        assert stored_reply(app, second).status == Status.STOPPED
        await app.run_action("previous_tab")
        assert app.active_view().conversation_id == first
        await wait_for(pilot, lambda: app.status.state_text.startswith("Writing"), what="its reply's state, shown")
        await wait_for(pilot, lambda: not app.replies.generations, what="the first to end")
        reply = stored_reply(app, first)
        assert reply.status == Status.DONE and reply.content == "".join(pieces)
        assert app.status.state_text == "Ready" and app.status.figures_text.startswith("last reply")


async def test_with_every_slot_writing_a_send_is_refused_and_its_text_kept():
    engine = ScriptedEngine([f"x{i} " for i in range(1000)], delay=0.01, slots=2)
    app = make_app(engine, sampling=Sampling(max_tokens=5000))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        for text in ("one", "two"):
            if app.replies.generations:
                await app.run_action("new_conversation")
            await send(pilot, text, type_it=False)
            await wait_for(pilot, lambda: app.active_view().conversation_id in app.replies.generations)
        await send(pilot, "two again", type_it=False)  # this tab writes already
        assert "A reply is being written here" in notifications(app)[-1]
        await app.run_action("new_conversation")
        third = app.active_view().conversation_id
        await send(pilot, "three", type_it=False)
        assert "All 2 of the model's slots are writing" in notifications(app)[-1]
        assert app.history.messages(third) == [] and app.active_view().composer.text == "three"
        assert app.status.state_text.startswith("Writing")  # nothing can be sent: a reply's state is shown
        app.action_stop()  # no reply here, and two elsewhere: Esc stops neither
        assert all(not g.cancel.cancelled for g in app.replies.generations.values())
        await app.replies.stop_and_wait()
        assert not app.replies.generations or all(g.cancel.cancelled for g in app.replies.generations.values())


async def test_one_slot_keeps_one_reply_at_a_time():
    engine = ScriptedEngine([f"x{i} " for i in range(1000)], delay=0.01)
    app = make_app(engine, sampling=Sampling(max_tokens=5000))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        assert "slots" not in app.status.model_text
        await send(pilot, "first")
        await wait_for(pilot, lambda: app.generation is not None)
        await app.run_action("new_conversation")
        assert app.status.state_text.startswith(("Writing", "Reading"))  # the only slot's reply, from this tab too
        app.action_stop()  # the only reply, written elsewhere: Esc stops it, as before
        await wait_for(pilot, lambda: app.generation is None, what="the stop")
