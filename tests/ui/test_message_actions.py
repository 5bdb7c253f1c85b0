"""Picking a message in the transcript (Shift+Tab from the message box, then ↑ ↓) and acting on
it: copy it or its code blocks, edit a message sent long ago, write the conversation again from
any reply. What is replaced stays, marked, out of the model's sight."""

import asyncio

from mixtral_tui.config import Sampling
from mixtral_tui.paths import app_paths
from mixtral_tui.store.history import History
from mixtral_tui.ui.conversations import pane_id
from mixtral_tui.ui.markdown.code_blocks import code_blocks
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.ui.widgets.sidebar import ConversationList
from mixtral_tui.vocabulary import Status
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, notifications, send, wait_for

CODE_REPLY = """Two ways:

```python
print("one")
```

and, indented:

    print("two")

- in a list:
  ~~~sh
  echo three
  ~~~
"""


def test_code_blocks_are_the_blocks_markdown_draws():
    blocks = code_blocks(CODE_REPLY + "\n```js\nlet left = 'open'")  # a stopped reply leaves one open
    assert [(b.language, b.code) for b in blocks] == [
        ("python", 'print("one")\n'),
        ("", 'print("two")\n'),
        ("sh", "echo three\n"),
        ("js", "let left = 'open'"),
    ]
    assert code_blocks("no code, only `inline` spans") == []


def conversation_of(*turns: str) -> History:
    """A stored conversation of alternating user / assistant messages."""
    paths = app_paths()
    paths.ensure()
    history = History(paths.database)
    conversation = history.create_conversation("Chat")
    for index, text in enumerate(turns):
        history.add_message(conversation.id, "user" if index % 2 == 0 else "assistant", text)
    return history


def shown(app) -> list[tuple[str, str, str]]:
    return [(v.message.role, v.message.content, v.message.status) for v in app.active_view().query(MessageView)]


def picked(app) -> str | None:
    view = app.active_view().transcript.picked
    return view.message.content if view is not None and view.picked else None


async def opened(pilot, turns: int) -> None:
    app = pilot.app
    await wait_for(pilot, lambda: app.model_info is not None and len(shown(app)) == turns, what="the chat")
    await pilot.pause()


async def test_shift_tab_picks_the_newest_message_and_arrows_move_between_messages():
    app = make_app(ScriptedEngine(), history=conversation_of("first question", "first answer", "second question", CODE_REPLY))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 4)
        view = app.active_view()
        await pilot.press("shift+tab")
        assert app.focused is view.transcript and picked(app) == CODE_REPLY
        label = view.transcript.picked.render_line(0).text
        assert "▶" in label  # marked in text too, for terminals without colour

        await pilot.press("up", "up")
        assert picked(app) == "first answer"
        await pilot.press("up", "up")  # the first: stays there
        assert picked(app) == "first question"
        await pilot.press("down")
        assert picked(app) == "first answer"
        assert "▶" not in view.query(MessageView)[3].render_line(0).text  # one mark at a time

        await pilot.press("escape")  # back to typing: the mark goes
        assert app.focused is view.composer and picked(app) is None
        await pilot.press("shift+tab")  # and starts at the newest again, not where it was
        assert picked(app) == CODE_REPLY


async def test_c_copies_the_picked_message_and_b_its_code_blocks_one_after_another():
    app = make_app(ScriptedEngine(), history=conversation_of("show me code", CODE_REPLY))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 2)
        await pilot.press("shift+tab", "c")
        assert app.clipboard == CODE_REPLY
        await pilot.press("b")
        assert app.clipboard == 'print("one")\n'
        assert any("block 1 of 3" in note for note in notifications(app))
        await pilot.press("b")
        assert app.clipboard == 'print("two")\n'
        await pilot.press("b", "b")  # after the last, the first again
        assert app.clipboard == 'print("one")\n'

        await pilot.press("up", "b")  # the question has none: said so, the clipboard left alone
        assert app.clipboard == 'print("one")\n' and "no code block" in notifications(app)[-1]
        await pilot.press("c")
        assert app.clipboard == "show me code"


