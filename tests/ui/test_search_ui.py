"""Ctrl+F in the app: results follow the typing, Enter opens the conversation at the message
found (a page around it when it is far back), and the newest messages are one key away."""

from textual.widgets import Input, OptionList

from mixtral_tui.config import Sampling
from mixtral_tui.paths import app_paths
from mixtral_tui.store.history import History
from mixtral_tui.ui.screens.search import SearchScreen
from mixtral_tui.ui.widgets.chat_view import PAGE
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.ui.widgets.sidebar import ConversationList
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, send, wait_for


def saved_history(long_one: int = 0) -> History:
    """Two short chats, and (when asked) a long one whose 11th message holds the word "walrus"."""
    paths = app_paths()
    paths.ensure()
    history = History(paths.database)
    bread = history.create_conversation("Baking")
    history.add_message(bread.id, "user", "How do I bake sourdough bread?")
    history.add_message(bread.id, "assistant", "Mix flour and water, then [bold]bake[/bold] it.")
    if long_one:
        long = history.create_conversation("Long")
        for m in range(long_one):
            text = "the walrus speaks" if m == 10 else f"message {m}"
            history.add_message(long.id, "user" if m % 2 == 0 else "assistant", text)
    rivers = history.create_conversation("Geography")  # the newest: the one the app opens
    history.add_message(rivers.id, "user", "Name three rivers.")
    return history


def hit_lines(app) -> list[str]:
    hits = app.screen.query_one("#hits", OptionList)
    return [str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count)]


def shown(app) -> list[str]:
    return [v.message.content for v in app.active_view().query(MessageView)]


async def test_typing_finds_messages_and_enter_opens_the_one_chosen():
    app = make_app(ScriptedEngine(), history=saved_history())
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        assert shown(app) == ["Name three rivers."]
        await pilot.press("ctrl+f")
        assert isinstance(app.screen, SearchScreen)
        await pilot.press(*"bak")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 3, what="three hits")
        lines = hit_lines(app)
        assert lines[0].startswith("Baking") and "Title" in lines[0]
        assert "How do I bake sourdough bread?" in lines[1]
        assert "[bold]bake[/bold]" in lines[2]  # model text is shown as written, never as markup
        assert "3 found" in str(app.screen.query_one("#summary").render())

        await pilot.press("down", "down", "enter")  # the assistant's message
        await wait_for(pilot, lambda: not isinstance(app.screen, SearchScreen))
        await wait_for(pilot, lambda: app.active_view().conversation_id == 1, what="the Baking chat")
        view = app.active_view()
        [found] = [v for v in view.query(MessageView) if v.has_class("-found")]
        assert found.message.content.startswith("Mix flour")
        assert app.focused is view.composer
        assert app.query_one(ConversationList).highlighted_conversation == 1


async def test_ctrl_t_searches_the_open_conversation_only_in_the_order_written_and_back():
    history = saved_history()
    baking, rivers = [c.id for c in sorted(history.conversations(), key=lambda c: c.id)]
    history.add_message(baking, "user", "Are there rivers of bread?")
    history.add_message(rivers, "assistant", "The Nile, the Amazon and the Yangtze: three rivers.")  # opens
    app = make_app(ScriptedEngine(), history=history)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and len(shown(app)) == 2)
        await pilot.press("ctrl+f", *"rivers")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 3, what="three hits in every conversation")
        assert "every saved conversation" in str(app.screen.query_one("#title").render())

        await pilot.press("ctrl+t")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 2, what="the two of this conversation")
        assert "Geography" in str(app.screen.query_one("#title").render())
        lines = hit_lines(app)
        assert "Name three rivers." in lines[0] and "three rivers." in lines[1]  # the order written
        assert not any("bread" in line for line in lines)
        await pilot.press(*" amaz")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1)
        await pilot.press(*" bread")
        await wait_for(pilot, lambda: "Ctrl+T searches every" in str(app.screen.query_one("#summary").render()))

        await pilot.press("ctrl+t")  # back to every conversation: the same words, found nowhere either
        await wait_for(pilot, lambda: "Nothing saved" in str(app.screen.query_one("#summary").render()))
        assert "every saved conversation" in str(app.screen.query_one("#title").render())


