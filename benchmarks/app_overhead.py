"""Benchmark 1: decode speed through the whole app versus raw llama-cpp-python, A/B/A/B in one run.

The app side is the real MixtralApp driven headless with Pilot: engine worker,
messages to the UI, Markdown streaming, database checkpoints. The raw side is
llama-cpp-python's own token loop (`Llama.generate`) on the same prompt tokens,
model, context and threads. Both are greedy with the same token budget; both
measure from the first token to the last.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

from mixtral_tui.config import Config, Sampling
from mixtral_tui.engine.base import LoadSpec, Turn

PROMPT = "Write a long story about a terminal that learned to chat."


def raw_decode_tps(model: Path, context: int, max_tokens: int, prompt_text: str) -> float:
    """llama-cpp-python's own token loop, `Llama.generate`, with a detokenize per token: the least
    a streaming client can do. (`create_completion(stream=True)` detokenizes the whole reply again
    at every token, so it slows down as a reply grows: 24 tok/s by token 384 on the tiny model.)"""
    import llama_cpp

    from mixtral_tui.engine.base import default_threads

    llm = llama_cpp.Llama(  # every layer on the GPU where there is one, as the app loads by default
        str(model), n_ctx=context, n_gpu_layers=-1, n_threads=default_threads(), n_batch=512, verbose=False
    )
    tokens = llm.tokenize(prompt_text.encode(), add_bos=False, special=True)
    vocab = llm._model.vocab
    times = []
    for token in llm.generate(tokens, temp=0.0, repeat_penalty=1.0):
        if llama_cpp.llama_vocab_is_eog(vocab, token) or len(times) >= max_tokens:
            break
        llm.detokenize([token])
        times.append(time.perf_counter())
    llm.close()
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


async def app_decode_tps(
    model: Path, context: int, max_tokens: int, engine: str = "separate", cpu_moe_layers: int = 0,
    llama_server: str = "",
) -> tuple[float, int]:
    """(decode tok/s, tokens) of one reply through the whole app; `llama_server`: the binary for
    engine = "llama-server" ("" = PATH)."""
    from mixtral_tui.config import LlamaServerSettings
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    config = Config(sampling=Sampling(temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0, seed=1))
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        spec = LoadSpec(str(model), context_size=context, engine=engine, cpu_moe_layers=cpu_moe_layers,
                        llama_server=LlamaServerSettings(path=llama_server))
        app = MixtralApp(config, spec, history=History(Path(home) / "h.sqlite3"))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.05)
            composer = app.active_view().composer
            composer.text = PROMPT
            composer.focus()
            await pilot.press("enter")
            deadline = time.perf_counter() + 300
            while time.perf_counter() < deadline:  # Pilot may return after the reply ended: watch the stored reply
                if app.generation is None:  # (cheap to check: no database reads while the reply runs)
                    replies = [m for m in app.history.messages(1) if m.role == "assistant" and m.status != "streaming"]
                    if replies:
                        return replies[-1].stats["decode_tps"], replies[-1].stats["completion_tokens"]
                await asyncio.sleep(0.05)
            raise TimeoutError("the app did not finish the reply in 5 minutes")


def prompt_as_the_app_sends_it(model: Path) -> str:
    from mixtral_tui.engine.llama import LlamaEngine

    engine = LlamaEngine()
    engine.load(LoadSpec(str(model), context_size=512))
    text = engine._template.render([Turn("system", Config().chat.system_prompt), Turn("user", PROMPT)])
    engine.unload()
    return text


def measure(model: Path, context: int, max_tokens: int, rounds: int) -> dict:
    """Raw against the app with the model in its own process (the default): A/B/A/B, so drift hits
    both alike. (The retired "in-app" engine was the third: 0.55× on Gemma, 0.06× on the tiny MoE.)"""
    prompt_text = prompt_as_the_app_sends_it(model)
    raw, app = [], []
    for _ in range(rounds):
        raw.append(raw_decode_tps(model, context, max_tokens, prompt_text))
        app.append(asyncio.run(app_decode_tps(model, context, max_tokens, "separate"))[0])
    middle = statistics.median
    return {"raw": middle(raw), "app": middle(app), "ratio": middle(app) / middle(raw), "raw_all": raw, "app_all": app}