async def test_e_edits_an_earlier_message_and_what_followed_it_is_replaced():
    engine = ScriptedEngine(["Rome", "."])
    app = make_app(engine, history=conversation_of("capital of France?", "Paris.", "and of Spain?", "Madrid."))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 4)
        composer = app.active_view().composer
        await pilot.press("shift+tab", "e")  # on a reply: not for editing (the key is shown dimmed)
        assert composer.editing is None and app.focused is app.active_view().transcript

        await pilot.press("up", "up", "up", "e")  # the first question, back in the box
        assert app.focused is composer and composer.text == "capital of France?"
        assert "3 after it will be replaced" in str(composer.border_title)
        composer.text = "capital of Italy?"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and len(shown(app)) == 6, what="the new reply")

        assert shown(app) == [
            ("user", "capital of France?", Status.REPLACED),
            ("assistant", "Paris.", Status.REPLACED),
            ("user", "and of Spain?", Status.REPLACED),
            ("assistant", "Madrid.", Status.REPLACED),
            ("user", "capital of Italy?", "done"),
            ("assistant", "Rome.", "done"),
        ]
        # The model saw the edited question alone: nothing of what it replaced.
        assert [(t.role, t.content) for t in engine.prompts[-1] if t.role != "system"] == [("user", "capital of Italy?")]

        await pilot.press("shift+tab", "up", "up", "up")  # past the new question and reply
        assert picked(app) == "and of Spain?"
        app.active_view().transcript.action_choose("edit")  # (its key is dimmed: the action itself refuses too)
        await pilot.pause()
        assert composer.editing is None and "replaced already" in notifications(app)[-1]


async def test_r_writes_the_conversation_again_from_a_reply_or_from_a_question():
    engine = ScriptedEngine(["New", "."])
    app = make_app(engine, history=conversation_of("one?", "Uno.", "two?", "Dos."))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 4)
        await pilot.press("shift+tab", "up", "up", "r")  # the first reply
        await wait_for(pilot, lambda: app.generation is None and len(shown(app)) == 5, what="the reply written again")
        assert [(role, text, status) for role, text, status in shown(app)] == [
            ("user", "one?", "done"),
            ("assistant", "Uno.", Status.REPLACED),
            ("user", "two?", Status.REPLACED),
            ("assistant", "Dos.", Status.REPLACED),
            ("assistant", "New.", "done"),
        ]
        assert [(t.role, t.content) for t in engine.prompts[-1] if t.role != "system"] == [("user", "one?")]
        assert engine.samplings[-1].seed == -1  # drawn anew

        await pilot.press("shift+tab")
        for _ in range(4):
            await pilot.press("up")
        assert picked(app) == "one?"
        await pilot.press("r")  # from the question: its reply is written again
        await wait_for(pilot, lambda: app.generation is None and len(shown(app)) == 6, what="another reply")
        assert [status for _, _, status in shown(app)][-2:] == [Status.REPLACED, "done"]
        assert [(t.role, t.content) for t in engine.prompts[-1] if t.role != "system"] == [("user", "one?")]


async def test_nothing_is_written_again_over_a_running_reply_and_esc_there_stops_it():
    engine = ScriptedEngine([f"w{i} " for i in range(400)], delay=0.01)
    app = make_app(engine, history=conversation_of("one?", "Uno."), sampling=Sampling(max_tokens=1000))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 2)
        composer = app.active_view().composer
        composer.text = "go on"
        composer.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is not None and app.active_view().live is not None, what="a reply")
        app.active_view().transcript.focus()
        await pilot.press("up", "up", "r")
        assert any("A reply is being written" in note for note in notifications(app))
        await pilot.press("escape")  # in the transcript, Esc stops the reply as anywhere
        await wait_for(pilot, lambda: app.generation is None, what="the reply stopped")
        assert engine.cancel_seen_at is not None
        assert len(shown(app)) == 4


