"""`mixtral-tui ask -f PATH` as a user runs it: a real process in a directory of real files, the
scripted OpenAI-compatible server recording exactly what was sent, and the real tiny model for
the context's limit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from mixtral_tui.store.history import History
from tests.fixtures.fake_openai import FakeOpenAI, Script


def run(*args: str, cwd: Path, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "mixtral_tui", *args], capture_output=True, input=stdin, timeout=120,
                          cwd=cwd, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})


@pytest.fixture
def fake():
    server = FakeOpenAI().start()
    server.scripts = [Script(pieces=["Read."])] * 4
    yield server
    server.stop()


@pytest.fixture
def work(tmp_path) -> Path:
    (tmp_path / "notes.txt").write_text("first line\nsecond line\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("print('hi')\n")
    (tmp_path / "src" / ".env").write_text("KEY=sk-123\n")
    return tmp_path


def test_ask_sends_the_prompt_then_each_file_fenced_under_its_path(home, fake, work):
    done = run("ask", "--server", fake.url, "-f", "notes.txt", "--file", "src", "-f", "notes.txt",
               "What is in these?", cwd=work)
    assert done.returncode == 0, done.stderr
    sent = fake.chat_requests()[0].body["messages"][-1]
    assert sent == {"role": "user", "content": "What is in these?\n\nnotes.txt:\n````\nfirst line\nsecond line\n````"
                                               "\n\nsrc/app.py:\n````python\nprint('hi')\n````"}
    err = done.stderr.decode()
    assert "attached notes.txt · 2 lines · 23 B · " in err and " tok" in err
    assert "src/: 1 file, 12 B" in err and "  + src/app.py" in err
    assert "  - src/.env: may hold keys or tokens; name it on its own to attach it" in err
    assert "KEY=sk-123" not in str(fake.chat_requests()[0].body)
    history = History(home / "data" / "history.sqlite3")
    [conversation] = history.conversations()
    user = history.messages(conversation.id)[0]
    assert user.content == "What is in these?"  # as typed; the files are kept beside it
    assert [a.name for a in user.attachments] == ["notes.txt", "src/app.py", "src"]


def test_dash_f_dash_attaches_standard_input_as_stdin(home, fake, work):
    done = run("ask", "--server", fake.url, "-f", "-", "Summarize", cwd=work, stdin=b"log line one\nlog line two\n")
    assert done.returncode == 0, done.stderr
    assert fake.chat_requests()[0].body["messages"][-1]["content"] == \
        "Summarize\n\nstdin:\n````\nlog line one\nlog line two\n````"
    both = run("ask", "--server", fake.url, "-f", "-", "-", cwd=work, stdin=b"x")
    assert both.returncode == 1 and b"standard input can be the prompt or a file, not both" in both.stderr


def test_a_file_that_cannot_go_is_refused_before_anything_is_sent_or_saved(home, fake, work):
    (work / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    for name, words in (("image.png", b"image.png is a binary file (it holds NUL bytes)"),
                        ("missing.txt", b"missing.txt: there is no such file or directory")):
        done = run("ask", "--server", fake.url, "-f", "notes.txt", "-f", name, "Look", cwd=work)
        assert done.returncode == 1 and words in done.stderr and b"Traceback" not in done.stderr
    assert fake.chat_requests() == []
    assert not (home / "data" / "history.sqlite3").exists() or \
        History(home / "data" / "history.sqlite3").conversations() == []


def test_a_file_larger_than_the_context_says_what_it_needs(home, tiny_model, work):
    (work / "long.txt").write_text("the model of the word " * 400)
    done = run("ask", "--model", str(tiny_model), "--ctx", "512", "-f", "long.txt", "Summarize", cwd=work)
    assert done.returncode == 1, done.stderr
    err = done.stderr.decode()
    assert "the message with its 1 file(s) needs" in err and "the context holds 512" in err
    assert "start with a larger --ctx" in err and "long.txt" in err
