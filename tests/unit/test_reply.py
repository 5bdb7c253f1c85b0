"""ReplyRun: context fitting, notices, checkpoints, and what survives kill -9."""

import os
import signal
import subprocess
import sys
import time

from mixtral_tui.cancel import CancelToken
from mixtral_tui.chat.export import export_conversation
from mixtral_tui.chat.reply import ReplyRun
from mixtral_tui.config import Sampling
from mixtral_tui.store import liveness
from mixtral_tui.store.history import History
from mixtral_tui.vocabulary import Status
from tests.fixtures.fake_engine import ScriptedEngine


def setup(tmp_path, engine, *user_texts):
    history = History(tmp_path / "h.sqlite3")
    engine.load(type("Spec", (), {"model_path": "m.gguf"})())
    conversation = history.create_conversation()
    for text in user_texts:
        history.add_message(conversation.id, "user", text)
    return history, conversation


def test_reply_is_saved_with_figures_and_sampling(tmp_path):
    engine = ScriptedEngine(["a", "b", "c"])
    history, conversation = setup(tmp_path, engine, "hi")
    message = ReplyRun(engine, history, conversation.id, Sampling(temperature=0.3), "sys").run()
    [_, stored] = history.messages(conversation.id)
    assert stored.id == message.id and stored.content == "abc" and stored.status == "done"
    assert stored.stats["completion_tokens"] == 3 and stored.sampling["temperature"] == 0.3
    assert stored.model == "Scripted" and stored.quant == "Q4_K_M"
    assert engine.prompts[0][0].role == "system" and engine.prompts[0][0].content == "sys"


def test_cancelled_reply_is_kept_and_marked_stopped(tmp_path):
    engine = ScriptedEngine([str(i) for i in range(100)])
    history, conversation = setup(tmp_path, engine, "hi")
    cancel = CancelToken()
    seen = []

    def on_chunk(chunk):
        seen.append(chunk.text)
        if len(seen) == 5:
            cancel.cancel()

    message = ReplyRun(engine, history, conversation.id, Sampling(), "", cancel).run(on_chunk)
    assert message.status == "stopped" and message.content == "01234"
    assert history.messages(conversation.id)[-1].status == "stopped"


def test_dropped_turns_are_announced_once(tmp_path):
    engine = ScriptedEngine(["ok"], context_size=64)
    history, conversation = setup(tmp_path, engine)
    for i in range(6):
        history.add_message(conversation.id, "user", f"question {i} " + "word " * 5)
        run = ReplyRun(engine, history, conversation.id, Sampling(max_tokens=8), "system")
        run.run()
    notices = [m for m in history.messages(conversation.id) if m.role == "notice"]
    assert notices and "left out" in notices[0].content and "system prompt" in notices[0].content
    assert engine.prompts[-1][0].content == "system"  # never dropped
    assert len(engine.prompts[-1]) < 2 * 6
    assert len(notices) < 6  # only when the number of dropped turns changes


CHILD = r"""
import sys, time
from mixtral_tui.config import Sampling
from mixtral_tui.chat.reply import ReplyRun
from mixtral_tui.store.history import History
from tests.fixtures.fake_engine import ScriptedEngine
engine = ScriptedEngine([f"<{i}>" for i in range(100000)], delay=0.01)
engine.load(type("S", (), {"model_path": "m"})())
history = History(sys.argv[1])
c = history.create_conversation()
history.add_message(c.id, "user", "go")
def tick(chunk):
    print(chunk.completion_tokens, time.monotonic(), flush=True)
ReplyRun(engine, history, c.id, Sampling(max_tokens=100000), "").run(tick)
"""


def test_kill_9_loses_at_most_a_second(tmp_path):
    db = tmp_path / "h.sqlite3"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.getcwd()})
    produced = []  # (tokens, time)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = child.stdout.readline()
        count, stamp = line.split()
        produced.append((int(count), float(stamp)))
        if float(stamp) - produced[0][1] > 2.6:
            break
    os.kill(child.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    child.wait()
    history = History(db)
    [_, reply] = history.messages(1)
    # Left 'streaming' by the killed process; every reader sees it interrupted (its writer is gone).
    # Export wrote it as "streaming", as if it were still being written.
    assert reply.status == Status.INTERRUPTED
    assert " · interrupted" in export_conversation(history, 1) and "streaming" not in export_conversation(history, 1)
    saved_tokens = reply.content.count("<")
    one_second_before = max(n for n, t in produced if t <= killed_at - 1.0)
    assert saved_tokens >= one_second_before > 0


class SlowToStart(ScriptedEngine):
    """Reads its prompt for a while before the first token, as a long prompt on a CPU does."""

    def stream_reply(self, turns, sampling, cancel, stats):
        time.sleep(1.2)
        yield from super().stream_reply(turns, sampling, cancel, stats)


def test_a_reply_reading_its_prompt_stays_alive_for_other_readers(tmp_path, monkeypatch):
    """No token comes while the model reads the prompt: the heartbeat keeps the reply's checkpoint
    fresh, so another app (another History) does not take it for one a kill -9 left behind."""
    monkeypatch.setattr(liveness, "LIVE_SECONDS", 0.5)
    monkeypatch.setattr("mixtral_tui.chat.reply.HEARTBEAT_SECONDS", 0.1)
    engine = SlowToStart(["a", "b"])
    history, conversation = setup(tmp_path, engine, "hi")
    seen = []

    def look() -> None:
        other = History(tmp_path / "h.sqlite3")
        for _ in range(10):
            time.sleep(0.1)
            seen.extend(m.status for m in other.messages(conversation.id) if m.role == "assistant")
        assert other.mark_interrupted() == 0  # a second app starting meanwhile leaves it alone

    import threading

    reader = threading.Thread(target=look)
    reader.start()
    ReplyRun(engine, history, conversation.id, Sampling(), "").run()
    reader.join()
    assert seen and set(seen) == {Status.STREAMING}
    assert history.messages(conversation.id)[-1].status == Status.DONE


def test_figures_not_known_are_not_shown_and_a_speed_over_a_token_is_not_either():
    from mixtral_tui.chat.figures import reply_figures, status_figures
    from mixtral_tui.engine.base import ReplyStats
    from mixtral_tui.vocabulary import FinishReason

    failed = reply_figures(ReplyStats(finish_reason=FinishReason.ERROR))
    assert failed == "reply 0 tok"  # not "prompt 0 tok (0 new, 0 reused) · … ctx 0 / 0"
    reused = ReplyStats(prompt_tokens=268, prompt_evaluated=1, prompt_reused=267, prompt_seconds=0.08,
                        completion_tokens=5, decode_seconds=0.1, ttft_seconds=0.1, context_used=273, context_size=2048)
    line = reply_figures(reused)
    assert line.startswith("prompt 268 tok (1 new, 267 reused) · reply 5 tok 40.0 tok/s")  # no "12 tok/s" for one token
    reused.prompt_evaluated, reused.prompt_reused = 200, 68
    assert "(200 new, 68 reused) 2,500 tok/s" in reply_figures(reused)
    told = ReplyStats(prompt_tokens=30, prompt_counted="server", completion_tokens=1, context_used=31, context_size=4096)
    assert reply_figures(told) == "prompt 30 tok · reply 1 tok · ctx 31 / 4,096"  # the server's total: no split
    assert status_figures(told) == "last reply 1 tok · ctx 31/4,096"
