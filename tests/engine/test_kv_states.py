"""Saved KV states: the pure cache, and the real engine switching between conversations."""

import pytest

from mixtral_tui.engine.base import LoadSpec, Turn
from mixtral_tui.engine.kv_states import StateCache, common_prefix
from mixtral_tui.engine.llama import LlamaEngine
from tests.fixtures.streaming import reply


def test_longest_shared_prefix_wins_and_a_longer_state_replaces_its_own_prefix():
    cache = StateCache(budget_bytes=1000)
    cache.put([1, 2, 3], b"a" * 10)
    cache.put([1, 2, 3, 4, 5], b"b" * 10)  # the same conversation, later: replaces [1, 2, 3]
    cache.put([1, 9, 9], b"c" * 10)
    assert len(cache) == 2
    shared, state = cache.best([1, 2, 3, 4, 5, 6, 7])
    assert shared == 5 and state.blob == b"b" * 10
    shared, state = cache.best([1, 9, 9, 1])
    assert shared == 3 and state.blob == b"c" * 10
    assert cache.best([7, 7]) is None
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2


def test_the_budget_evicts_the_least_recently_used():
    cache = StateCache(budget_bytes=25)
    cache.put([1], b"x" * 10)
    cache.put([2], b"y" * 10)
    cache.best([1, 5])  # [1] used: [2] is now the oldest
    cache.put([3], b"z" * 10)
    assert cache.best([2]) is None and cache.best([1]) is not None and cache.best([3]) is not None
    assert cache.used_bytes <= 25
    assert cache.put([4], b"w" * 26) is False  # alone over the budget: not kept


def conversation(topic: str, turns: int) -> list[Turn]:
    out = [Turn("system", "be kind")]
    for i in range(turns):
        out += [Turn("user", f"{topic} question {i} " * 4), Turn("assistant", f"{topic} answer {i} " * 4)]
    return out


@pytest.mark.parametrize("model_fixture", ["tiny_model", "gemma_model"])
def test_going_back_to_a_conversation_restores_its_context_and_replies_identically(model_fixture, request):
    path = request.getfixturevalue(model_fixture)
    engine = LlamaEngine()
    engine.load(LoadSpec(str(path), context_size=1024, state_cache_mb=64))
    a = conversation("apples", 4) + [Turn("user", "and now?")]
    b = conversation("boats", 4) + [Turn("user", "and now?")]
    _, _, first = reply(engine, a)
    reply(engine, b)  # overwrites the live cache; A's state is saved first
    a_next = a + [Turn("assistant", "fine"), Turn("user", "more please")]
    restored_text, _, restored = reply(engine, a_next)
    assert restored.prompt_reused >= first.prompt_tokens - 1  # A's history was not read again
    engine.unload()

    fresh = LlamaEngine()  # the same prompt read from scratch, no saved states
    fresh.load(LoadSpec(str(path), context_size=1024, state_cache_mb=0))
    reply(fresh, a)
    reply(fresh, b)
    fresh_text, _, reread = reply(fresh, a_next)
    fresh.unload()
    assert reread.prompt_reused < first.prompt_tokens // 4  # without saved states only the system prompt is reused
    assert restored_text == fresh_text  # the restored context is the same context


def test_only_switching_conversations_saves_a_state(tiny_model):
    engine = LlamaEngine()
    engine.load(LoadSpec(str(tiny_model), context_size=1024, state_cache_mb=64))
    a = conversation("apples", 2) + [Turn("user", "and now?")]
    text, _, _ = reply(engine, a)
    reply(engine, a + [Turn("assistant", text), Turn("user", "go on")])  # the same conversation, next turn
    assert len(engine._states) == 0  # nothing to keep: the live cache is still this conversation's
    reply(engine, conversation("boats", 2) + [Turn("user", "and now?")])
    assert len(engine._states) == 1  # apples was kept before boats took the cache
    engine.unload()


def test_writing_a_reply_again_reuses_the_prompt_and_saves_nothing(tiny_model):
    """Ctrl+R sends the same prompt again: all of it but the last token comes from the cache."""
    engine = LlamaEngine()
    engine.load(LoadSpec(str(tiny_model), context_size=1024, state_cache_mb=64))
    a = conversation("apples", 2) + [Turn("user", "and now?")]
    _, _, first = reply(engine, a)
    _, _, again = reply(engine, a)
    assert again.prompt_reused == first.prompt_tokens - 1 and len(engine._states) == 0
    engine.unload()


def test_a_state_over_the_budget_is_not_even_copied(tiny_model, monkeypatch):
    import mixtral_tui.engine.llama.state_reuse as llama_engine

    copies = []
    real = llama_engine.llama_cpp.llama_state_seq_get_data
    monkeypatch.setattr(llama_engine.llama_cpp, "llama_state_seq_get_data", lambda *a: copies.append(a) or real(*a))
    engine = LlamaEngine()
    engine.load(LoadSpec(str(tiny_model), context_size=1024, state_cache_mb=64))
    engine._states.budget_bytes = 1  # every state is bigger
    reply(engine, conversation("apples", 2) + [Turn("user", "and now?")])
    reply(engine, conversation("boats", 2) + [Turn("user", "and now?")])
    assert copies == [] and len(engine._states) == 0
    engine._states.budget_bytes = 64 << 20
    reply(engine, conversation("apples", 2) + [Turn("user", "and now?")])
    assert len(copies) == 1 and len(engine._states) == 1  # with room, the switch keeps boats
    engine.unload()