async def test_up_on_the_first_message_shown_brings_in_the_page_before_it():
    turns = [f"message {i}" for i in range(30)]
    app = make_app(ScriptedEngine(), history=conversation_of(*turns))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.model_info is not None and len(shown(app)) == 20, what="the last page")
        await pilot.pause()
        await pilot.press("shift+tab")
        for _ in range(19):
            await pilot.press("up")
        assert picked(app) == "message 10"
        await pilot.press("up")
        await wait_for(pilot, lambda: len(shown(app)) == 30, what="the page before")
        assert picked(app) == "message 9"
        transcript = app.active_view().transcript
        on_screen = lambda: transcript.scrollable_content_region.overlaps(transcript.picked.region)  # noqa: E731
        await wait_for(pilot, on_screen, what="it on screen")


async def test_what_is_replaced_is_folded_and_enter_folds_or_unfolds_any_message():
    long = "\n\n".join(f"Paragraph {i} of the answer." for i in range(30))
    app = make_app(ScriptedEngine(["New", "."]), history=conversation_of("one?", long))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 2)
        reply = app.active_view().query(MessageView)[1]
        tall = reply.size.height
        await pilot.press("shift+tab", "enter")  # the long reply, folded to its label and a line
        await pilot.pause()
        assert reply.folded and reply.size.height == 2
        assert reply.render_line(1).text.startswith("folded · 150 words: Paragraph 0 of the answer.")
        await pilot.press("enter")
        await pilot.pause()
        assert not reply.folded and reply.size.height == tall

        await pilot.press("r")  # written again: the old reply folds out of the way
        await wait_for(pilot, lambda: app.generation is None and len(shown(app)) == 3, what="the new reply")
        await pilot.pause()
        assert reply.message.status == Status.REPLACED and reply.folded and reply.size.height == 2
        assert reply.render_line(1).text.startswith("replaced · folded · 150 words: Paragraph 0")

        await pilot.press("ctrl+f", *"paragraph")  # found in it: it opens unfolded, to be read
        await wait_for(pilot, lambda: app.screen.query_one("#hits").option_count == 1, what="the hit")
        await pilot.press("enter")

        def unfolded() -> bool:
            found = app.active_view().query(MessageView)[1]
            return found.message.status == Status.REPLACED and not found.folded and found.size.height > tall  # (+ its note)

        await wait_for(pilot, unfolded, what="it unfolded")


async def test_f_forks_a_new_conversation_that_ends_with_the_picked_message():
    engine = ScriptedEngine(["Tres", "."])
    history = conversation_of("one?", "Uno.", "two?", "Dos.")
    history.set_overrides(1, "Answer in Spanish.", {"temperature": 0.5})
    app = make_app(engine, history=history)
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 4)
        original = app.active_view().conversation_id
        await pilot.press("shift+tab", "up", "up", "f")  # from the first reply
        await wait_for(pilot, lambda: app.active_view().conversation_id != original, what="the fork's tab")
        fork = app.history.conversation(app.active_view().conversation_id)
        assert fork.title == "Chat" and fork.forked_from == original and fork.system_prompt == "Answer in Spanish."
        assert fork.sampling == {"temperature": 0.5}
        assert [(m.role, m.content) for m in app.history.messages(fork.id)] == [("user", "one?"), ("assistant", "Uno.")]
        assert len(app.history.search("uno", conversation_id=fork.id)) == 1  # searchable as any
        assert app.focused is app.active_view().composer and "Forked “Chat” into a new chat" in notifications(app)[-1]
        listed = app.query_one(ConversationList).get_option_at_index(0).prompt
        assert str(listed).splitlines() == ["Chat", "fork · 2 messages · now"]  # told apart on its own line
        assert str(app.conversations.tabs.get_tab(pane_id(fork.id)).label) == "↳ Chat"
        assert len(app.conversations.tabs.query("TabPane")) == 2

        await send(pilot, "three?", type_it=False)
        await wait_for(pilot, lambda: app.generation is None and len(shown(app)) == 4, what="the fork's reply")
        assert [(t.role, t.content) for t in engine.prompts[-1]] == [
            ("system", "Answer in Spanish."), ("user", "one?"), ("assistant", "Uno."), ("user", "three?"),
        ]
        # The original is as it was.
        assert [m.content for m in app.history.messages(original)] == ["one?", "Uno.", "two?", "Dos."]


