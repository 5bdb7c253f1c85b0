"""The llama.cpp engine: one GGUF model, loaded in this process, replying a token at a time.

Native logs reach the sinks of native.py (imported first, so its callback is in place before any
call into llama.cpp). Tools are offered where the GGUF's own template takes them; the calls are
read from the reply's text (template_tools.py).
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import os
import time
from collections.abc import Iterator, Sequence
from typing import Any

import llama_cpp

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import (
    Cancellation,
    Chunk,
    LoadSpec,
    LogSink,
    ModelInfo,
    ReplyStats,
    ToolCall,
    ToolSpec,
    Turn,
    default_threads,
)
from mixtral_tui.engine.kv_states import StateCache
from mixtral_tui.engine.llama.native import add_sink, backend_devices, experts_on_cpu, remove_sink
from mixtral_tui.engine.llama.state_reuse import reuse_or_restore
from mixtral_tui.engine.log_router import PrintedLines
from mixtral_tui.engine.template_tools import CallFormat, CallReader, why_no_tools
from mixtral_tui.engine.templates import ChatTemplate, StopScanner, choose_template
from mixtral_tui.engine.thinking import OPEN, ThinkingSplitter
from mixtral_tui.errors import NO_MODEL, ModelLoadError, PromptTooLongError
from mixtral_tui.models.gguf_info import explain_load_failure, loadable_header
from mixtral_tui.vocabulary import FinishReason


class LlamaEngine:
    """Loads one GGUF model and streams replies from it."""

    def __init__(self, log_sink: LogSink | None = None) -> None:
        self.info: ModelInfo | None = None
        self._llm: Any = None  # llama_cpp.Llama (llama-cpp-python has no type information mypy can use)
        self._template: ChatTemplate | None = None
        self._log_sink = log_sink
        self._piece_buffer = ctypes.create_string_buffer(256)
        self._last_prompt: tuple[tuple[tuple[Turn, ...], tuple[ToolSpec, ...]], list[int]] | None = None
        self._opens_thinking = False  # the last prompt ended inside a <think> its template opened
        self._states = StateCache(0)
        self._call_format: CallFormat | None = None  # how the model writes calls (None: it takes no tools)
        self._prompt_len = 0  # the prompt part of the live KV cache (the rest is the reply generated after it)
        if log_sink is not None:
            add_sink(log_sink)

    # -- loading -----------------------------------------------------------
    def load(self, spec: LoadSpec) -> ModelInfo:
        self.unload()
        path = spec.model_path
        header = loadable_header(path)

        summary = ""
        if spec.offload == "auto":
            from dataclasses import replace

            from mixtral_tui.models.hardware import detect
            from mixtral_tui.models.planner import plan

            chosen = plan(header.shape(), header.size, spec.context_size, detect(backend_devices), spec.kv_cache_type)
            spec = replace(spec, gpu_layers=chosen.gpu_layers, cpu_moe_layers=chosen.cpu_moe_layers)
            summary = chosen.summary
        kv_type = {"f16": None, "q8_0": llama_cpp.GGML_TYPE_Q8_0, "q4_0": llama_cpp.GGML_TYPE_Q4_0}[spec.kv_cache_type]
        captured: list[str] = []

        def capture(text: str, level: int) -> None:
            captured.append(text)

        add_sink(capture)
        writer = PrintedLines(self._log_sink or (lambda text, level: None))
        try:
            with contextlib.redirect_stderr(writer), contextlib.redirect_stdout(writer), experts_on_cpu(
                spec.cpu_moe_layers if header.is_moe else 0
            ):
                llm = llama_cpp.Llama(
                    model_path=path,
                    n_ctx=spec.context_size,
                    n_gpu_layers=spec.gpu_layers,
                    n_threads=default_threads(),
                    n_batch=512,
                    type_k=kv_type,
                    type_v=kv_type,
                    flash_attn=kv_type is not None,  # a quantized V cache needs flash attention
                    verbose=True,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            log = "".join(captured)
            reason = explain_load_failure(path, log)
            if "llama_context" in str(exc):
                said = [line.split(":", 1)[-1].strip() for line in log.splitlines() if line.startswith("llama_init_from_model")]
                why = f"llama.cpp said: {said[-1]}" if said else "not enough memory?"
                reason = (
                    f"llama.cpp could not create a {spec.context_size:,}-token context for {os.path.basename(path)} "
                    f"({why}); try a smaller --ctx, fewer GPU layers or another KV cache type."
                )
            raise ModelLoadError(reason) from None
        finally:
            writer.flush()
            remove_sink(capture)
        llm.verbose = False  # the load is done; stop llama-cpp-python's per-call prints

        self._llm = llm
        self._states = StateCache(spec.state_cache_mb << 20)
        self._prompt_len = 0
        bos = self._piece(llm.token_bos()) if llm.token_bos() >= 0 else ""
        eos = self._piece(llm.token_eos()) if llm.token_eos() >= 0 else ""
        self._template = choose_template(
            spec.chat_template, header.chat_template, header.name, header.architecture, bos, eos
        )
        why = ("the GGUF's own" if self._template.name == "gguf" else "set in the config" if spec.chat_template != "auto"
               else "the app's choice for this model: the GGUF carries none")
        writer.write(f"mixtral-tui: prompts use the chat template '{self._template.name}' ({why})\n")
        # Only the GGUF's own template knows how its model was taught to call tools.
        self._call_format = self._template.call_format
        name = header.name or os.path.basename(path)
        no_tools = "" if self._call_format else why_no_tools(
            self._template.source if self._template.name == "gguf" else "", name)
        if self._call_format:
            writer.write(f"mixtral-tui: the template takes tools; calls are read in the {self._call_format} form\n")
        self.info = ModelInfo(
            path=path,
            name=name,
            architecture=header.architecture,
            quant=header.quant,
            context_size=llm.n_ctx(),
            train_context=header.train_context,
            template=self._template.name,
            no_tools=no_tools,
            gpu_layers=spec.gpu_layers if llama_cpp.llama_supports_gpu_offload() else 0,
            cpu_moe_layers=spec.cpu_moe_layers if header.is_moe else 0,
            plan_summary=summary,
            threads=default_threads(),
        )
        return self.info

    @property
    def template(self) -> ChatTemplate:
        assert self._template is not None, "set by load()"
        return self._template

    def unload(self) -> None:
        self._last_prompt = None  # tokens belong to the model that made them
        self._states.clear()
        if self._llm is not None:
            self._llm.close()
            self._llm = None
        self.info = None

    def close(self) -> None:
        """Unload and stop receiving native log lines (the engine is done with)."""
        self.unload()
        if self._log_sink is not None:
            remove_sink(self._log_sink)

    # -- tokens ------------------------------------------------------------
    def _piece(self, token: int, special: bool = True) -> str:
        return self._piece_bytes(token, special).decode("utf-8", errors="replace")

    def _piece_bytes(self, token: int, special: bool = False) -> bytes:
        """The token's bytes (a piece may be part of a UTF-8 character). One buffer, reused per token."""
        vocab = self._llm._model.vocab
        buffer = self._piece_buffer
        n = llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special)
        if n < 0:  # a piece longer than the buffer: grow it once
            self._piece_buffer = buffer = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(vocab, token, buffer, len(buffer), 0, special)
        return buffer.raw[:n]

    def _prompt_tokens(self, turns: list[Turn], tools: Sequence[ToolSpec] = ()) -> list[int]:
        """Render and tokenize, remembering the last result: fitting the context and generating
        ask for the same prompt one after the other. Tools go into the prompt only where the
        template takes them."""
        offered = tuple(tools) if self._call_format else ()
        key = (tuple(turns), offered)
        if self._last_prompt is not None and self._last_prompt[0] == key:
            return self._last_prompt[1]
        text = self.template.render(turns, offered)
        add_bos = not (self.template.bos_token and text.startswith(self.template.bos_token))
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        self._last_prompt = (key, tokens)
        self._opens_thinking = text.rstrip().endswith(OPEN)  # the template began the thinking itself
        return tokens

    def count_tokens(self, turns: list[Turn], exact: bool = False, tools: Sequence[ToolSpec] = ()) -> int:
        return len(self._prompt_tokens(turns, tools))

    # -- generation --------------------------------------------------------
    def stream_reply(
        self, turns: list[Turn], sampling: Sampling, cancel: Cancellation, stats: ReplyStats,
        tools: Sequence[ToolSpec] = (),
    ) -> Iterator[Chunk]:
        llm = self._llm
        if llm is None:
            raise ModelLoadError(NO_MODEL)
        tokens = self._prompt_tokens(turns, tools)
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx - 1:
            raise PromptTooLongError(
                f"the prompt needs {len(tokens):,} tokens but the context holds {n_ctx:,}; "
                "shorten it or start with a larger --ctx."
            )
        reused = min(reuse_or_restore(llm, self._states, self._prompt_len, tokens), len(tokens) - 1)
        self._prompt_len = len(tokens)
        stats.prompt_tokens = len(tokens)
        stats.prompt_reused = reused
        stats.prompt_evaluated = len(tokens) - reused
        stats.context_size = n_ctx
        budget = min(sampling.max_tokens, n_ctx - len(tokens))
        llm.set_seed(sampling.seed if sampling.seed >= 0 else int.from_bytes(os.urandom(4), "little"))

        vocab = llm._model.vocab
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        scanner = StopScanner(self.template.stops)
        splitter = ThinkingSplitter(starts_inside=self._opens_thinking)
        reader = CallReader(self._call_format) if tools and self._call_format else None
        started = time.perf_counter()
        first_at = last_at = started
        count = 0
        leading = True
        stats.finish_reason = FinishReason.LENGTH if budget == sampling.max_tokens else FinishReason.CONTEXT
        generator = llm.generate(
            tokens,
            top_k=sampling.top_k,
            top_p=sampling.top_p,
            min_p=sampling.min_p,
            temp=sampling.temperature,
            repeat_penalty=sampling.repeat_penalty,
        )
        try:
            for token in generator:
                now = time.perf_counter()
                if count == 0:
                    first_at = last_at = now
                    stats.ttft_seconds = now - started
                    stats.prompt_seconds = now - started
                if cancel.cancelled:
                    stats.finish_reason = FinishReason.CANCELLED
                    break
                if llama_cpp.llama_vocab_is_eog(vocab, token):
                    stats.finish_reason = FinishReason.STOP
                    break
                count += 1
                last_at = now
                # special=True: turn markers arrive as text, where the StopScanner ends the reply on them
                text = scanner.feed(decoder.decode(self._piece_bytes(token, special=True)))
                if leading and text:  # SentencePiece models start replies with a space
                    text = text.lstrip(" ")
                    leading = not text
                stats.completion_tokens = count
                stats.decode_seconds = last_at - first_at
                answer, thinking = splitter.feed(text)
                if reader is not None:  # thinking first: a call inside the thinking is not one
                    answer = reader.feed(answer)
                yield Chunk(answer, count, stats.decode_tps, thinking)
                if scanner.stopped:
                    stats.finish_reason = FinishReason.STOP
                    break
                if count >= budget:
                    break
        finally:
            generator.close()
            stats.completion_tokens = count
            stats.decode_seconds = last_at - first_at
            stats.context_used = len(tokens) + count
        tail = scanner.flush() + decoder.decode(b"", final=True) if not scanner.stopped else ""
        (answer, thinking), (held_answer, held_thinking) = splitter.feed(tail), splitter.flush()
        answer += held_answer
        calls: tuple[ToolCall, ...] = ()
        if reader is not None:  # a stopped reply's call is not run: its text is shown as written
            shown = reader.feed(answer)
            rest, calls = reader.finish(complete=stats.finish_reason != FinishReason.CANCELLED)
            answer = shown + rest
            if calls:
                stats.finish_reason = FinishReason.TOOL_CALLS
        if answer or thinking or held_thinking or calls:
            yield Chunk(answer, count, stats.decode_tps, thinking + held_thinking, tool_calls=calls)
