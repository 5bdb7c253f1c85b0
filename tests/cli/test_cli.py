"""The command line, run as a user runs it: a real process, real files, the real tiny model."""

import os
import subprocess
import sys

import pytest

from mixtral_tui.store.history import History


def run(*args, stdin=None, timeout=120):
    return subprocess.run([sys.executable, "-m", "mixtral_tui", *args], capture_output=True, text=True,
                          input=stdin, timeout=timeout, env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_help_lists_the_commands():
    """How fast it answers is measured in benchmarks/startup.py, not asserted here."""
    done = run("--help")
    assert done.returncode == 0 and "ask" in done.stdout and "export" in done.stdout and "bench" in done.stdout


def test_usage_error_exits_2():
    assert run("export").returncode == 2
    assert run("--ctx", "1000").returncode == 2


def test_list_and_export(home):
    history = History(home / "data" / "history.sqlite3")
    conversation = history.create_conversation("Tabs\tand stuff")
    history.add_message(conversation.id, "user", "question")
    history.add_message(conversation.id, "assistant", "answer with ```fence```")
    listed = run("list")
    assert listed.returncode == 0
    header, row = listed.stdout.strip().split("\n")
    assert header == "id\tupdated\tmessages\ttitle\tfrom"
    fields = row.split("\t")
    assert fields[0] == str(conversation.id) and fields[2] == "2" and fields[3] == "Tabs and stuff" and fields[4] == "-"

    exported = run("export", str(conversation.id))
    assert exported.returncode == 0 and "answer with ```fence```" in exported.stdout

    out = home / "one.md"
    assert run("export", str(conversation.id), "-o", str(out)).returncode == 0
    assert out.read_text() == exported.stdout

    folder = home / "all"
    done = run("export", "--all", "-o", str(folder))
    assert done.returncode == 0 and len(list(folder.glob("*.md"))) == 1


def test_export_json_then_import_gives_the_same_conversation(home):
    import json

    history = History(home / "data" / "history.sqlite3")
    conversation = history.create_conversation("Round trip")
    history.add_message(conversation.id, "user", "question \x1b[31m with an escape")
    history.add_message(conversation.id, "assistant", "## a heading\n```\nunclosed", status="stopped",
                        stats={"completion_tokens": 3})
    exported = run("export", str(conversation.id), "--format", "json")
    assert exported.returncode == 0 and "\x1b" not in exported.stdout  # JSON escapes it: safe on a terminal
    path = home / "c.json"
    path.write_text(exported.stdout)
    done = run("import", str(path))
    assert done.returncode == 0 and "imported as conversation 2 (2 messages, last changed " in done.stdout
    again = json.loads(run("export", "2", "--format", "json").stdout)
    first = json.loads(exported.stdout)
    for data in (first, again):
        data["conversation"].pop("id")
        [m.pop("id") for m in data["messages"]]
    assert again == first

    bad = run("import", str(home / "missing.json"))
    assert bad.returncode == 1 and "cannot read" in bad.stderr and "Traceback" not in bad.stderr


def test_search_prints_one_line_per_hit_and_exits_1_when_nothing_matches(home):
    history = History(home / "data" / "history.sqlite3")
    conversation = history.create_conversation("Escapes \x1b[31mred")
    question = history.add_message(conversation.id, "user", "What does a tortoise eat?")
    answer = history.add_message(conversation.id, "assistant", "A tortoise eats greens.\x1b]0;pwned\x07 Mostly.")
    found = run("search", "tortoise", "eat")  # piped: no emphasis, control characters made visible
    assert found.returncode == 0
    lines = [line.split("\t") for line in found.stdout.strip().split("\n")]
    assert sorted(int(fields[1]) for fields in lines) == [question.id, answer.id]
    for fields in lines:
        assert fields[0] == str(conversation.id) and fields[3] in ("user", "assistant")
        assert fields[4] == "Escapes \u241b[31mred"
    assert "\x1b" not in found.stdout and "\x07" not in found.stdout
    assert "\u241b]0;pwned\u2407" in found.stdout and "A tortoise eats greens." in found.stdout

    missing = run("search", "walrus")
    assert missing.returncode == 1 and missing.stdout == ""
    assert "no saved message holds every word of “walrus”" in missing.stderr
    assert run("search").returncode == 2  # words are required

    other = history.create_conversation("Other")
    history.add_message(other.id, "user", "Do walruses eat tortoises?")
    assert len(run("search", "tortoise").stdout.strip().split("\n")) == 3
    only = run("search", "tortoise", "--conversation", str(other.id))
    assert only.returncode == 0 and only.stdout.startswith(f"{other.id}\t") and only.stdout.count("\n") == 1
    unknown = run("search", "tortoise", "--conversation", "999")
    assert unknown.returncode == 2 and "there is no conversation 999" in unknown.stderr


def test_export_unknown_id_is_one_clear_line():
    done = run("export", "999")
    assert done.returncode == 1 and done.stderr.count("\n") == 1 and "no conversation with id 999" in done.stderr


def test_ask_streams_saves_and_reports_figures(tiny_model, home):
    done = run("ask", "--model", str(tiny_model), "--max-tokens", "12", "hello world")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert "reply 12 tok" in done.stderr and "tok/s" in done.stderr and "ctx " in done.stderr
    history = History(home / "data" / "history.sqlite3")
    [conversation] = history.conversations()
    messages = history.messages(conversation.id)
    assert [m.role for m in messages] == ["user", "assistant"]
    assert messages[1].status == "done" and messages[1].stats["completion_tokens"] == 12
    assert messages[1].model == "Mixtral-8x7B-Instruct-tiny" and messages[1].quant == "F32"
    assert messages[1].model_file == tiny_model.name

    again = run("ask", "--model", str(tiny_model), "--max-tokens", "4", "--continue", str(conversation.id), "more")
    assert again.returncode == 0, again.stderr
    assert len(history.messages(conversation.id)) == 4
    assert "reused" in again.stderr


def test_ask_reads_stdin_and_no_save_keeps_nothing(tiny_model, home):
    done = run("ask", "--model", str(tiny_model), "--max-tokens", "3", "--no-save", "-", stdin="from stdin")
    assert done.returncode == 0, done.stderr
    assert run("list", "--no-header").stdout == ""


@pytest.mark.parametrize("fixture, phrase", [
    ("old_layout_model", "old layout"),
    ("not_gguf_file", "not a GGUF file"),
    ("truncated_model", "truncated"),
    ("unknown_arch_model", "frobnicator"),
])
def test_ask_with_bad_model_is_one_line_exit_1(request, fixture, phrase, home):
    done = run("ask", "--model", str(request.getfixturevalue(fixture)), "hi")
    assert done.returncode == 1
    assert phrase in done.stderr and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    assert History(home / "data" / "history.sqlite3").conversations() == []  # no empty "hi · 0 messages" left


def test_ask_without_model(home):
    done = run("ask", "hi")
    assert done.returncode == 1 and "no model given" in done.stderr and "last loaded" not in done.stderr


def test_ask_without_model_names_the_one_the_app_loaded_last_but_does_not_use_it(home, tiny_model):
    from mixtral_tui.models.recent import RecentModels

    RecentModels(home / "data" / "recent_models.json").remember(str(tiny_model))
    done = run("ask", "hi")
    assert done.returncode == 1 and f"The app last loaded {tiny_model}: `--model {tiny_model}` uses it." in done.stderr


def test_ask_prompt_longer_than_context(tiny_model):
    done = run("ask", "--model", str(tiny_model), "--ctx", "256", "the " * 1000)
    assert done.returncode == 1 and "shorten it" in done.stderr and "Traceback" not in done.stderr


def test_corrupt_config_stops_before_the_tui(home):
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text("[model]\ncontext_sise = 4096\n")
    done = run("list")
    assert done.returncode == 0  # list does not need the config
    done = run()
    assert done.returncode == 1 and "Did you mean 'context_size'" in done.stderr and "config.toml" in done.stderr
    doctor = run("doctor")  # it reports the config's state, as it does the GPU's
    [line] = [line for line in doctor.stdout.splitlines() if line.startswith("config ")]
    assert "BROKEN" in line and "Did you mean 'context_size'" in line


def test_list_tells_a_fork_from_its_original(home):
    history = History(home / "data" / "history.sqlite3")
    original = history.create_conversation("Plans")
    history.add_message(original.id, "user", "question")
    fork = history.fork(original.id, "Plans", history.messages(original.id))
    rows = [row.split("\t") for row in run("list", "--no-header").stdout.strip().split("\n")]  # (no header: scripts)
    assert [(r[0], r[3], r[4]) for r in rows] == [(str(fork.id), "Plans", f"fork of {original.id}"),
                                                  (str(original.id), "Plans", "-")]


def test_a_reader_that_goes_early_ends_the_output_quietly(home):
    """`mixtral-tui list | head -2` ended in a BrokenPipeError traceback."""
    history = History(home / "data" / "history.sqlite3")
    for n in range(3000):
        history.create_conversation(f"conversation number {n} with a title long enough to fill the pipe")
    process = subprocess.Popen([sys.executable, "-m", "mixtral_tui", "list"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, env={**os.environ, "PYTHONPATH": os.getcwd()})
    assert process.stdout.readline().startswith(b"id\t")
    process.stdout.close()  # as `head -1` does
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 141 and b"Traceback" not in err and b"BrokenPipe" not in err, err.decode()


def test_home_variable_moves_every_file(tiny_model, home):
    run("ask", "--model", str(tiny_model), "--max-tokens", "2", "hi")
    assert (home / "data" / "history.sqlite3").exists()
    assert (home / "logs" / "llama.log").read_text().count("llama_model_loader") > 0


def test_bench_reports_speed_figures(tiny_model):
    done = run("--model", str(tiny_model), "--ctx", "1024", "bench")
    assert done.returncode == 0, done.stderr
    for label in ("prompt", "decode", "first token", "peak memory"):
        assert label in done.stdout
    assert "tok/s" in done.stdout


def test_model_text_reaches_a_terminal_as_data_and_a_pipe_as_written(home):
    """`export` (and `ask`, through the same function) to a terminal: an escape sequence the
    model wrote is shown, not acted on; into a pipe the text is exactly as stored."""
    import pty

    history = History(home / "data" / "history.sqlite3")
    conversation = history.create_conversation("Escapes")
    history.add_message(conversation.id, "assistant", "clear \x1b[2J title \x1b]0;pwned\x07 done")
    piped = run("export", str(conversation.id))
    assert "clear \x1b[2J title \x1b]0;pwned\x07 done" in piped.stdout

    leader, follower = pty.openpty()
    done = subprocess.run([sys.executable, "-m", "mixtral_tui", "export", str(conversation.id)], stdout=follower,
                          stderr=subprocess.PIPE, timeout=60, env={**os.environ, "PYTHONPATH": os.getcwd()})
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal's other end is closed: all read
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    text = shown.decode()
    assert done.returncode == 0 and "clear ␛[2J title ␛]0;pwned␇ done" in text and "\x1b" not in text


def test_ask_takes_bytes_that_are_not_utf8_and_says_so(tiny_model, home):
    """They ended in a traceback ("surrogates not allowed") when the prompt was saved."""
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    done = subprocess.run([sys.executable, "-m", "mixtral_tui", "ask", "--model", str(tiny_model), "--max-tokens", "2", "-"],
                          input=b"\xff\xfe half \xc3", capture_output=True, timeout=120, env=env)
    stderr = done.stderr.decode()
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr and "standard input is not all UTF-8: 3 place(s)" in stderr
    history = History(home / "data" / "history.sqlite3")
    [conversation] = history.conversations()
    assert history.messages(conversation.id)[0].content == "\ufffd\ufffd half \ufffd"
    # the same bytes as an argument (Python hands them over as lone surrogates)
    prompt = b"caf\xe9".decode("utf-8", "surrogateescape")
    argument = subprocess.run([sys.executable, "-m", "mixtral_tui", "ask", "--model", str(tiny_model), "--max-tokens", "2",
                               "--no-save", prompt], capture_output=True, timeout=120, env=env)
    assert argument.returncode == 0 and "the prompt is not all UTF-8: 1 place(s)" in argument.stderr.decode()


def test_bench_takes_the_model_after_its_name_too(tiny_model, home):
    """`bench --model M` was refused (unrecognized arguments) while `ask --model M` worked."""
    after = run("bench", "--model", str(tiny_model), "--ctx", "1024")
    assert after.returncode == 0, after.stderr
    assert "decode" in after.stdout and "tok/s" in after.stdout


def test_ask_max_tokens_wins_over_the_conversations_own_sampling(tiny_model, home):
    """The command line overrides the file and the conversation's F4 settings (it lost to the latter)."""
    assert run("ask", "--model", str(tiny_model), "--max-tokens", "2", "first").returncode == 0
    history = History(home / "data" / "history.sqlite3")
    [conversation] = history.conversations()
    history.set_overrides(conversation.id, None, {"max_tokens": 40})
    done = run("ask", "--model", str(tiny_model), "--max-tokens", "3", "--continue", str(conversation.id), "more")
    assert done.returncode == 0, done.stderr
    assert history.messages(conversation.id)[-1].stats["completion_tokens"] == 3
