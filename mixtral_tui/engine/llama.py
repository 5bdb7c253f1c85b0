"""The llama.cpp engine: the only module that imports llama_cpp.

It installs a log callback before anything else touches llama.cpp, so native
logs go to the LogRouter and never onto the terminal, and loads models with
`verbose=True` (verbose=False would dup2 fds 1 and 2 to /dev/null during the
load, blanking the TUI).
"""

from __future__ import annotations

import codecs
import contextlib
import ctypes
import os
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

import llama_cpp

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LOG_INFO, Cancellation, Chunk, LoadSpec, LogSink, ModelInfo, ReplyStats, Turn, default_threads
from mixtral_tui.engine.kv_states import StateCache, common_prefix
from mixtral_tui.engine.log_router import PrintedLines
from mixtral_tui.engine.templates import ChatTemplate, StopScanner, choose_template
from mixtral_tui.engine.thinking import OPEN, ThinkingSplitter
from mixtral_tui.errors import NO_MODEL, ModelLoadError, PromptTooLongError
from mixtral_tui.models.gguf_info import explain_load_failure, read_info
from mixtral_tui.vocabulary import FinishReason

LOCAL_NO_TOOLS = ("a model on this machine is offered no tools yet (Mixtral 8x7B Instruct was not trained to call "
                  "them); a model on a server can call them: llama-server, vLLM, Ollama, LM Studio or Mistral's API")

_sinks: list[LogSink] = []
_sinks_lock = threading.Lock()


_GGML_LOG_CONT = 5  # "the same level as this thread's last message" (progress dots and the like)
_last_level = threading.local()


