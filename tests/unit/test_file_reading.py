"""Reading what a user attaches, on real files: a real `git init` repository with a .gitignore,
binary and non-UTF-8 files, a FIFO, secrets in a directory, the limits; `@path` and its Tab."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mixtral_tui.chat.attached_text import file_block, folder_report, summary, with_attachments
from mixtral_tui.chat.file_reading import AttachError, FolderLimits, read_path, since_sent
from mixtral_tui.chat.mentions import complete, mentioned
from mixtral_tui.vocabulary import AttachmentKind


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path


def read(path: Path, shown: str = "", **limits) -> list:
    return read_path(path, shown or path.name, 10_000_000, FolderLimits(**limits) if limits else FolderLimits())


def test_a_file_reads_as_text_with_its_figures(tmp_path):
    [a] = read(write(tmp_path / "notes.txt", "first line\nsecond line\n"))
    assert (a.name, a.text, a.kind, a.lines, a.size) == ("notes.txt", "first line\nsecond line\n", "file", 2, 23)
    assert a.source == str(tmp_path / "notes.txt") and a.mtime == (tmp_path / "notes.txt").stat().st_mtime
    assert summary(a) == "notes.txt · 2 lines · 23 B"


@pytest.mark.parametrize("data, words", [
    (b"\x7fELF\x02\x01\x01\x00\x00", "is a binary file (it holds NUL bytes)"),
    ("caf\u00e9 cr\u00e8me\n".encode("latin-1"), "is not text in UTF-8 (byte 0xe9 at offset 3)"),
])
def test_binaries_and_other_encodings_are_refused_saying_how_they_were_told(tmp_path, data, words):
    with pytest.raises(AttachError, match=None) as refused:
        read(write(tmp_path / "blob.bin", data))
    assert words in str(refused.value) and "blob.bin" in str(refused.value)


def test_the_locales_encoding_is_tried_after_utf8(tmp_path, monkeypatch):
    import locale

    monkeypatch.setattr(locale, "getpreferredencoding", lambda do_setlocale=True: "latin-1")
    [a] = read(write(tmp_path / "old.txt", "caf\u00e9\n".encode("latin-1")))
    assert a.text == "caf\u00e9\n"


def test_missing_unreadable_fifo_and_too_large_are_refused_before_reading(tmp_path):
    with pytest.raises(AttachError, match="there is no such file or directory"):
        read(tmp_path / "nope.txt")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(AttachError, match="is a FIFO"):
        read(fifo)  # never opened: opening a FIFO waits for a writer
    assert time.monotonic() - started < 1
    big = write(tmp_path / "big.log", "x" * 5000)
    with pytest.raises(AttachError, match=r"big.log is 5.0 KB, more than the whole context holds"):
        read_path(big, "big.log", 4096)
    if os.geteuid() != 0:  # root reads everything
        locked = write(tmp_path / "locked.txt", "secret")
        locked.chmod(0)
        with pytest.raises(AttachError, match="cannot be read"):
            read(locked)


@pytest.fixture
def repo(tmp_path) -> Path:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "project"
    write(root / "src" / "app.py", "print('hi')\n")
    write(root / "README.md", "# Project\n")
    write(root / ".gitignore", "build/\n*.log\n")
    write(root / "build" / "out.txt", "built\n")
    write(root / "debug.log", "noise\n")
    write(root / ".env", "API_KEY=sk-live-1234\n")
    write(root / ".env.example", "API_KEY=\n")
    write(root / "keys" / "id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n")
    write(root / "logo.png", b"\x89PNG\r\n\x1a\n\x00\x00")
    write(root / "untracked.txt", "not added yet\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "src", "README.md", ".gitignore"], check=True)
    return root


def test_a_repository_gives_what_git_keeps_and_lists_what_it_skipped(repo):
    *files, note = read(repo, "project")
    assert [f.name for f in files] == ["project/.env.example", "project/.gitignore", "project/README.md",
                                       "project/src/app.py", "project/untracked.txt"]
    assert all(f.folder == "project" for f in files) and note.kind == AttachmentKind.FOLDER
    skipped = dict(note.skipped)
    assert skipped["project/.env"].startswith("may hold keys or tokens")
    assert skipped["project/keys/id_rsa"].startswith("may hold keys or tokens")
    assert skipped["project/logo.png"] == "binary, or not UTF-8 text"
    assert not any("build/" in p or "debug.log" in p for p in skipped)  # ignored by git: not even listed
    report = folder_report(note, files)
    assert report[0] == f"project/: 5 files, {sum(f.size for f in files)} B"
    assert "  - project/.env: may hold keys or tokens; name it on its own to attach it" in report
    # Named on its own, a secret file is attached: that is the user's own act
    [env] = read(repo / ".env", "project/.env")
    assert env.text == "API_KEY=sk-live-1234\n"


def test_outside_a_repository_every_file_but_dot_git_and_the_limits(tmp_path):
    root = tmp_path / "plain"
    for i in range(5):
        write(root / f"f{i}.txt", f"file {i}\n" * 10)
    write(root / ".git" / "HEAD", "ref: refs/heads/main\n")
    write(root / "huge.txt", "y" * 3000)
    *files, note = read(root, "plain", file_bytes=2000, files=3)
    assert [f.name for f in files] == ["plain/f0.txt", "plain/f1.txt", "plain/f2.txt"]
    assert dict(note.skipped)["plain/huge.txt"].startswith("3.0 KB, over 2.0 KB")
    assert dict(note.skipped)["plain/f3.txt"] == "past the directory's limit"
    assert "limit of 3 files" in note.limit and not any(".git" in p for p, _ in note.skipped)


def test_what_the_model_sees_is_the_text_then_each_file_fenced_under_its_path(tmp_path):
    [a] = read(write(tmp_path / "run.py", "x = '```'\n"), "tools/run.py")
    block = file_block(a)
    assert block == "tools/run.py:\n````python\nx = '```'\n````"  # a fence longer than any inside
    assert with_attachments("Why does this fail?", [a]) == "Why does this fail?\n\n" + block
    assert with_attachments("", [a]) == block


def test_a_file_changed_or_gone_after_sending_says_so(tmp_path):
    path = write(tmp_path / "config.ini", "a = 1\n")
    [a] = read(path)
    assert since_sent(a) == ""
    os.utime(path, (a.mtime + 5, a.mtime + 5))  # touched, same text
    assert since_sent(a) == ""
    path.write_text("a = 2\n")
    os.utime(path, (a.mtime + 10, a.mtime + 10))
    assert since_sent(a) == "changed on disk since"
    path.unlink()
    assert since_sent(a) == "gone from disk since"


def test_at_words_that_name_something_attach_the_rest_is_text(tmp_path):
    write(tmp_path / "notes.txt", "n\n")
    write(tmp_path / "src" / "a.py", "a\n")
    text = "Compare @notes.txt, @src/ and @alice; mail me@example.com or @nowhere.txt @notes.txt"
    assert mentioned(text, tmp_path) == [("notes.txt", tmp_path / "notes.txt"), ("src", tmp_path / "src/")]
    home = Path(os.path.expanduser("~"))
    assert mentioned(f"@{home}", tmp_path) == [(str(home), home)]


def test_tab_completes_the_at_word_at_the_cursor_and_lists_several(tmp_path):
    write(tmp_path / "notes.txt", "")
    write(tmp_path / "notebook.md", "")
    write(tmp_path / "src" / "app.py", "")
    write(tmp_path / ".hidden", "")
    one = complete("see @sr", 7, tmp_path)
    assert one is not None and (one.start, one.replacement, one.matches) == (5, "src/", ("src/",))
    inside = complete("see @src/", 9, tmp_path)
    assert inside is not None and inside.matches == ("src/app.py",)
    several = complete("@no", 3, tmp_path)
    assert several is not None and several.replacement == "note" and several.matches == ("notebook.md", "notes.txt")
    everything = complete("@", 1, tmp_path)
    assert everything is not None and ".hidden" not in everything.matches
    assert complete("no at word", 10, tmp_path) is None  # Tab keeps its meaning
    assert complete("mail me@ex", 10, tmp_path) is None
    assert complete("@nomore", 3, tmp_path) is None  # the cursor is inside a word, not at its end
    nothing = complete("@zzz", 4, tmp_path)
    assert nothing is not None and nothing.matches == ()
