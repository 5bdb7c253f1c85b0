"""A conversation as Mixtral 8x7B Instruct answers it, played by the scripted engine for the
README's hero screenshot: a base model on 2 cores repeated the prompt back, and the tiny test
model writes noise, so neither showed what the app is for. Its figures are Mixtral Q4_K_M's
measured on a 24 GB GPU with the experts of 5 layers in RAM (docs/PERFORMANCE.md); the
screenshot's caption says the conversation is played."""

from __future__ import annotations

import re
from collections.abc import Iterator

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import Chunk, LoadSpec, ModelInfo, ReplyStats, Turn
from tests.fixtures.fake_engine import ScriptedEngine

QUESTIONS = [
    "Explain this code:\n\n```python\ndef add(a, b):\n    return a + b\n```",
    "Now write a pytest test for it.",
]
ANSWERS = [
    "It defines a function `add` that takes two arguments and returns their sum.\n\n"
    "```python\n>>> add(2, 3)\n5\n>>> add(\"con\", \"cat\")\n'concat'\n```\n\n"
    "Python is dynamically typed, so `+` works on anything that supports it: numbers, strings, "
    "lists. To say it is meant for numbers, add type hints:\n\n"
    "```python\ndef add(a: float, b: float) -> float:\n    return a + b\n```",
    "Here is a small test module, `test_mymath.py`:\n\n"
    "```python\nimport pytest\n\nfrom mymath import add\n\n\n"
    "@pytest.mark.parametrize(\"a, b, expected\", [\n    (2, 3, 5),\n    (-1, 1, 0),\n"
    "    (0.1, 0.2, pytest.approx(0.3)),\n])\ndef test_add(a, b, expected):\n"
    "    assert add(a, b) == expected\n```\n\n"
    "Run it with `pytest -q`. The `approx` case matters: `0.1 + 0.2` is not exactly `0.3` in "
    "floating point, so an exact comparison would fail.",
]
DECODE_TPS = 52.6  # Mixtral Q4_K_M, experts of 5 layers in RAM (PERFORMANCE.md); its 8k context
PROMPT_TPS = 2363.0


def tokens(text: str) -> list[str]:
    """Word-sized pieces, as a tokenizer streams them (spaces lead)."""
    return re.findall(r"\s*\S+|\s+", text)


class PlayedEngine(ScriptedEngine):
    """The scripted engine, named and timed as Mixtral 8x7B Q4_K_M, answering each question with its answer."""

    def __init__(self, delay: float = 0.03) -> None:
        super().__init__(delay=delay, context_size=8192, tps=DECODE_TPS)

    def load(self, spec: LoadSpec) -> ModelInfo:
        self.info = ModelInfo(spec.model_path, "Mixtral 8x7B Instruct v0.1", "llama", "Q4_K_M", self.context_size,
                              32768, "mistral", plan_summary="GPU, experts of 5 layers on CPU")
        return self.info

    def stream_reply(self, turns: list[Turn], sampling: Sampling, cancel: CancelToken,
                     stats: ReplyStats) -> Iterator[Chunk]:
        asked = sum(1 for t in turns if t.role == "user") - 1
        self.pieces = tokens(ANSWERS[min(asked, len(ANSWERS) - 1)])
        for chunk in super().stream_reply(turns, sampling, cancel, stats):
            stats.prompt_seconds = stats.prompt_evaluated / PROMPT_TPS
            stats.ttft_seconds = stats.prompt_seconds + 1 / DECODE_TPS
            yield chunk


TOOLS_QUESTION = "What time is it in Tokyo? I have a call with the team there."
TOOLS_ANSWERS = ["I'll look up the current time in Tokyo.",
                 "It is {time} in Tokyo ({day}), so mornings there are your evenings: a good time to call."]


class PlayedToolsEngine(ScriptedEngine):
    """A model that calls tools, as Mistral Small 3.2 does on llama.cpp's server, played for the
    README's screenshot of a call being asked for (Mixtral 8x7B Instruct was not trained for tools)."""

    def __init__(self, delay: float = 0.03) -> None:
        from mixtral_tui.engine.base import ToolCall

        super().__init__(delay=delay, context_size=32768, tps=DECODE_TPS,
                         calls=[[ToolCall("k3Jd8sQ2p", "time_get_current_time", '{"timezone": "Asia/Tokyo"}')]])

    def load(self, spec: LoadSpec) -> ModelInfo:
        self.info = ModelInfo(spec.model_path, "Mistral-Small-3.2-24B-Instruct", "llama", "Q4_K_M", self.context_size,
                              131072, "the server's (llama.cpp)", server="127.0.0.1:8080")
        return self.info

    def stream_reply(self, turns, sampling, cancel, stats, tools=()):  # type: ignore[no-untyped-def]
        import json

        if turns[-1].role == "tool":
            found = json.loads(turns[-1].content)
            answer = TOOLS_ANSWERS[1].format(time=found["datetime"][11:16], day=found["day_of_week"])
        else:
            answer = TOOLS_ANSWERS[0]
        self.pieces = tokens(answer)
        for chunk in super().stream_reply(turns, sampling, cancel, stats, tools):
            stats.prompt_seconds = stats.prompt_evaluated / PROMPT_TPS
            stats.ttft_seconds = stats.prompt_seconds + 1 / DECODE_TPS
            yield chunk


FILES_QUESTION = "Why does the server not start? @config.ini @server.py"
FILES_ANSWER = (
    "The server reads `port` from the `[server]` section of **config.ini** and passes it to `int()`:\n\n"
    "```ini\n[server]\nport = eighty\n```\n\n"
    "`int(\"eighty\")` raises `ValueError`, so `server.py` stops at line 7 before it listens. Write the "
    "port as a number (`port = 8080`), or catch the error and say which setting is wrong."
)


class PlayedFilesEngine(PlayedEngine):
    """Mixtral 8x7B, played, answering a question about the two files attached to it."""

    def stream_reply(self, turns: list[Turn], sampling: Sampling, cancel: CancelToken,
                     stats: ReplyStats) -> Iterator[Chunk]:
        self.pieces = tokens(FILES_ANSWER)
        for chunk in ScriptedEngine.stream_reply(self, turns, sampling, cancel, stats):
            stats.prompt_seconds = stats.prompt_evaluated / PROMPT_TPS
            stats.ttft_seconds = stats.prompt_seconds + 1 / DECODE_TPS
            yield chunk
