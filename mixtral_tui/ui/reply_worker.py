"""The thread that writes one reply: from the conversation as stored to the reply stored, its news
posted to the UI as messages (it never touches a widget).

Several run at once when the engine has slots for them (llama-server's `--parallel`), one per
conversation; each has its own `Generation` (ui/reply_controller.py), mailbox and cancel token.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import TYPE_CHECKING

from mixtral_tui.chat.tool_rounds import ToolReply
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import Chunk, Engine
from mixtral_tui.errors import PromptTooLongError, UserError
from mixtral_tui.store.history import Message
from mixtral_tui.ui.app_tools import ToolEvent
from mixtral_tui.ui.keys import key_for
from mixtral_tui.ui.messages import ReplyChunk, ReplyFinished, ReplyStarted

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.reply_controller import Generation


def write_reply(app: MixtralApp, engine: Engine, sampling: Sampling, system_prompt: str, generation: Generation,
                loop: asyncio.AbstractEventLoop) -> None:
    """The worker's body: one reply from history to history."""
    conversation_id = generation.conversation_id
    tools = app.tools.use(conversation_id, generation.cancel)
    run = ToolReply(engine, app.history, conversation_id, sampling, system_prompt, tools, generation.cancel)

    def current() -> Message | None:
        return run.rounds[-1].message if run.rounds else None

    def deliver(chunk: Chunk) -> None:
        if generation.mailbox.put(chunk):
            app.post_message(ReplyChunk(conversation_id))

    def asked() -> None:
        loop.call_soon_threadsafe(generation.asked.set)

    def notice() -> Message | None:
        last = run.rounds[-1].notice if run.rounds else None
        return replace(last) if last is not None else None

    def round_ended(message: Message) -> None:  # it ends in calls: their results, then the next round
        app.post_message(ToolEvent("round", conversation_id, message=replace(message)))

    def started(message: Message) -> None:
        # A copy: the worker keeps filling in its own object while the UI builds the view.
        app.post_message(ReplyStarted(conversation_id, replace(message), notice()))

    try:
        message = run.run(on_chunk=deliver, on_start=started, on_asked=asked, on_calls=round_ended)
    except PromptTooLongError as exc:  # in the app: the message comes back with ↑, the context is in F3
        advice = (f"↑ in the empty message box brings it back to shorten; {key_for('settings')} sets the "
                  "context size (model.context_size)")
        app.post_message(ReplyFinished(conversation_id, current(), f"{exc} {advice}.", notice()))
    except UserError as exc:
        app.post_message(ReplyFinished(conversation_id, current(), str(exc), notice()))
    except Exception as exc:
        app.post_message(ReplyFinished(conversation_id, current(), f"the reply failed: {exc}", notice()))
    else:
        app.post_message(ReplyFinished(conversation_id, message, notice=notice()))
    finally:
        asked()  # failed before asking: nobody waits for it
        app.history.close()  # this thread's connection
