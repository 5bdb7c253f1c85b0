"""What each OpenAI-compatible server accepts and sends: pure functions, no network.

They all take `/v1/chat/completions` with SSE streaming, and each differs in the details:
- llama.cpp's `llama-server` takes top_k, min_p, repeat_penalty; it puts `usage` and `timings`
  (prompt_n, cache_n, predicted_per_second) in its last chunk; reasoning is `reasoning_content`.
- vLLM takes top_k, min_p and `repetition_penalty`; it reports usage only with
  `stream_options.include_usage`; reasoning is `reasoning`; `max_model_len` is in /v1/models.
- llama-cpp-python's server takes top_k, min_p, repeat_penalty and reports no usage while streaming.
- Mistral's API says `random_seed`, not `seed`, takes no `stream_options`, and may stream
  `content` as a list of typed parts, `thinking` ones among them.
- OpenAI, Ollama and LM Studio take the common fields.
A field a server does not know can make it refuse the request: each dialect sends only its own,
and the engine asks once more with the common fields alone if a server still refuses one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import ToolSpec, Turn
from mixtral_tui.engine.openai_tools import message_of, tools_field
from mixtral_tui.vocabulary import FinishReason

COMMON = ("temperature", "top_p", "max_tokens")


@dataclass(frozen=True)
class Dialect:
    name: str
    extra: tuple[str, ...] = ()  # Sampling fields it takes beyond COMMON (by their names here)
    renamed: tuple[tuple[str, str], ...] = ()  # (ours, theirs)
    seed_field: str = "seed"
    include_usage: bool = True  # send stream_options.include_usage
    tokenize: str = ""  # "llama.cpp" / "vllm" / "llama-cpp-python": how it counts tokens


DIALECTS = {
    "llama.cpp": Dialect("llama.cpp", ("top_k", "min_p", "repeat_penalty"), tokenize="llama.cpp"),
    "vllm": Dialect("vllm", ("top_k", "min_p", "repeat_penalty"), (("repeat_penalty", "repetition_penalty"),),
                    tokenize="vllm"),
    "llama-cpp-python": Dialect("llama-cpp-python", ("top_k", "min_p", "repeat_penalty"), include_usage=False,
                                tokenize="llama-cpp-python"),
    "mistral": Dialect("mistral", seed_field="random_seed", include_usage=False),
    "openai": Dialect("openai"),
    "ollama": Dialect("ollama"),
    "lmstudio": Dialect("lmstudio", ("top_k",)),
    "generic": Dialect("generic"),
    # `mixtral-tui web`'s own engine (web/engine_host.py): our sampling names, exact token counts
    "mixtral-tui": Dialect("mixtral-tui", ("top_k", "min_p", "repeat_penalty"), tokenize="vllm"),
}


def request_body(dialect: Dialect, model: str, turns: list[Turn], sampling: Sampling, common_only: bool = False,
                 tools: Sequence[ToolSpec] = ()) -> dict:
    """The chat-completions request for these turns, in this server's words."""
    names = COMMON if common_only else COMMON + dialect.extra
    renamed = dict(dialect.renamed)
    body: dict[str, Any] = {
        "model": model,
        "messages": [message_of(t) for t in turns],
        "stream": True,
    }
    if tools:
        body["tools"] = tools_field(tools)
    for name in names:
        body[renamed.get(name, name)] = getattr(sampling, name)
    if sampling.seed >= 0:
        body["seed" if common_only else dialect.seed_field] = sampling.seed
    if dialect.include_usage and not common_only:
        body["stream_options"] = {"include_usage": True}
    return body


@dataclass
class Delta:
    """What one streamed chunk carries."""

    text: str = ""
    thinking: str = ""
    tokens: int = 0  # 1 when it carries content (even empty): what a server that reports no usage counts as one
    finish_reason: str | None = None
    usage: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    waiting: str = ""  # a shared server's word while no text comes (`mixtral-tui web`: another page's turn)
    cancelled: bool = False  # `mixtral-tui web`'s engine stopped it (its page was closed)
    tool_calls: Any = None  # pieces of calls (engine/openai_tools.py joins them)


def _parts(content: Any) -> tuple[str, str]:
    """(text, thinking) of a `content` that is a string or Mistral's list of typed parts."""
    if isinstance(content, str):
        return content, ""
    text, thinking = [], []
    if isinstance(content, list):
        for part in content:
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                text.append(part["text"])
            elif part.get("type") == "thinking":
                inner = part.get("thinking")
                thinking.append(_parts(inner)[0] if isinstance(inner, list) else str(inner or ""))
    return "".join(text), "".join(thinking)


