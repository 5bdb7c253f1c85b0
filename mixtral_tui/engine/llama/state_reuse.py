"""Reusing the KV cache across conversations: saving the live one before it is overwritten, and
restoring a saved one that covers more of the next prompt (the states are kept in kv_states.py).

The same conversation's next turn needs none of this: llama-cpp-python's `generate()` already
reuses the longest common token prefix with what it evaluated last.
"""

from __future__ import annotations

import ctypes
from typing import Any

import llama_cpp

from mixtral_tui.engine.kv_states import StateCache, common_prefix

MIN_RESTORE_GAIN = 16  # tokens: below this, reading them again is cheaper than a restore


def reuse_or_restore(llm: Any, states: StateCache, prompt_len: int, tokens: list[int]) -> int:
    """How many prompt tokens the KV cache already holds, after restoring a saved state when one
    covers more of this prompt than the live cache does. `prompt_len`: the prompt part of the live
    cache (the rest is the reply generated after it)."""
    cached = llm._input_ids
    reused = common_prefix(cached, tokens)
    switching = reused < prompt_len  # diverges inside the last prompt: another conversation
    if not (switching and states.budget_bytes):
        return reused  # the same conversation's next turn: nothing to save or look up
    saved = states.best(tokens)
    restore = saved is not None and saved[0] >= reused + MIN_RESTORE_GAIN
    if len(cached) - reused >= MIN_RESTORE_GAIN:
        # The live cache is about to be overwritten: keep it for when its conversation comes back.
        # (The same conversation's next turn diverges after that prompt, at most in its reply.)
        size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
        if size <= states.budget_bytes:  # not copied (GiBs, for a long Mixtral chat) to be refused
            blob = (ctypes.c_uint8 * size)()
            written = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, blob, size, 0)
            states.put(list(cached), ctypes.string_at(blob, written))
    if restore and saved is not None:
        shared, state = saved
        blob = (ctypes.c_uint8 * len(state.blob)).from_buffer_copy(state.blob)
        if llama_cpp.llama_state_seq_set_data(llm._ctx.ctx, blob, len(state.blob), 0):
            llm.input_ids[: len(state.tokens)] = state.tokens
            llm.n_tokens = shared  # generate() clears the cells past this before reading the rest
            return shared
        llm.n_tokens = 0  # a failed restore leaves the cache undefined: read the prompt from scratch
        return 0
    return reused
