"""The engine for a model on a server: any OpenAI-compatible `/v1/chat/completions`.

The only module that imports the HTTP client (httpx, with httpx-sse for the event stream; chosen
over the `openai` package because each server's extra fields — llama.cpp's `timings`, vLLM's and
llama.cpp's reasoning, Mistral's typed content parts — are read from the JSON as sent, and a
server that is not quite OpenAI's gets a message about what it did, not a validation error).

The stream is read in a thread of its own; the reply's thread waits on it a tenth of a second at a
time, so Esc stops a reply at once even when the server has gone quiet, and a server that sends
nothing for `read_timeout` seconds is given up on. The key comes from the environment variable
the server's settings name, is sent to that server only, and appears in no log line or message.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

import httpx

from mixtral_tui.cancel import Cancellation
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LOG_INFO, LOG_WARN, Chunk, LoadSpec, LogSink, ModelInfo, ReplyStats, ToolSpec, Turn
from mixtral_tui.engine.openai_tools import ToolCallJoiner, tools_field
from mixtral_tui.engine.remote.faults import RETRIES_429, context_exceeded, fault, pick_model, retry_after, status_fault
from mixtral_tui.engine.remote.figures import own_model_info, take_figures
from mixtral_tui.engine.remote.stream import Stream, wait
from mixtral_tui.engine.server_dialects import (
    DIALECTS,
    Dialect,
    context_size_from,
    estimated_tokens,
    finish_reason,
    guess_dialect,
    model_ids,
    parse_chunk,
    request_body,
    slots_from,
    sure_to_fit,
)
from mixtral_tui.engine.templates import fold_system
from mixtral_tui.engine.thinking import ThinkingSplitter
from mixtral_tui.errors import InsecureKeyError, ServerError
from mixtral_tui.server_config import WEB_ENGINE_ENV, WEB_PAGE_ENV, WEB_PAGE_HEADER, ServerSettings
from mixtral_tui.vocabulary import FinishReason, Role


class RemoteEngine:
    def __init__(self, log_sink: LogSink | None = None) -> None:
        self.info: ModelInfo | None = None
        self._log_sink = log_sink
        self._server: ServerSettings | None = None
        self._client: httpx.Client | None = None
        self._model = ""
        self._dialect: Dialect = DIALECTS["generic"]
        self._can_tokenize = True
        self._folds_system = False  # learnt from the server: its template refuses a system turn

    # -- connection ----------------------------------------------------------
    def _log(self, text: str, level: int = LOG_INFO) -> None:
        if self._log_sink:
            self._log_sink(f"mixtral-tui: {text}\n", level)

    def _key(self, server: ServerSettings) -> str:
        if server.own_key:
            return server.own_key
        return os.environ.get(server.api_key_env, "").strip() if server.api_key_env else ""

    def _open(self, server: ServerSettings) -> httpx.Client:
        key = self._key(server)
        if key and server.key_is_exposed and not server.allow_insecure:
            raise InsecureKeyError(
                f"{server.url} is plain http to another machine: the key in {server.api_key_env} would cross the "
                "network unencrypted. Use https, or pass --allow-insecure if this network is yours."
            )
        headers = dict(server.headers)
        page = os.environ.get(WEB_PAGE_ENV, "")
        if page and server.url == os.environ.get(WEB_ENGINE_ENV, "").rstrip("/"):
            headers[WEB_PAGE_HEADER] = page  # a page of `mixtral-tui web`: its replies stop when it goes
        if key:
            headers["Authorization"] = f"Bearer {key}"
        timeout = httpx.Timeout(server.read_timeout, connect=server.connect_timeout)
        return httpx.Client(base_url=server.url + "/", headers=headers, timeout=timeout, follow_redirects=False)

    def _root(self) -> str:
        """The server's own root (llama.cpp's /props and /tokenize live beside /v1, not under it)."""
        assert self._server is not None
        url = self._server.url
        return url[: -len("/v1")] if url.endswith("/v1") else url

    def _get_json(self, path: str, absolute: bool = False) -> Any:
        """A GET whose failure is no fault (probing what the server is): None then."""
        assert self._client is not None
        try:
            response = self._client.get(self._root() + path if absolute else path, timeout=5.0)
            return response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError):
            return None

    def list_models(self, server: ServerSettings) -> list[str]:
        """The server's model ids (`mixtral-tui models --server`, the picker)."""
        self.unload()
        self._server, self._client = server, self._open(server)
        try:
            return self._models()[1]
        finally:
            self.unload()

    def _models(self) -> tuple[Any, list[str]]:
        assert self._client is not None and self._server is not None
        server = self._server
        try:
            response = self._client.get("models")
        except httpx.HTTPError as exc:
            raise fault(exc, server) from None
        if response.status_code != 200:
            raise status_fault(response, server, "")
        try:
            models_json = response.json()
            return models_json, model_ids(models_json)
        except ValueError as exc:
            raise ServerError(f"{server.url} does not answer as an OpenAI-compatible server ({exc}); "
                              "its URL usually ends in /v1.") from None

    # -- the Engine protocol ---------------------------------------------------
    def load(self, spec: LoadSpec) -> ModelInfo:
        """Ask the server what it is and which models it has; pick the model. Raises ServerError."""
        server = spec.server
        if server is None:
            raise ServerError("no server given (--server URL_OR_NAME).")
        self.unload()
        self._server, self._client = server, self._open(server)
        models_json, models = self._models()
        props = self._get_json("/props", absolute=True)
        ollama = server.kind == "" and self._get_json("/api/version", absolute=True) is not None
        self._dialect = guess_dialect(server.kind, models_json, props, ollama)
        wanted = spec.model_path or server.model
        if self._dialect.name == "mixtral-tui" and wanted.endswith(".gguf"):
            self._model = wanted  # `mixtral-tui web`'s engine loads a file a page picks, for every page
        else:
            self._model = pick_model(wanted, models, server)
        self._can_tokenize = bool(self._dialect.tokenize)
        said = context_size_from(models_json, props, self._model)
        context = said or spec.context_size
        told = "the server's" if said else "from the config (the server does not say)"
        self._log(f"{server.label}: {self._dialect.name} server, model {self._model}, context {context:,} ({told})")
        # llama-cpp-python's server names a model by its file's path: shown by the file's name
        shown = self._model.rsplit("/", 1)[-1] if self._model.startswith("/") else self._model
        self.info = ModelInfo(
            path=self._model, name=shown, architecture="remote", context_size=context, train_context=context,
            template=f"the server's ({self._dialect.name})", server=server.label, slots=slots_from(props),
            plan_summary=f"on {server.label} ({self._dialect.name}), context {context:,} {told}",
        )
        ours = own_model_info(models_json, self._model) if self._dialect.name == "mixtral-tui" else {}
        if ours:  # `mixtral-tui web`'s engine: the model as this machine's terminal shows it
            self.info.name = str(ours.get("name") or shown)
            self.info.quant = str(ours["quant"]) if ours.get("quant") else None
            self.info.template = str(ours.get("template") or self.info.template)
            self.info.plan_summary = f"on {server.label}: {ours.get('plan') or f'context {context:,}'}"
            self.info.no_tools = str(ours.get("no_tools") or "")  # its local model's, as a terminal says
        return self.info

    def count_tokens(self, turns: list[Turn], exact: bool = False, tools: Sequence[ToolSpec] = ()) -> int:
        """With the server's own tokenizer where it has one (llama.cpp, vLLM, llama-cpp-python),
        else an estimate that errs high; a tokenizer that fails once is not asked again. The tools'
        share is estimated (the server's template renders them where no tokenizer reaches)."""
        if tools:
            return self.count_tokens(turns, exact) + len(json.dumps(tools_field(tools))) // 3
        if not exact and self.info is not None and sure_to_fit(turns, self.info.context_size):
            return estimated_tokens(turns)  # a round trip before each first token, saved (benchmark 8)
        if self._can_tokenize and self._client is not None:
            try:
                return self._tokenize(turns)
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                self._can_tokenize = False
                self._log("the server's tokenizer did not answer: token counts are estimated from here on", LOG_WARN)
        return estimated_tokens(turns)

    def _tokenize(self, turns: list[Turn]) -> int:
        assert self._client is not None
        text = "\n".join(t.content for t in turns)
        overhead = 8 * len(turns) + 8  # the template's tokens around each turn
        if self._dialect.tokenize == "vllm":
            body = {"model": self._model, "messages": [{"role": t.role, "content": t.content} for t in turns]}
            answer = self._client.post(self._root() + "/tokenize", json=body, timeout=10.0).raise_for_status().json()
            return int(answer["count"])
        if self._dialect.tokenize == "llama.cpp":
            answer = self._client.post(self._root() + "/tokenize", json={"content": text}, timeout=10.0)
        else:
            answer = self._client.post(self._root() + "/extras/tokenize", json={"input": text}, timeout=10.0)
        return len(answer.raise_for_status().json()["tokens"]) + overhead

    def stream_reply(
        self, turns: list[Turn], sampling: Sampling, cancel: Cancellation, stats: ReplyStats,
        tools: Sequence[ToolSpec] = (),
    ) -> Iterator[Chunk]:
        """The request goes out at this call; the iterator reads its answer (close it if unread)."""
        if self._client is None or self._server is None or self.info is None:
            raise ServerError("no server is connected; pick one with --server.")
        # `mixtral-tui web`'s engine is this machine's: its own speed is the reply's, as in a terminal
        stats.over_network = self._dialect.name != "mixtral-tui"
        started = time.monotonic()
        if self._folds_system and any(t.role == Role.SYSTEM for t in turns):
            turns = fold_system(next(t.content for t in turns if t.role == Role.SYSTEM),
                                [t for t in turns if t.role != Role.SYSTEM])
        body = request_body(self._dialect, self._model, turns, sampling, tools=tools)
        # Sent now, not at the first `next`: the caller records the reply and shows it while the
        # server reads the prompt (benchmark 8: the time to first token the app adds).
        reply = _Reply(Stream(self._client, body), tools)
        reply.chunks = self._chunks(reply, body, turns, sampling, cancel, stats, started)
        return reply

    def _chunks(self, reply: _Reply, body: dict, turns: list[Turn], sampling: Sampling, cancel: Cancellation,
                stats: ReplyStats, started: float) -> Iterator[Chunk]:
        """The reply's chunks from its stream, asked again where a server's refusal says how."""
        assert self._client is not None and self._server is not None and self.info is not None
        server, stream = self._server, reply.stream
        first_at: float | None = None
        counted = 0
        splitter = ThinkingSplitter()  # a server without a reasoning parser sends the tags inline
        calls = ToolCallJoiner()
        retries = 0
        tried_common = retried_transport = False
        finished = False
        try:
            while True:
                item = stream.next(cancel, server.read_timeout)
                if item is None:  # stopped by the user
                    stats.finish_reason = FinishReason.CANCELLED
                    return
                kind, value = item
                if kind == "status":
                    response: httpx.Response = value
                    too_long = context_exceeded(response, server) if first_at is None else None
                    if too_long is not None:
                        raise too_long  # the reply is planned again with fewer turns (chat/reply.py)
                    if response.status_code == 429 and retries < RETRIES_429:
                        retries += 1
                        pause = retry_after(response)
                        self._log(f"{server.label} is busy (HTTP 429): asking again in {pause:.0f} s, as it says "
                                  f"({retries} of {RETRIES_429})", LOG_WARN)
                        if not wait(pause, cancel):
                            stats.finish_reason = FinishReason.CANCELLED
                            return
                        stream = reply.stream = Stream(self._client, body)
                        continue
                    if response.status_code in (400, 422, 500) and first_at is None and self._may_fold(turns) \
                            and "alternate" in response.text.lower():
                        turns, body = self._folded(turns, sampling, reply.tools)
                        stream = reply.stream = Stream(self._client, body)
                        continue
                    if response.status_code in (400, 422) and not tried_common and first_at is None:
                        tried_common = True
                        self._log(f"{server.label} refused the request (HTTP {response.status_code}): asking again "
                                  "with the common sampling fields only", LOG_WARN)
                        body = request_body(self._dialect, self._model, turns, sampling, common_only=True,
                                            tools=reply.tools)
                        stream = reply.stream = Stream(self._client, body)
                        continue
                    raise status_fault(response, server, self._model)
                if kind == "error":
                    if first_at is None and not retried_transport and isinstance(value, httpx.RemoteProtocolError |
                                                                                  httpx.ReadError):
                        retried_transport = True  # a kept-alive connection the server had dropped: once more
                        stream = reply.stream = Stream(self._client, body)
                        continue
                    raise fault(value, server, mid_reply=first_at is not None)
                if kind == "not-sse":
                    raise ServerError(f"{server.url} did not stream an event stream ({value}); it is not an "
                                      "OpenAI-compatible server, or the URL should end in /v1.")
                if kind == "end":
                    if not finished and first_at is None and self._may_fold(turns):
                        # Mixtral's template on a server refuses a system turn ("roles must alternate"),
                        # and llama-cpp-python's server then ends the stream empty: fold it, ask again.
                        turns, body = self._folded(turns, sampling, reply.tools)
                        stream = reply.stream = Stream(self._client, body)
                        continue
                    if not finished:  # no finish_reason, no [DONE]: the connection just ended
                        raise ServerError(f"{server.label} closed the connection before the reply was finished; "
                                          "the text so far is kept.")
                    break
                if value.strip() == "[DONE]":
                    break
                try:
                    delta = parse_chunk(json.loads(value))
                except ValueError as exc:
                    raise ServerError(f"{server.label} sent a chunk that is not a chat completion ({exc}): "
                                      f"{value[:120]!r}.") from None
                if delta.usage or delta.timings:
                    take_figures(stats, delta.usage, delta.timings)
                if delta.finish_reason:
                    finished = True
                    stats.finish_reason = FinishReason.CANCELLED if delta.cancelled else finish_reason(delta.finish_reason)
                if delta.tokens:
                    now = time.monotonic()
                    if first_at is None:
                        first_at = now
                        stats.ttft_seconds = now - started
                    counted += delta.tokens
                    stats.completion_tokens = max(stats.completion_tokens, counted)
                    stats.decode_seconds = now - first_at
                if delta.tool_calls:
                    calls.feed(delta.tool_calls)
                if delta.waiting and first_at is None:
                    yield Chunk("", stats.completion_tokens, 0.0, waiting=delta.waiting)
                answer, inline = splitter.feed(delta.text) if delta.text else ("", "")
                if answer or inline or delta.thinking:
                    yield Chunk(answer, stats.completion_tokens, stats.decode_tps, delta.thinking + inline)
            held_answer, held_thinking = splitter.flush()
            if held_answer or held_thinking:
                yield Chunk(held_answer, stats.completion_tokens, stats.decode_tps, held_thinking)
            if calls.any and stats.finish_reason != FinishReason.CANCELLED:
                stats.finish_reason = FinishReason.TOOL_CALLS  # (Ollama says "stop" after calls)
                yield Chunk("", stats.completion_tokens, stats.decode_tps, tool_calls=calls.calls())
        finally:
            stream.close()
            failing = isinstance(sys.exc_info()[1], Exception)  # (a stop closes with GeneratorExit)
            self._fill_unknown_figures(turns, stats, ask=not failing)

    def _fill_unknown_figures(self, turns: list[Turn], stats: ReplyStats, ask: bool) -> None:
        """The context, and a prompt the server did not count (llama-cpp-python's server sends no
        usage): its tokenizer is asked (`ask`: not after a failure), else an estimate, marked so."""
        assert self.info is not None
        stats.context_size = self.info.context_size
        if not stats.over_network and stats.server_decode_tps > 0 and stats.completion_tokens >= 2:
            stats.decode_seconds = (stats.completion_tokens - 1) / stats.server_decode_tps
        if not stats.prompt_tokens:
            counted = 0
            if ask and self._can_tokenize and self._client is not None:
                try:
                    counted = self._tokenize(turns)
                except (httpx.HTTPError, ValueError, KeyError, TypeError):
                    self._can_tokenize = False
            # Only an OpenAI-style /tokenize counts the template too; the others' is reckoned around it.
            exact = bool(counted) and self._dialect.tokenize == "vllm"
            stats.prompt_tokens = counted or estimated_tokens(turns)
            stats.prompt_counted = "tokenizer" if exact else "estimate"
        stats.context_used = stats.prompt_tokens + stats.completion_tokens

    def _may_fold(self, turns: list[Turn]) -> bool:
        return not self._folds_system and any(t.role == Role.SYSTEM for t in turns)

    def _folded(self, turns: list[Turn], sampling: Sampling, tools: Sequence[ToolSpec]) -> tuple[list[Turn], dict]:
        """The system prompt put at the head of the first user turn (Mistral's documented way), from
        now on for this model: its template on the server has no system role."""
        self._folds_system = True
        self._log(f"{self._model}: the server's template takes no system turn; the system prompt goes at the head "
                  "of the first message from now on", LOG_WARN)
        system = next(t.content for t in turns if t.role == Role.SYSTEM)
        folded = fold_system(system, [t for t in turns if t.role != Role.SYSTEM])
        return folded, request_body(self._dialect, self._model, folded, sampling, tools=tools)

    def unload(self) -> None:
        self._folds_system = False
        if self._client is not None:
            self._client.close()
        self._client = None
        self.info = None

    def close(self) -> None:
        self.unload()


class _Reply:
    """A reply whose request is already sent: iterating reads it, `close` ends its stream even
    when nothing was read yet (a generator that never started runs no `finally`)."""

    def __init__(self, stream: Stream, tools: Sequence[ToolSpec]) -> None:
        self.stream = stream
        self.tools = tools
        self.chunks: Iterator[Chunk] = iter(())

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        return next(self.chunks)

    def close(self) -> None:
        close = getattr(self.chunks, "close", None)
        if close is not None:
            close()
        self.stream.close()