def parse_chunk(data: Any) -> Delta:
    """One `data:` object of the stream. Raises ValueError when it is not a chat-completion chunk."""
    if not isinstance(data, dict):
        raise ValueError("a chunk that is not a JSON object")
    if "error" in data:
        error = data["error"]
        message = error.get("message") if isinstance(error, dict) else error
        raise ValueError(f"the server reported an error mid-stream: {message}")
    delta = Delta(usage=data.get("usage") or {}, timings=data.get("timings") or {})
    choices = data.get("choices")
    if not isinstance(choices, list):
        if delta.usage or delta.timings:
            return delta
        raise ValueError("a chunk without 'choices'")
    for choice in choices[:1]:
        if not isinstance(choice, dict):
            raise ValueError("a choice that is not an object")
        piece = choice.get("delta") or {}
        text, thinking = _parts(piece.get("content"))
        reasoning = piece.get("reasoning_content") or piece.get("reasoning") or ""
        delta.text = text
        delta.thinking = thinking + (reasoning if isinstance(reasoning, str) else "")
        delta.tool_calls = piece.get("tool_calls")
        delta.tokens = 1 if piece.get("content") is not None or delta.thinking or delta.tool_calls else 0
        delta.finish_reason = choice.get("finish_reason")
    ours = data.get("x_mixtral_tui")  # `mixtral-tui web`'s engine: tokens per chunk, and its queue
    if isinstance(ours, dict):
        if isinstance(ours.get("tokens"), int):
            delta.tokens = ours["tokens"]
        if isinstance(ours.get("waiting"), str):
            delta.waiting = ours["waiting"]
        delta.cancelled = ours.get("cancelled") is True
    return delta


def finish_reason(reason: str | None) -> FinishReason:
    return {"length": FinishReason.LENGTH, "tool_calls": FinishReason.TOOL_CALLS}.get(reason or "", FinishReason.STOP)


def context_size_from(models: Any, props: Any, model: str) -> int:
    """The server's context size where it tells it (llama.cpp's /props, vLLM's max_model_len), else 0."""
    if isinstance(props, dict):
        settings = props.get("default_generation_settings")
        n_ctx = settings.get("n_ctx") if isinstance(settings, dict) else None
        if isinstance(n_ctx, int) and n_ctx > 0:
            return n_ctx
    for entry in models.get("data", []) if isinstance(models, dict) else []:
        if isinstance(entry, dict) and entry.get("id") == model and isinstance(entry.get("max_model_len"), int):
            return int(entry["max_model_len"])
    return 0


def slots_from(props: Any) -> int:
    """How many replies the server writes at once where it says (llama.cpp's /props `total_slots`),
    else 1: a server that does not say may queue a second request behind the first."""
    slots = props.get("total_slots") if isinstance(props, dict) else None
    return slots if isinstance(slots, int) and slots > 0 else 1


def guess_dialect(kind: str, models: Any, props: Any, ollama: bool) -> Dialect:
    """Which server this is, from what it answered: the built-ins' kind, llama.cpp's /props,
    vLLM's `owned_by`, llama-cpp-python's `owned_by: me`, Ollama's /api/version."""
    if kind in DIALECTS:
        return DIALECTS[kind]
    if isinstance(props, dict) and "default_generation_settings" in props:
        return DIALECTS["llama.cpp"]
    owners = {entry.get("owned_by") for entry in models.get("data", []) if isinstance(entry, dict)} \
        if isinstance(models, dict) else set()
    if "vllm" in owners:
        return DIALECTS["vllm"]
    if "mixtral-tui" in owners:
        return DIALECTS["mixtral-tui"]
    if "me" in owners:
        return DIALECTS["llama-cpp-python"]
    if ollama or "ollama" in owners or "library" in owners:
        return DIALECTS["ollama"]
    if "organization_owner" in owners:
        return DIALECTS["lmstudio"]
    return DIALECTS["generic"]


def model_ids(models: Any) -> list[str]:
    if not isinstance(models, dict) or not isinstance(models.get("data"), list):
        raise ValueError("its /models answer has no 'data' list")
    return [str(entry["id"]) for entry in models["data"] if isinstance(entry, dict) and "id" in entry]


def estimated_tokens(turns: list[Turn]) -> int:
    """A count that errs high, for servers that cannot count: 3 characters a token (English runs
    near 4) and 8 tokens of template around each turn."""
    return sum(len(t.content) // 3 + 8 for t in turns) + 8


def sure_to_fit(turns: list[Turn], context_size: int) -> bool:
    """Whether these turns fit in half the context however the server's tokenizer cuts them: no
    tokenizer makes more than a token of every two bytes of UTF-8 (English runs near four a
    token). Then the count need not be asked for at all."""
    upper = sum(len(t.content.encode("utf-8")) // 2 + 16 for t in turns) + 16
    return upper <= context_size // 2
