"""llama.cpp's own server as the local engine (`[model] engine = "llama-server"`).

The app starts a `llama-server` for the picked GGUF with the load plan it makes for the other local
engines, and talks to it through the remote engine it already has (engine/remote): native speed,
several replies at once in its slots, and everything the remote engine does (figures from the
server's `timings`, stopping, tools, thinking). To the rest of the app it is this machine's model,
as the separate engine's is: a local path, its own speed, no "on the server".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import Cancellation, Chunk, LoadSpec, LogSink, ModelInfo, ReplyStats, ToolSpec, Turn, default_threads
from mixtral_tui.engine.native_server.binary import ServerBinary, find_binary
from mixtral_tui.engine.native_server.server_process import ServerProcess
from mixtral_tui.engine.remote import RemoteEngine
from mixtral_tui.engine.templates import BUILTIN, fallback_for
from mixtral_tui.errors import NO_MODEL, ModelLoadError, ServerError
from mixtral_tui.models.gguf_info import GgufInfo, loadable_header
from mixtral_tui.server_config import ServerSettings

ALL_LAYERS = 999

CRASH_SECONDS = 2.0
"""After a dropped connection, how long to wait for the server's exit before calling it a server error."""


def server_args(spec: LoadSpec, header: GgufInfo, binary: ServerBinary, gpu_layers: int, cpu_moe: int,
                parallel: int, has_gpu: bool = True) -> list[str]:
    """The command line for this model and plan (host, port and key are the process's). A build
    without a GPU is given no layers to offload (it would warn that it ignores them)."""
    args = ["-m", spec.model_path, "-c", str(spec.context_size), "-t", str(default_threads())]
    if has_gpu:
        args += ["-ngl", str(ALL_LAYERS if gpu_layers < 0 else gpu_layers)]
    args += ["--parallel", str(parallel), "--jinja", "--no-webui"]
    if cpu_moe > 0 and header.is_moe:
        if not binary.takes("--n-cpu-moe"):
            raise ModelLoadError(f"{binary.path} ({binary.version}) lacks --n-cpu-moe, which this plan needs (the "
                                 "experts of some layers in RAM); use a llama.cpp build from August 2025 or later, or "
                                 "set [model] offload = \"manual\" with gpu_layers")
        args += ["--n-cpu-moe", str(cpu_moe)]
    if spec.kv_cache_type != "f16":  # a quantized V cache needs flash attention
        args += ["--cache-type-k", spec.kv_cache_type, "--cache-type-v", spec.kv_cache_type, "--flash-attn", "on"]
    speculative = spec.llama_server.speculative
    if speculative == "ngram":
        args += ["--spec-type", "ngram-cache"] if binary.takes("--spec-type") else []
    elif speculative:
        draft = os.path.expanduser(speculative)
        if not os.path.isfile(draft):
            raise ModelLoadError(f"[llama_server] speculative is {draft}, and there is no file there: name a small GGUF "
                                 "of the same family (its vocabulary), \"ngram\" for drafts without a model, or \"\" "
                                 "for none")
        args += ["--model-draft", draft]
        if binary.takes("draft-simple"):  # newer builds draft only with a --spec-type (none by default)
            args += ["--spec-type", "draft-simple"]
    template = template_for(spec, header)
    if template != "gguf":  # none in the GGUF (llama-server would fall back to ChatML), or one chosen
        args += ["--chat-template", BUILTIN[template][0]]
    return args + list(spec.llama_server.args)


def template_for(spec: LoadSpec, header: GgufInfo) -> str:
    """"gguf" for the GGUF's own template, else the app's built-in one to pass: the one configured,
    or for a GGUF without a template the one its name and architecture call for (as the other
    engines choose; llama-server alone gave Gemma ChatML, and it wrote `<|im_start|>user` on)."""
    if spec.chat_template in BUILTIN:
        return spec.chat_template
    if header.chat_template:
        return "gguf"
    return fallback_for(header.name or os.path.basename(spec.model_path), header.architecture)