@llama_cpp.llama_log_callback
def _native_log(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
    if level == _GGML_LOG_CONT:
        level = getattr(_last_level, "value", LOG_INFO)
    _last_level.value = level
    line = text.decode("utf-8", errors="replace")
    with _sinks_lock:
        sinks = list(_sinks)
    for sink in sinks:
        sink(line, level)


# Before any other call into llama.cpp (a CUDA build logs on its very first call).
llama_cpp.llama_log_set(_native_log, ctypes.c_void_p(0))


class _BuftOverride(ctypes.Structure):
    """llama.cpp's `llama_model_tensor_buft_override` (llama-cpp-python declares the field c_void_p)."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


_params_lock = threading.Lock()


def _cpu_buffer_type() -> int:
    lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-cpu.so"))
    lib.ggml_backend_cpu_buffer_type.restype = ctypes.c_void_p
    return lib.ggml_backend_cpu_buffer_type()


@contextlib.contextmanager
def _experts_on_cpu(layers: int) -> Iterator[None]:
    """While a model loads, keep the expert tensors of the first `layers` layers in RAM.

    `Llama.__init__` starts from `llama_model_default_params()` and never sets
    `tensor_buft_overrides`, so a factory that fills it in carries through. The
    patch is global state: it is held under a lock and always undone.
    """
    if layers <= 0:
        yield
        return
    module = llama_cpp.llama_cpp
    patterns = [rf"blk\.{i}\.ffn_(up|down|gate)_exps".encode() for i in range(layers)]
    cpu = _cpu_buffer_type()
    overrides = (_BuftOverride * (len(patterns) + 1))(*[_BuftOverride(p, cpu) for p in patterns])
    original = module.llama_model_default_params

    def params_with_overrides() -> Any:
        params = original()
        params.tensor_buft_overrides = ctypes.addressof(overrides)  # noqa: F821 (deleted only after the load)
        return params

    with _params_lock:
        module.llama_model_default_params = params_with_overrides
        try:
            yield
        finally:
            module.llama_model_default_params = original
    del overrides, patterns  # only after the load: llama.cpp reads them while loading


def backend_devices() -> tuple[bool, list[tuple[str, str, int, int]]]:
    """(can this build offload to a GPU, [(name, description, free bytes, total bytes)] of its GPUs).

    Read through ggml's backend device API, i.e. exactly what llama.cpp will use.
    """
    lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml.so"))
    lib.ggml_backend_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
    for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
        getattr(lib, name).restype = ctypes.c_char_p
        getattr(lib, name).argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_type.restype = ctypes.c_int
    lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_memory.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_size_t)]
    devices = []
    for index in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(index)
        if lib.ggml_backend_dev_type(dev) == 0:  # GGML_BACKEND_DEVICE_TYPE_CPU
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append((
            lib.ggml_backend_dev_name(dev).decode(errors="replace"),
            lib.ggml_backend_dev_description(dev).decode(errors="replace"),
            free.value,
            total.value,
        ))
    return bool(llama_cpp.llama_supports_gpu_offload()), devices


class LlamaEngine:
    """Loads one GGUF model and streams replies from it."""

    def __init__(self, log_sink: LogSink | None = None) -> None:
        self.info: ModelInfo | None = None
        self._llm: Any = None  # llama_cpp.Llama (llama-cpp-python has no type information mypy can use)
        self._template: ChatTemplate | None = None
        self._log_sink = log_sink
        self._piece_buffer = ctypes.create_string_buffer(256)
        self._last_prompt: tuple[tuple[Turn, ...], list[int]] | None = None
        self._opens_thinking = False  # the last prompt ended inside a <think> its template opened
        self._states = StateCache(0)
        self._prompt_len = 0  # the prompt part of the live KV cache (the rest is the reply generated after it)
        if log_sink is not None:
            with _sinks_lock:
                _sinks.append(log_sink)

    # -- loading -----------------------------------------------------------
    def load(self, spec: LoadSpec) -> ModelInfo:
        self.unload()
        path = spec.model_path
        if not path or not os.path.isfile(path):
            raise ModelLoadError(explain_load_failure(path or "(none)"))
        try:
            header = read_info(path)
        except (ValueError, OSError):
            raise ModelLoadError(explain_load_failure(path)) from None
        if header.old_expert_layout or header.truncated:
            raise ModelLoadError(explain_load_failure(path))

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

        with _sinks_lock:
            _sinks.append(capture)
        writer = PrintedLines(self._log_sink or (lambda text, level: None))
        try:
            with contextlib.redirect_stderr(writer), contextlib.redirect_stdout(writer), _experts_on_cpu(
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
            with _sinks_lock:
                _sinks.remove(capture)
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
        self.info = ModelInfo(
            path=path,
            name=header.name or os.path.basename(path),
            architecture=header.architecture,
            quant=header.quant,
            context_size=llm.n_ctx(),
            train_context=header.train_context,
            template=self._template.name,
            no_tools=LOCAL_NO_TOOLS,
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
        with _sinks_lock:
            if self._log_sink in _sinks:
                _sinks.remove(self._log_sink)

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

    def _prompt_tokens(self, turns: list[Turn]) -> list[int]:
        """Render and tokenize, remembering the last result: fitting the context and generating
        ask for the same prompt one after the other."""
        key = tuple(turns)
        if self._last_prompt is not None and self._last_prompt[0] == key:
            return self._last_prompt[1]
        text = self.template.render(turns)
        add_bos = not (self.template.bos_token and text.startswith(self.template.bos_token))
        tokens = self._llm.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)
        self._last_prompt = (key, tokens)
        self._opens_thinking = text.rstrip().endswith(OPEN)  # the template began the thinking itself
        return tokens

    # -- KV states of other conversations (see kv_states.py) ---------------
    MIN_RESTORE_GAIN = 16  # tokens: below this, reading them again is cheaper than a restore

    def _reuse_or_restore(self, tokens: list[int]) -> int:
        """How many prompt tokens the KV cache already holds, after restoring a saved state
        when one covers more of this prompt than the live cache does."""
        llm = self._llm
        cached = llm._input_ids
        reused = common_prefix(cached, tokens)
        switching = reused < self._prompt_len  # diverges inside the last prompt: another conversation
        if not (switching and self._states.budget_bytes):
            return reused  # the same conversation's next turn: nothing to save or look up
        saved = self._states.best(tokens)
        restore = saved is not None and saved[0] >= reused + self.MIN_RESTORE_GAIN
        if len(cached) - reused >= self.MIN_RESTORE_GAIN:
            # The live cache is about to be overwritten: keep it for when its conversation comes back.
            # (The same conversation's next turn diverges after that prompt, at most in its reply.)
            size = llama_cpp.llama_state_seq_get_size(llm._ctx.ctx, 0)
            if size <= self._states.budget_bytes:  # not copied (GiBs, for a long Mixtral chat) to be refused
                blob = (ctypes.c_uint8 * size)()
                written = llama_cpp.llama_state_seq_get_data(llm._ctx.ctx, blob, size, 0)
                self._states.put(list(cached), ctypes.string_at(blob, written))
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

    def count_tokens(self, turns: list[Turn], exact: bool = False) -> int:
        return len(self._prompt_tokens(turns))

    # -- generation --------------------------------------------------------
    def stream_reply(
        self, turns: list[Turn], sampling: Sampling, cancel: Cancellation, stats: ReplyStats,
        tools: Sequence[object] = (),  # none are taken here yet (LOCAL_NO_TOOLS): the app offers none
    ) -> Iterator[Chunk]:
        llm = self._llm
        if llm is None:
            raise ModelLoadError(NO_MODEL)
        tokens = self._prompt_tokens(turns)
        n_ctx = llm.n_ctx()
        if len(tokens) >= n_ctx - 1:
            raise PromptTooLongError(
                f"the prompt needs {len(tokens):,} tokens but the context holds {n_ctx:,}; "
                "shorten it or start with a larger --ctx."
            )
        reused = min(self._reuse_or_restore(tokens), len(tokens) - 1)
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
        if answer or thinking or held_answer or held_thinking:
            yield Chunk(answer + held_answer, count, stats.decode_tps, thinking + held_thinking)
