"""A reasoning model's thinking: shown dimmed while it streams, folded to one line when the answer
starts, `t` shows it whole; kept in history and export, never sent back to the model."""

from __future__ import annotations

from mixtral_tui.chat.export import export_conversation
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, send, wait_for

PIECES = ["<think>", "The user", " greets me.", " Greet back.", "</think>", "\n\n", "Hello", " there", "!"]


def reply_view(app):
    return [v for v in app.active_view().transcript.messages() if v.message.role == "assistant"][-1]


async def test_thinking_streams_apart_folds_and_is_never_sent_back():
    engine = ScriptedEngine(PIECES, delay=0.05)
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.generation is not None and app.active_view().live is not None
                       and app.active_view().live.has_thinking, what="thinking on screen")
        live = app.active_view().live
        assert live.thinking_summary().startswith("thinking… ") and live.source == ""
        await wait_for(pilot, lambda: app.generation is None, what="the reply")
        view = reply_view(app)
        assert view.source == "Hello there!"  # the answer only
        assert view.message.thinking == "The user greets me. Greet back."
        summary = view.thinking_summary()
        assert summary.startswith("thought") and "4 tokens" in summary and "t shows it" in summary
        lines = [view.render_line(y).text for y in range(4)]
        assert any("thought" in line for line in lines) and not any("Greet back" in line for line in lines)

        await pilot.press("shift+tab", "t")  # picked: the whole thinking
        assert view.thinking_open
        await pilot.pause()
        assert any("Greet back" in view.render_line(y).text for y in range(6))

        await pilot.press("escape")
        await send(pilot, "and now?")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 2, what="the second reply")
        sent = [t.content for t in engine.prompts[-1]]
        assert "Hello there!" in sent and not any("Greet back" in text for text in sent)  # never sent back

        stored = app.history.messages(app.active_view().conversation_id)
        assert stored[1].thinking == "The user greets me. Greet back." and stored[1].content == "Hello there!"
        exported = export_conversation(app.history, app.active_view().conversation_id)
        assert "> **Thinking**" in exported and "> The user greets me. Greet back." in exported


async def test_words_in_the_thinking_are_found_and_shown_unfolded():
    from tests.ui.test_search_ui import hit_lines

    app = make_app(ScriptedEngine(PIECES))
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None)
        await send(pilot, "hi")
        await wait_for(pilot, lambda: app.generation is None and reply_view(app).message.thinking, what="the reply")
        assert not reply_view(app).thinking_open
        await pilot.press("ctrl+f", *"greets")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1, what="the hit in the thinking")
        assert "in its thinking" in hit_lines(app)[0] and "greets me" in hit_lines(app)[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: reply_view(app).thinking_open, what="the thinking unfolded")