class LlamaServerEngine:
    """A `llama-server` this app started and owns, behind the Engine protocol."""

    def __init__(self, log_sink: LogSink | None = None, progress: Callable[[str], None] | None = None) -> None:
        self.info: ModelInfo | None = None
        self._log_sink = log_sink
        self._progress = progress
        self._remote = RemoteEngine(log_sink=log_sink)
        self._server: ServerProcess | None = None

    @property
    def server_pid(self) -> int | None:
        return self._server.pid if self._server is not None else None

    def load(self, spec: LoadSpec) -> ModelInfo:
        self.unload()
        path = spec.model_path
        header = loadable_header(path)
        binary = find_binary(spec.llama_server.path)
        has_gpu, devices = binary.devices()
        gpu_layers, cpu_moe, summary = spec.gpu_layers, spec.cpu_moe_layers, ""
        if spec.offload == "auto":
            from mixtral_tui.models.hardware import detect
            from mixtral_tui.models.planner import plan

            chosen = plan(header.shape(), header.size, spec.context_size, detect(lambda: (has_gpu, devices)),
                          spec.kv_cache_type)
            gpu_layers, cpu_moe, summary = chosen.gpu_layers, chosen.cpu_moe_layers, chosen.summary
        if not has_gpu:
            gpu_layers, cpu_moe = 0, 0
        parallel = spec.llama_server.parallel or 1
        args = server_args(spec, header, binary, gpu_layers, cpu_moe, parallel, has_gpu)
        server = ServerProcess(binary, args, self._log_sink)
        server.start()
        self._server = server
        try:
            server.wait_ready(self._progress)
            remote = self._remote.load(LoadSpec("", server=ServerSettings(server.url + "/v1", "llama-server",
                                                                           read_timeout=600.0, own_key=server.key)))
        except (ModelLoadError, ServerError) as exc:
            self.unload()
            raise ModelLoadError(f"llama-server could not serve {os.path.basename(path)}: {exc}") from None
        # llama-server splits -c between its slots: each reply has its share (the info's context_size)
        template = template_for(spec, header)
        slots = (f"; {remote.slots} slots of {remote.context_size:,} tokens each share the {spec.context_size:,}-token "
                 "context" if remote.slots > 1 else "")
        self.info = replace(
            remote, path=path, name=header.name or os.path.basename(path), architecture=header.architecture,
            quant=header.quant, train_context=header.train_context, server="", no_tools="",
            template="the GGUF's own (llama-server --jinja)" if template == "gguf" else template,
            gpu_layers=gpu_layers, cpu_moe_layers=cpu_moe if header.is_moe else 0, threads=default_threads(),
            plan_summary=f"llama-server {binary.version.removeprefix('version: ')}{': ' + summary if summary else ''}{slots}",
        )
        return self.info

    def count_tokens(self, turns: list[Turn], exact: bool = False, tools: Sequence[ToolSpec] = ()) -> int:
        return self._remote.count_tokens(turns, exact, tools)

    def stream_reply(
        self, turns: list[Turn], sampling: Sampling, cancel: Cancellation, stats: ReplyStats,
        tools: Sequence[ToolSpec] = (),
    ) -> Iterator[Chunk]:
        """The request goes out at this call, as the remote engine's does: the caller records and
        shows the reply while the server reads the prompt. (A generator here sent it only at the
        first `next`, after that: benchmark 12 measured the first token 12 ms later than a bare
        client's.)"""
        server = self._server
        if server is None or not server.running():
            raise ModelLoadError(NO_MODEL if server is None else
                                 f"llama-server stopped ({server.last_words()}); load the model again")
        reply = self._remote.stream_reply(turns, sampling, cancel, stats, tools=tools)
        stats.over_network = False  # this machine's engine: its speed is the reply's, as in-process
        return _Watched(reply, server)

    def unload(self) -> None:
        self._remote.unload()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.info = None

    def close(self) -> None:
        self.unload()
        self._remote.close()


class _Watched:
    """A reply already asked for, read through: a connection dropped because the server died is
    said as a crash (the model must be loaded again), not as a server's error."""

    def __init__(self, reply: Iterator[Chunk], server: ServerProcess) -> None:
        self._reply, self._server = reply, server

    def __iter__(self) -> Iterator[Chunk]:
        return self

    def __next__(self) -> Chunk:
        try:
            return next(self._reply)
        except ServerError:
            if self._server.ended_within(CRASH_SECONDS):
                raise ModelLoadError(f"llama-server stopped while writing the reply ({self._server.last_words()}); "
                                     "the reply so far is kept; load the model again") from None
            raise

    def close(self) -> None:
        close = getattr(self._reply, "close", None)
        if close is not None:
            close()
