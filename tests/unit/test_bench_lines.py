"""bench's prompt line from a server that does not time its prompt: a small model on a fast
server read 194 tokens in 4 ms, and the line said "first token after 0.00 s" (CI saw it)."""

from mixtral_tui.cli.bench import duration, prompt_line
from mixtral_tui.engine.base import ReplyStats


def test_a_first_token_in_milliseconds_is_said_in_milliseconds():
    line = prompt_line(ReplyStats(prompt_tokens=194, ttft_seconds=0.0039, prompt_counted="estimate"))
    assert line.startswith("≈194 tokens, first token after 4 ms = ≈49,744 tok/s") and "0.00 s" not in line


def test_durations_read_as_measured():
    assert [duration(s) for s in (2.5, 0.83, 0.004, 0.0001)] == ["2.50 s", "830 ms", "4 ms", "under 1 ms"]