async def test_a_click_on_a_message_picks_it():
    app = make_app(ScriptedEngine(), history=conversation_of("first question", "first answer", "second question"))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 3)
        first = app.active_view().query(MessageView)[0]
        await pilot.click(first)
        assert app.focused is app.active_view().transcript and picked(app) == "first question"
        await pilot.press("down")
        assert picked(app) == "first answer"


async def test_typed_after_a_click_is_text_for_the_message_box_never_an_action():
    """A click in the conversation, then "Hello from the browser…": a fork appeared at the `f` and
    the letters before it were taken as keys. Now the pick ends at the first letter and every
    letter goes to the message box; the letters act only in the keyboard's pick mode."""
    app = make_app(ScriptedEngine(), history=conversation_of("first question", "first answer"))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 2)
        conversation = app.active_view().conversation_id
        await pilot.click(app.active_view().query(MessageView)[1])
        assert picked(app) == "first answer"
        footer_keys = {b.key for _n, b, enabled, _t in app.screen.active_bindings.values() if enabled}
        assert not {"c", "b", "e", "r", "f"} & footer_keys  # not offered after a click
        await pilot.press(*"Hello from the browser, tell me a joke")
        await pilot.pause()
        view = app.active_view()
        assert view.conversation_id == conversation and len(app.conversations.tabs.query("TabPane")) == 1
        assert app.focused is view.composer and view.composer.text == "Hello from the browser, tell me a joke"
        assert picked(app) is None and not [n for n in notifications(app) if "copied" in n]
        await pilot.press("shift+tab")  # the keyboard's pick mode: the letters act again
        await wait_for(pilot, lambda: app.focused is view.transcript, what="the transcript")
        await pilot.press("c")
        await wait_for(pilot, lambda: any("copied" in n for n in notifications(app)), what="the copy")
        assert view.composer.text == "Hello from the browser, tell me a joke"


async def test_keys_typed_fast_after_a_click_reach_the_message_box_in_order():
    """As a browser sends them: all at once. Redirected one by one from the transcript, those still
    queued there reached the box after later ones sent to it directly ("Hello the browser,from ")."""
    from textual import events

    app = make_app(ScriptedEngine(), history=conversation_of("first question", "first answer"))
    async with app.run_test(size=(100, 40)) as pilot:
        await opened(pilot, 2)
        await pilot.click(app.active_view().query(MessageView)[1])
        text = "Hello from the browser, tell me a joke, and then another one about terminals"
        view = app.active_view()
        # The app hands the first key on: the box must have the focus by then, so that the keys the
        # app hands on next go there behind it, not to the transcript's queue to be redirected later.
        await app.on_event(events.Key(text[0], text[0]))
        assert app.focused is view.composer
        for index, character in enumerate(text[1:]):  # posted as the driver posts keys, as they come over a network
            app.post_message(events.Key(character, character))
            if index % 3 == 2:
                await asyncio.sleep(0.001)
        await wait_for(pilot, lambda: len(view.composer.text) == len(text), what="every key")
        assert view.composer.text == text and app.focused is view.composer


async def test_a_replaced_reply_offers_no_fork_and_says_why_when_f_is_pressed():
    """`f` on a "replaced" reply silently did nothing while the footer offered "f Fork"."""
    app = make_app(ScriptedEngine(["New", "."]), history=conversation_of("one?", "Old answer."))
    async with app.run_test(size=(140, 40)) as pilot:
        await opened(pilot, 2)
        await pilot.press("shift+tab", "r")
        await wait_for(pilot, lambda: app.generation is None and len(shown(app)) == 3, what="the new reply")
        await pilot.press("shift+tab", "up")
        await wait_for(pilot, lambda: picked(app) == "Old answer.", what="the replaced reply picked")
        offered = {b.key for _n, b, enabled, _t in app.screen.active_bindings.values() if enabled}
        assert not {"e", "r", "f"} & offered and "c" in offered
        conversations = len(app.history.conversations())
        await pilot.press("f")
        await wait_for(pilot, lambda: any("was replaced" in n for n in notifications(app)), what="why not")
        assert len(app.history.conversations()) == conversations
