import pytest

from mixtral_tui.chat.context_window import fit_turns
from mixtral_tui.engine.base import Turn
from mixtral_tui.errors import PromptTooLongError


def count(turns):
    return sum(len(t.content) for t in turns)


def conversation(pairs: int, size: int = 100):
    turns = [Turn("system", "S" * 10)]
    for i in range(pairs):
        turns += [Turn("user", f"{i}" * size), Turn("assistant", "a" * size)]
    return turns + [Turn("user", "new question")]


def test_everything_fits():
    plan = fit_turns(conversation(2), count, 4096, 256)
    assert plan.dropped_turns == 0 and len(plan.turns) == 6


def test_oldest_pairs_dropped_system_kept():
    turns = conversation(10)
    plan = fit_turns(turns, count, 1024, 256)  # limit 768
    assert plan.turns[0].role == "system" and plan.turns[-1].content == "new question"
    assert plan.turns[1].role == "user"  # a pair is never split
    assert plan.dropped_turns > 0 and plan.dropped_turns % 2 == 0
    assert count(plan.turns) <= 768
    # the fewest turns are dropped: keeping one more pair would not fit
    kept = len(turns) - 1 - plan.dropped_turns
    assert count([turns[0]] + turns[1 + plan.dropped_turns - 2 :]) > 768
    assert kept == len(plan.turns) - 1


def test_single_message_larger_than_context_is_refused_with_advice():
    turns = [Turn("system", "S"), Turn("user", "x" * 5000)]
    with pytest.raises(PromptTooLongError, match="shorten it or start with a larger --ctx"):
        fit_turns(turns, count, 1024, 256)


def test_long_last_message_may_eat_into_the_reply_reserve():
    turns = [Turn("system", "S"), Turn("user", "x" * 900)]
    plan = fit_turns(turns, count, 1024, 512)
    assert plan.dropped_turns == 0 and plan.prompt_tokens == 901
