"""The Engine protocol and the values that cross it.

Modelled on harlequin's adapter seam: the UI and the CLI drive an Engine and
never see llama_cpp. A scripted fake engine implements the same protocol for
deterministic UI tests.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Protocol

from mixtral_tui.cancel import Cancellation
from mixtral_tui.config import Config, LlamaServerSettings, Sampling
from mixtral_tui.server_config import ServerSettings
from mixtral_tui.vocabulary import FinishReason


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for: `arguments` is the JSON text it wrote (checked before it runs)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ToolSpec:
    """A tool as the model is offered it (an OpenAI `tools` entry's function)."""

    name: str
    description: str
    parameters: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """One message as the model sees it: an assistant turn may carry the calls it made; a `tool`
    turn is one call's result, with that call's id."""

    role: str  # system | user | assistant | tool
    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str = ""


@dataclass(frozen=True)
class LoadSpec:
    model_path: str
    context_size: int = 4096
    gpu_layers: int = -1
    chat_template: str = "auto"
    cpu_moe_layers: int = 0  # keep the experts of the first N layers in RAM (llama.cpp's --n-cpu-moe)
    kv_cache_type: str = "f16"  # q8_0 / q4_0 halve / quarter the KV cache (needs flash attention)
    offload: str = "manual"  # auto: plan gpu_layers and cpu_moe_layers for this machine at load time
    state_cache_mb: int = 1024  # RAM for saved KV states of other conversations (engine/kv_states.py)
    engine: str = "separate"  # separate: the model in a process of its own (engine/process.py); llama-server;
    # in-process: llama-cpp-python in this process (create_engine)
    server: ServerSettings | None = None  # a model on a server (engine/remote.py); model_path is then its id
    llama_server: LlamaServerSettings = field(default_factory=LlamaServerSettings)  # engine = "llama-server"

    @classmethod
    def from_config(
        cls, config: Config, model: str | None = None, ctx: int | None = None, gpu_layers: int | None = None
    ) -> LoadSpec:
        """The config's model settings with command-line overrides (--gpu-layers means manual offload)."""
        m = config.model
        return cls(
            model_path=model or m.path,
            context_size=ctx or m.context_size,
            gpu_layers=m.gpu_layers if gpu_layers is None else gpu_layers,
            chat_template=m.chat_template,
            cpu_moe_layers=m.cpu_moe_layers,
            kv_cache_type=m.kv_cache_type,
            offload="manual" if gpu_layers is not None else m.offload,
            state_cache_mb=m.state_cache_mb,
            engine=m.engine,
            llama_server=config.llama_server,
        )


@dataclass
class ModelInfo:
    """What the loaded model is, for the status bar and per-reply records."""

    path: str
    name: str
    architecture: str = "unknown"
    quant: str | None = None
    context_size: int = 0
    train_context: int = 0
    template: str = "gguf"
    gpu_layers: int = 0
    cpu_moe_layers: int = 0
    plan_summary: str = ""
    threads: int = 0  # llama.cpp's CPU threads (0: not known); the UI paints less when they take every core
    server: str = ""  # the server's name or host, for a model on a server
    no_tools: str = ""  # why this model is offered no tools ("": it may call them)
    slots: int = 1  # replies the engine writes at once (llama-server's slots; each has context_size)


@dataclass
class ReplyStats:
    """Figures for one reply. `prompt_tokens` = evaluated + reused."""

    prompt_tokens: int = 0
    prompt_evaluated: int = 0
    prompt_reused: int = 0
    prompt_seconds: float = 0.0
    completion_tokens: int = 0
    decode_seconds: float = 0.0
    ttft_seconds: float = 0.0
    context_used: int = 0
    context_size: int = 0
    dropped_turns: int = 0
    finish_reason: str = FinishReason.STOP
    server_decode_tps: float = 0.0  # the server's own figure where it gives one (llama.cpp's timings)
    over_network: bool = False  # written on a server: the speeds measured here include the network
    thinking_tokens: int = 0  # of completion_tokens, those that were thinking
    thinking_seconds: float = 0.0  # from the first thinking to the first word of the answer
    draft_tokens: int = 0  # llama-server's speculation: tokens drafted for this reply,
    draft_accepted: int = 0  # and of them, those the model kept
    prompt_counted: str = ""
    """Where prompt_tokens came from: "" the engine's own count, with new and reused known (llama.cpp,
    in-process or its server's timings); "server" the server's total alone (usage); "tokenizer" the
    server's tokenizer, asked after a reply that came without counts; "estimate" reckoned here (≈).
    A prompt_tokens of 0 is not known, and not shown."""

    @property
    def prompt_tps(self) -> float:
        return self.prompt_evaluated / self.prompt_seconds if self.prompt_seconds > 0 else 0.0

    @property
    def decode_tps(self) -> float:
        """Tokens after the first, over the time since the first (the first comes from the prompt pass)."""
        if self.decode_seconds <= 0 or self.completion_tokens < 2:
            return 0.0
        return (self.completion_tokens - 1) / self.decode_seconds

    def to_dict(self) -> dict:
        data = asdict(self)
        data["prompt_tps"] = round(self.prompt_tps, 2)
        data["decode_tps"] = round(self.decode_tps, 2)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ReplyStats:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Chunk:
    """Text produced since the last chunk, with running figures for the status bar."""

    text: str
    completion_tokens: int
    decode_tps: float
    thinking: str = ""  # a reasoning model's thinking, apart from the answer (engine/thinking.py)
    waiting: str = ""  # why no text comes yet, in the server's words (a shared server's queue)
    tool_calls: tuple[ToolCall, ...] = ()  # the calls the reply ends with, whole (its last chunk)


def default_threads() -> int:
    """MIXTRAL_TUI_THREADS when set (benchmarks use it to leave the UI a core), else one per physical core."""
    chosen = os.environ.get("MIXTRAL_TUI_THREADS", "")
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    cores = os.cpu_count() or 1
    return cores if cores <= 4 else cores // 2  # past 4, assume SMT pairs


LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR = 1, 2, 3, 4
"""llama.cpp's log levels (ggml_log_level). A load writes ~1,200 debug lines for Gemma 3 270M
against ~170 of information: the log file keeps them all, the in-app view hides debug ones."""

LogSink = Callable[[str, int], None]
"""Takes log text (whole lines or fragments) and its level."""


class Engine(Protocol):
    info: ModelInfo | None

    def load(self, spec: LoadSpec) -> ModelInfo:
        """Load a model (blocking; run it in a worker). Raises ModelLoadError."""

    def count_tokens(self, turns: list[Turn], exact: bool = False, tools: Sequence[ToolSpec] = ()) -> int:
        """Tokens the chat-formatted prompt for `turns` takes (with the tools offered: their
        descriptions are part of the prompt). An engine may answer with an upper bound where that
        is sure to do (a server: no round trip when the turns surely fit); `exact` asks for the
        count itself (bench's prompt of a given length)."""

    def stream_reply(
        self, turns: list[Turn], sampling: Sampling, cancel: Cancellation, stats: ReplyStats,
        tools: Sequence[ToolSpec] = (),
    ) -> Iterator[Chunk]:
        """Yield the reply as it is produced; fill `stats` as it goes. With `tools`, the reply may
        end in calls (its last chunk's `tool_calls`, finish reason TOOL_CALLS)."""

    def unload(self) -> None:
        """Free the model (another may be loaded after)."""

    def close(self) -> None:
        """Free the model and everything the engine holds (its process, its log hook): the app is
        done with it."""


@dataclass
class ReplyPlan:
    """The turns that will be sent, after fitting them into the context."""

    turns: list[Turn] = field(default_factory=list)
    dropped_turns: int = 0
    prompt_tokens: int = 0