async def test_no_match_and_escape_say_so_and_change_nothing():
    app = make_app(ScriptedEngine(), history=saved_history())
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        await pilot.press("ctrl+f", *"zebra")
        await wait_for(pilot, lambda: "Nothing saved" in str(app.screen.query_one("#summary").render()))
        await pilot.press("enter")  # nothing to open: the search stays
        assert isinstance(app.screen, SearchScreen)
        app.screen.query_one(Input).value = ""
        await wait_for(pilot, lambda: "Type words" in str(app.screen.query_one("#summary").render()))
        await pilot.press("escape")
        assert not isinstance(app.screen, SearchScreen)
        assert shown(app) == ["Name three rivers."]


async def test_a_message_far_back_opens_with_a_page_around_it_and_end_brings_the_newest():
    total = PAGE * 10
    app = make_app(ScriptedEngine(), history=saved_history(long_one=total))
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        await pilot.press("ctrl+f", *"walrus")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.active_view().conversation_id == 2 and "the walrus speaks" in shown(app))
        view = app.active_view()
        transcript = view.transcript
        assert shown(app)[0] == "message 5" and len(shown(app)) == PAGE  # a few before it, then a page
        assert "5 earlier messages" in str(transcript.query_one(".earlier").render())
        assert f"{total - PAGE - 5:,} later messages" in str(transcript.query_one(".later").render())
        await pilot.pause()
        walrus = next(v for v in view.query(MessageView) if v.message.content == "the walrus speaks")
        assert walrus.has_class("-found")
        area = transcript.scrollable_content_region

        def in_the_middle() -> bool:  # on screen, about the middle (once the scroll to it has settled)
            return area.overlaps(walrus.region) and area.height // 3 <= walrus.region.y - area.y <= 2 * area.height // 3

        await wait_for(pilot, in_the_middle, timeout=3, what="the found message in the middle of the view")

        transcript.focus()
        transcript.scroll_end(animate=False)  # read down to the bottom: the next page comes in under it
        await wait_for(pilot, lambda: len(shown(app)) == 2 * PAGE, what="the next page")
        await pilot.pause()
        assert shown(app)[-1] == f"message {5 + 2 * PAGE - 1}"
        assert len(shown(app)) == 2 * PAGE and transcript.scroll_y < transcript.max_scroll_y  # not pulled along

        await pilot.press("end")  # the newest, as when the chat opens
        await wait_for(pilot, lambda: shown(app)[-1] == f"message {total - 1}", what="the newest page")
        assert not transcript.query(".later") and len(shown(app)) == PAGE

        await pilot.press("ctrl+f", *"walrus", "enter")  # its tab is open now: the view pages back to it
        await wait_for(pilot, lambda: "the walrus speaks" in shown(app) and transcript.query(".later"))
        assert app.focused is view.composer
        await pilot.press("ctrl+end")  # from the message box, too
        await wait_for(pilot, lambda: shown(app)[-1] == f"message {total - 1}", what="the newest page again")


async def test_sending_from_a_found_message_goes_to_the_end_of_the_conversation():
    total = PAGE * 4
    app = make_app(ScriptedEngine(), history=saved_history(long_one=total))
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        await pilot.press("ctrl+f", *"walrus", "enter")
        await wait_for(pilot, lambda: app.active_view().conversation_id == 2 and app.active_view().transcript.query(".later"))
        await send(pilot, "and now?")
        await wait_for(pilot, lambda: app.generation is None and shown(app)[-1] != "and now?", what="the reply")
        view = app.active_view()
        assert shown(app)[-2] == "and now?"
        assert shown(app)[-3] == f"message {total - 1}"  # everything before it is back in order
        assert not view.transcript.query(".later")
        assert [m.content for m in app.history.messages(2)][-2] == "and now?"


