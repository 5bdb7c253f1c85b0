"""Files as context in the app, through Pilot, on real files: `@` + Tab, sending with files (what
the engine got), a message's file lines and Enter to see them, a long paste, refusals that keep
the text, and a file that changed on disk since."""

from __future__ import annotations

import os

from textual import events

from mixtral_tui.ui.widgets.composer import LONG_PASTE_LINES
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.ui.widgets.message_box import PendingFiles
from tests.fixtures.fake_engine import ScriptedEngine
from tests.fixtures.pilot import make_app, wait_for


def workdir(tmp_path):
    (tmp_path / "notes.txt").write_text("first line\nsecond line\n")
    (tmp_path / "notebook.md").write_text("# Book\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print('hi')\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02")
    return tmp_path


async def ready(pilot, app, tmp_path):
    app.start_dir = workdir(tmp_path)
    await wait_for(pilot, lambda: app.model_info is not None, what="the model")
    composer = app.active_view().composer
    composer.focus()
    return composer


def views(app) -> list[MessageView]:
    return list(app.active_view().transcript.messages())


async def test_tab_completes_an_at_path_and_lists_several_matches(home, tmp_path):
    app = make_app(ScriptedEngine())
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        composer.insert("look at @sr")
        await pilot.press("tab")
        await wait_for(pilot, lambda: composer.text == "look at @src/", what="the directory completed")
        await pilot.press("tab")
        await wait_for(pilot, lambda: composer.text == "look at @src/app.py", what="into the directory")
        composer.insert(" and @no")
        await pilot.press("tab")
        hint = app.active_view().message_box.query_one("#attach-hint")
        await wait_for(pilot, lambda: "2 matches: notebook.md, notes.txt" in str(hint.render()), what="the matches")
        assert composer.text.endswith("@note") and composer.has_focus
        composer.clear()
        composer.insert("no at word")
        await pilot.press("tab")  # Tab keeps its meaning: the focus moves on
        await pilot.pause()
        assert not composer.has_focus and composer.text == "no at word"


async def test_a_message_with_at_paths_sends_their_files_and_shows_a_line_each(home, tmp_path):
    engine = ScriptedEngine()
    app = make_app(engine, context=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        composer.insert("Compare @notes.txt with @src, and mail me@example.com")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 1, what="the reply")
        sent = engine.prompts[0][-1].content
        assert sent == ("Compare @notes.txt with @src, and mail me@example.com\n\nnotes.txt:\n````\nfirst line\n"
                        "second line\n````\n\nsrc/app.py:\n````python\nprint('hi')\n````")
        user = views(app)[0]
        assert user.message.content == "Compare @notes.txt with @src, and mail me@example.com"
        assert "+ notes.txt · 2 lines · 23 B · " in user.figures and "+ src/ · 1 file · 12 B" in user.figures
        assert composer.text == ""
        transcript = app.active_view().transcript
        transcript.focus()
        await pilot.pause()
        transcript.pick(user)
        await pilot.pause()
        await pilot.press("enter")  # the files, whole, under the message
        assert user.attachments_open and "second line" in "".join(s.text for s in user._footer_lines(90))
        await pilot.press("enter")
        assert not user.attachments_open and not user.folded


async def test_a_file_that_cannot_go_is_refused_and_the_text_stays(home, tmp_path):
    engine = ScriptedEngine()
    app = make_app(engine)
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        composer.insert("What is @blob.bin?")
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("Not sent: blob.bin is a binary file" in n for n in app.notes), what="refusal")
        assert composer.text == "What is @blob.bin?" and engine.prompts == [] and views(app) == []


async def test_a_long_paste_becomes_an_attachment_to_edit_or_drop(home, tmp_path):
    engine = ScriptedEngine()
    app = make_app(engine, context=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        pasted = "".join(f"row {i}\n" for i in range(LONG_PASTE_LINES + 10))
        app.post_message(events.Paste(pasted))
        box = app.active_view().message_box
        await wait_for(pilot, lambda: len(box.pending) == 1, what="the paste waiting")
        assert composer.text == "" and box.pending[0].text == pasted and box.pending[0].name == "pasted text"
        app.post_message(events.Paste("a short paste"))
        await pilot.pause()
        await wait_for(pilot, lambda: composer.text == "a short paste", what="a short paste in the box")
        composer.insert(": sum")
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(engine.prompts) == 1, what="the reply")
        assert engine.prompts[0][-1].content == f"a short paste: sum\n\npasted text:\n````\n{pasted.rstrip()}\n````"
        assert box.pending == [] and "+ pasted text · 50 lines" in views(app)[0].figures
        # Dropped before sending, a paste is not sent
        app.post_message(events.Paste(pasted))
        await wait_for(pilot, lambda: len(box.pending) == 1, what="another paste")
        box.query_one(PendingFiles).focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: box.pending == [], what="dropped")


async def test_a_file_changed_on_disk_since_it_was_sent_says_so_and_the_text_sent_stays(home, tmp_path):
    engine = ScriptedEngine()
    app = make_app(engine, context=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        composer.insert("Read @notes.txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 1, what="the reply")
    notes = tmp_path / "notes.txt"
    notes.write_text("another text\n")
    stamp = notes.stat().st_mtime + 10
    os.utime(notes, (stamp, stamp))
    again = make_app(engine, context=4096, history=app.history)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: again.active_view() is not None and views(again), what="the conversation")
        await wait_for(pilot, lambda: "changed on disk since" in views(again)[0].figures, what="the note")
        assert views(again)[0].message.attachments[0].text == "first line\nsecond line\n"


async def test_a_search_hit_in_a_file_opens_the_message_with_its_files_shown(home, tmp_path):
    from tests.ui.test_search_ui import hit_lines

    engine = ScriptedEngine()
    app = make_app(engine, context=4096)
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        composer.insert("Read @notes.txt")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.generation is None and len(engine.prompts) == 1, what="the reply")
        await pilot.press("ctrl+f", *"second")
        await wait_for(pilot, lambda: len(hit_lines(app)) == 1, what="the hit in the file")
        assert "in its file notes.txt" in hit_lines(app)[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: views(app)[0].attachments_open, what="its files shown")


async def test_a_paste_waiting_is_kept_with_the_draft_when_the_app_closes(home, tmp_path):
    engine = ScriptedEngine()
    app = make_app(engine, context=4096)
    pasted = "".join(f"log {i}\n" for i in range(LONG_PASTE_LINES + 5))
    async with app.run_test(size=(100, 30)) as pilot:
        composer = await ready(pilot, app, tmp_path)
        composer.insert("What happened here?")
        app.post_message(events.Paste(pasted))
        await wait_for(pilot, lambda: len(app.active_view().message_box.pending) == 1, what="the paste waiting")
        await pilot.pause(0.8)  # the draft is saved half a second after the last change
    again = make_app(engine, context=4096, history=app.history)
    async with again.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: again.active_view() is not None and again.active_view().composer.text,
                       what="the draft back")
        box = again.active_view().message_box
        assert again.active_view().composer.text == "What happened here?"
        assert [(a.name, a.text) for a in box.pending] == [("pasted text", pasted)]
        await wait_for(pilot, lambda: again.model_info is not None, what="the model")
        again.active_view().composer.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: len(engine.prompts) == 1, what="sent with it")
        assert engine.prompts[0][-1].content.endswith(f"pasted text:\n````\n{pasted.rstrip()}\n````")
