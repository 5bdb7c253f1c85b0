"""One model for every browser page: the `web` command's engine, served to the pages' apps as an
OpenAI-compatible server on loopback.

textual-serve starts a new app process for each page (and each reload). Left alone, each would load
the model again: 26 GB for Mixtral, a minute or more each time. Instead the `web` process holds the one
`Engine` and serves it here; each page's app reaches it through the remote engine, the same seam as
any server (`--server http://127.0.0.1:PORT/v1`), so every feature works the same.

- One reply at a time: a second page's reply waits its turn, and its stream says so meanwhile
  (`x_mixtral_tui.waiting`, shown in that page's status line).
- A page's app that stops reading (Esc, its page closed and the app quit) stops the reply: a write
  to the closed stream fails, and the reply's cancel token is set.
- A page that goes stops its replies here too (`page_closed`, from the page server, by the page id
  its app sends): certain, whatever the page's app is doing then. The reply's last chunk says it was
  stopped, and its app keeps it so.
- A chat request naming another local GGUF file loads it for everyone (a page's picker).
- A random key, given to the pages' apps in their environment, is asked of every request: another
  local user cannot use the model through this port.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from aiohttp import web

from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LOG_INFO, Chunk, Engine, LoadSpec, LogSink, ModelInfo, ReplyStats, ToolSpec, Turn
from mixtral_tui.engine.openai_tools import call_pieces, spec_of, turn_of
from mixtral_tui.errors import UserError
from mixtral_tui.server_config import WEB_PAGE_HEADER
from mixtral_tui.vocabulary import FinishReason

OWNER = "mixtral-tui"
"""The `owned_by` of its model: the remote engine knows it by that (engine/server_dialects.py)."""

KEEP_ALIVE_SECONDS = 5.0
"""While a reply waits its turn or a model loads, a note this often keeps the stream alive."""


class EngineHost:
    """The web server's one engine, and the HTTP routes that serve it."""

    def __init__(self, engine: Engine, spec: LoadSpec, key: str, log: LogSink | None = None) -> None:
        self.engine = engine
        self._log = log
        self.spec = spec  # what to load, and how; `model_path` changes when a page picks another
        self.key = key
        self.loads = 0  # how many times a model was loaded (tests count them)
        # Replies at once: one, but llama-server's slots (engine = "llama-server") write several
        self.slots = spec.llama_server.parallel if spec.engine == "llama-server" and spec.llama_server.parallel else 1
        self._turn = asyncio.Semaphore(self.slots)
        self._active = 0  # replies holding a turn
        self._waiting = 0
        self._replies: dict[str, set[CancelToken]] = {}  # a page's id: its replies under way
        self._closed: set[str] = set()  # pages gone (a request still on its way from one is refused)

    # -- the model -----------------------------------------------------------
    @property
    def info(self) -> ModelInfo | None:
        return self.engine.info

    def load(self, path: str) -> ModelInfo:
        """Load (or switch to) this model; on the caller's thread (a worker)."""
        self.spec = replace(self.spec, model_path=path)
        started = time.monotonic()
        info = self.engine.load(self.spec)
        self.loads += 1
        if self._log:
            self._log(f"mixtral-tui web: model load {self.loads}: {info.name} in {time.monotonic() - started:.1f} s, "
                      "for every page\n", LOG_INFO)
        return info

    def page_closed(self, page: str) -> None:
        """A page went (its websocket ended): its replies stop at their next token."""
        self._closed.add(page)
        for cancel in self._replies.pop(page, set()):
            cancel.cancel()

    # -- HTTP ------------------------------------------------------------------
    def routes(self) -> web.Application:
        app = web.Application(middlewares=[self._check_key])
        app.add_routes([
            web.get("/v1/models", self.handle_models),
            web.post("/v1/chat/completions", self.handle_chat),
            web.post("/tokenize", self.handle_tokenize),
        ])
        return app

    @web.middleware
    async def _check_key(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), self.key.encode()):
            return web.json_response({"error": {"message": "this engine serves the web pages' apps only"}},
                                     status=401)
        return await handler(request)

    async def handle_models(self, request: web.Request) -> web.Response:
        info = self.info
        # What the page shows of the model, as a terminal on this machine shows it (not "the server's").
        ours = {} if info is None else {"name": info.name, "template": info.template, "plan": info.plan_summary,
                                        "quant": info.quant, "no_tools": info.no_tools}
        data = [] if info is None else [{"id": info.path, "object": "model", "owned_by": OWNER,
                                         "max_model_len": info.context_size, "x_mixtral_tui": ours}]
        return web.json_response({"object": "list", "data": data})

    async def handle_tokenize(self, request: web.Request) -> web.Response:
        body = await request.json()
        try:
            turns = [turn_of(m) for m in body.get("messages", [])]
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": {"message": f"not a tokenize request: {exc}"}}, status=400)
        if self.info is None:
            return web.json_response({"error": {"message": "no model is loaded"}}, status=503)
        count = await asyncio.to_thread(self.engine.count_tokens, turns)
        return web.json_response({"count": count})

    async def handle_chat(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
            turns = [turn_of(m) for m in body["messages"]]
            tools = [spec_of(t) for t in body.get("tools") or ()]
            sampling = sampling_from(body)
        except (ValueError, KeyError, TypeError) as exc:
            return web.json_response({"error": {"message": f"not a chat request: {exc}"}}, status=400)
        wanted = str(body.get("model") or "")
        page = request.headers.get(WEB_PAGE_HEADER, "")
        if page in self._closed:
            return web.json_response({"error": {"message": "this page was closed"}}, status=410)
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        cancel = CancelToken()
        self._replies.setdefault(page, set()).add(cancel)
        try:
            await self._reply_in_turn(response, cancel, wanted, turns, sampling, tools)
        except ConnectionError:
            cancel.cancel()  # the page's app stopped reading: the reply stops at its next token
        finally:
            self._replies.get(page, set()).discard(cancel)
        return response

    async def _reply_in_turn(self, response: web.StreamResponse, cancel: CancelToken, wanted: str,
                         turns: list[Turn], sampling: Sampling, tools: list[ToolSpec]) -> None:
        await self._take_turn(response)
        self._active += 1
        try:
            info = self.info
            if wanted and (info is None or wanted != info.path):
                if self._active > 1:  # the others' slots are on the model loaded now
                    await send(response, error("another page's reply is being written with the model loaded now; "
                                               "pick the other model once it has finished"))
                    return
                if not Path(wanted).is_file():
                    await send(response, error(f"there is no model file {wanted!r} on the web server's machine"))
                    return
                await send(response, note(f"loading {Path(wanted).name} for every page…"))
                try:
                    await self._with_keep_alive(response, asyncio.to_thread(self.load, wanted), "still loading the model…")
                except UserError as exc:
                    await send(response, error(str(exc)))
                    return
            elif info is None:
                await send(response, error("no model is loaded: pick one in the model picker"))
                return
            await self._stream(response, cancel, turns, sampling, tools)
        finally:
            self._active -= 1
            self._turn.release()

    async def _take_turn(self, response: web.StreamResponse) -> None:
        """A turn at the engine (one, or one of llama-server's slots); while other pages' replies
        have them all, a note now and then."""
        if not self._turn.locked():
            await self._turn.acquire()
            return
        self._waiting += 1
        taken = asyncio.ensure_future(self._turn.acquire())
        try:
            while True:
                others = "another page's reply is" if self.slots == 1 else f"{self.slots} pages' replies are"
                await send(response, note(f"{others} being written; this one waits its turn ({self._waiting} waiting)"))
                done, _ = await asyncio.wait({taken}, timeout=KEEP_ALIVE_SECONDS)
                if done:
                    return
        except BaseException:
            if taken.done() and not taken.cancelled():
                self._turn.release()
            else:
                taken.cancel()
            raise
        finally:
            self._waiting -= 1

    async def _with_keep_alive(self, response: web.StreamResponse, work: Any, words: str) -> Any:
        task = asyncio.ensure_future(work)
        while True:
            done, _ = await asyncio.wait({task}, timeout=KEEP_ALIVE_SECONDS)
            if done:
                return task.result()
            await send(response, note(words))

    async def _stream(self, response: web.StreamResponse, cancel: CancelToken, turns: list[Turn],
                      sampling: Sampling, tools: list[ToolSpec]) -> None:
        """The reply from the engine's thread to the stream, a chunk per engine chunk; the page's
        tools go to the model (where its template takes them) and its calls back to the page."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        stats = ReplyStats()

        def generate() -> None:
            try:
                for chunk in self.engine.stream_reply(turns, sampling, cancel, stats, tools=tools):
                    loop.call_soon_threadsafe(queue.put_nowait, ("chunk", chunk))
                loop.call_soon_threadsafe(queue.put_nowait, ("done", None))
            except Exception as exc:  # every failure goes to the page as an error chunk
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

        thread = threading.Thread(target=generate, name="web-reply", daemon=True)
        thread.start()
        counted = 0
        try:
            while True:
                kind, value = await queue.get()
                if kind == "chunk":
                    tokens, counted = value.completion_tokens - counted, value.completion_tokens
                    await send(response, text_chunk(value, tokens))
                elif kind == "error":
                    await send(response, error(f"the reply failed: {value}"))
                    return
                else:
                    await send(response, last_chunk(stats))
                    await response.write(b"data: [DONE]\n\n")
                    return
        finally:
            cancel.cancel()  # a no-op once done; the thread stops at its next token otherwise
            await asyncio.to_thread(thread.join)


def sampling_from(body: dict[str, Any]) -> Sampling:
    """The request's sampling fields (the remote engine's names for this server), defaults elsewhere."""
    base = Sampling()
    fields = {name: type(getattr(base, name))(body[name]) for name in
              ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "max_tokens", "seed") if name in body}
    return replace(base, **fields)


def note(words: str) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}}],
            "x_mixtral_tui": {"waiting": words}}


def error(words: str) -> dict[str, Any]:
    return {"error": {"message": words}}


def text_chunk(chunk: Chunk, tokens: int) -> dict[str, Any]:
    delta: dict[str, Any] = {"content": chunk.text}
    if chunk.thinking:
        delta["reasoning_content"] = chunk.thinking
    if chunk.tool_calls:
        delta["tool_calls"] = call_pieces(chunk.tool_calls)
    return {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta}],
            "x_mixtral_tui": {"tokens": tokens}}


def last_chunk(stats: ReplyStats) -> dict[str, Any]:
    reasons: dict[str, str] = {FinishReason.LENGTH: "length", FinishReason.TOOL_CALLS: "tool_calls"}
    reason = reasons.get(stats.finish_reason, "stop")
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": {}, "finish_reason": reason}],
        "x_mixtral_tui": {"cancelled": stats.finish_reason == FinishReason.CANCELLED},
        "usage": {"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens},
        "timings": {"prompt_n": stats.prompt_evaluated, "cache_n": stats.prompt_reused,
                    "prompt_ms": stats.prompt_seconds * 1000, "predicted_per_second": stats.decode_tps},
    }


async def send(response: web.StreamResponse, data: dict[str, Any]) -> None:
    """One SSE event. A page's app that went away raises ConnectionError here."""
    try:
        await response.write(b"data: " + json.dumps(data).encode() + b"\n\n")
    except (ConnectionResetError, RuntimeError) as exc:  # aiohttp: "Cannot write to closing transport"
        raise ConnectionError(str(exc)) from None