async def test_a_message_found_while_a_reply_streams_in_its_conversation_is_paged_in_above_it():
    total = PAGE * 3
    engine = ScriptedEngine([f"piece {i} " for i in range(60)], delay=0.05)
    app = make_app(engine, history=saved_history(long_one=total), sampling=Sampling(max_tokens=100))
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        await pilot.press("ctrl+f", *"the walrus")  # open the long chat at the walrus, then go to its end
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.active_view().conversation_id == 2 and "the walrus speaks" in shown(app))
        await pilot.press("ctrl+end")
        await wait_for(pilot, lambda: "the walrus speaks" not in shown(app), what="the newest page")
        await send(pilot, "and now?")
        await wait_for(pilot, lambda: app.generation is not None and app.active_view().live is not None)

        app.action_search()  # Ctrl+F while the reply streams
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and app.screen.query(Input))
        app.screen.query_one(Input).value = "walrus"
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1)
        await pilot.press("enter")
        view = app.active_view()
        await wait_for(pilot, lambda: "the walrus speaks" in shown(app), what="pages added above the reply")
        assert app.generation is not None and view.live is not None  # the reply goes on meanwhile
        assert not view.transcript.query(".later")
        await wait_for(pilot, lambda: app.generation is None, what="the reply's end")
        assert shown(app)[-2] == "and now?"
        assert shown(app)[-1].strip() == "".join(f"piece {i} " for i in range(60)).strip()
        assert shown(app)[:11][-1] == "the walrus speaks"  # everything in order, nothing twice
        assert len(shown(app)) == len(set(shown(app))) == total + 2


def with_a_long_reply(paragraphs: dict[int, str]) -> tuple[History, int]:
    """saved_history() and a conversation of one 150-paragraph reply, these paragraphs in it."""
    history = saved_history()
    long = history.create_conversation("Long reply")
    lines = [paragraphs.get(i, f"Paragraph {i} of a long answer.") for i in range(150)]
    history.add_message(long.id, "assistant", "\n\n".join(lines))
    return history, long.id


def rows_in_view(transcript) -> range:
    return range(int(transcript.scroll_y), int(transcript.scroll_y) + transcript.scrollable_content_region.height)


async def open_the_long_reply(pilot, app, long_id: int) -> tuple:
    """Enter on the hit chosen; once the long reply's conversation is laid out, its view and message."""
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.active_view().conversation_id == long_id and shown(app))
    await pilot.pause()
    await pilot.pause()
    view = app.active_view()
    [message] = view.query(MessageView)
    return view, message


async def test_a_long_message_opens_at_the_line_with_the_word_found():
    history, long_id = with_a_long_reply({120: "Paragraph 120 is where the narwhal swims."})
    app = make_app(ScriptedEngine(), history=history)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        await pilot.press("ctrl+f", *"narwh")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1)
        view, message = await open_the_long_reply(pilot, app, long_id)
        line = message.line_with("narwhal")
        assert line is not None and line > 200  # far below the message's start
        assert message.virtual_region.y + line in rows_in_view(view.transcript)


async def test_a_long_message_opens_at_the_passage_found_not_the_first_place_with_its_word():
    history, long_id = with_a_long_reply({
        5: "Paragraph 5 names the walrus once, in passing.",
        130: "Paragraph 130: the walrus hauls out on the ice floe with its long tusks.",
    })
    app = make_app(ScriptedEngine(), history=history)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None and shown(app))
        await pilot.press("ctrl+f", *"walrus tusks")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1)
        assert "ice floe" in hit_lines(app)[0]  # the snippet is the second passage
        view, message = await open_the_long_reply(pilot, app, long_id)
        first, found = message.line_with("walrus"), message.line_with("walrus", "the walrus hauls out on the ice floe")
        assert first is not None and found is not None and found > first + 200
        assert message.virtual_region.y + found in rows_in_view(view.transcript)
        assert message.virtual_region.y + first not in rows_in_view(view.transcript)


async def test_a_reply_found_names_the_model_and_the_server_that_wrote_it():
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.screens.search import SearchScreen

    history = History(":memory:")
    conversation = history.create_conversation("Remote")
    history.add_message(conversation.id, "user", "ask the narwhal")
    history.add_message(conversation.id, "assistant", "the narwhal answers", model="mixtral-8x7b", server="lab")
    app = make_app(ScriptedEngine(), history=history)
    async with app.run_test(size=(110, 32)) as pilot:
        await wait_for(pilot, lambda: app.active_view() is not None)
        await pilot.press("ctrl+f", *"narwhal")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 2)
        screen = app.screen
        assert isinstance(screen, SearchScreen)
        assert any("Assistant · mixtral-8x7b on lab" in line for line in hit_lines(app))
