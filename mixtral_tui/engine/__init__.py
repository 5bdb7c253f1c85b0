"""The engine seam: the app talks to models only through `Engine`.

Only `mixtral_tui.engine.llama` imports llama_cpp, and only when a model is
actually loaded, so start-up and `--help` stay fast. By default the app runs it in
a process of its own (`process.py` and `child.py`), behind the same protocol.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mixtral_tui.engine.base import Engine, LoadSpec, LogSink, ReplyStats, Turn

if TYPE_CHECKING:
    from mixtral_tui.models.hardware import Hardware


__all__ = ["Engine", "LoadSpec", "ReplyStats", "Turn", "create_engine"]


def create_engine(log_sink: LogSink | None = None, kind: str = "separate", remote: bool = False) -> Engine:
    """The real engine: a server's (engine/remote.py), or a local model (`kind`, the config's
    `model.engine`): by default in a process of its own (engine/process.py says why), or llama.cpp's
    own server the app starts (engine/native_server). Any other kind, and "separate" where there
    is no POSIX to pass the child its socket, is llama-cpp-python in this process ("in-process":
    what `bench` and the tests measure raw; the TUI's "in-app" engine is retired, config.py)."""
    import os

    if remote:
        from mixtral_tui.engine.remote import RemoteEngine

        return RemoteEngine(log_sink=log_sink)
    if kind == "llama-server":
        from mixtral_tui.engine.native_server import LlamaServerEngine

        return LlamaServerEngine(log_sink=log_sink)
    if kind == "separate" and os.name == "posix":  # the child inherits its socket by file descriptor
        from mixtral_tui.engine.process import ProcessEngine

        return ProcessEngine(log_sink=log_sink)
    from mixtral_tui.engine.llama import LlamaEngine

    return LlamaEngine(log_sink=log_sink)


def detect_hardware() -> Hardware:
    """This machine as llama.cpp sees it (RAM, cores, GPUs). Slow: call it in a worker.

    The GPUs are asked from a short-lived process: asking from the app's own would load
    llama.cpp's libraries into it and, with CUDA, keep a GPU context (hundreds of MB of
    VRAM the model could use) for as long as the app runs."""
    from mixtral_tui.models.hardware import detect

    return detect(devices_from_a_child)


def devices_from_a_child() -> tuple[bool, list[tuple[str, str, int, int]]]:
    import json
    import subprocess
    import sys

    from mixtral_tui.engine.child import DEVICES_MARK
    from mixtral_tui.models.hardware import ProbeFailed

    try:
        done = subprocess.run(
            [sys.executable, "-m", "mixtral_tui.engine.child", "--devices"],
            capture_output=True, text=True, timeout=PROBE_SECONDS, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise ProbeFailed(f"llama.cpp did not list its devices within {PROBE_SECONDS} s") from None
    except OSError as exc:
        raise ProbeFailed(f"could not start {sys.executable}: {exc.strerror or exc}") from None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(DEVICES_MARK):
            offload, devices = json.loads(line[len(DEVICES_MARK):])
            return bool(offload), [tuple(device) for device in devices]
    # A broken driver, say: native code's last words are the best reason there is.
    said = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    reason = f"llama.cpp's device probe ended with status {done.returncode}"
    raise ProbeFailed(f"{reason}: {said[-1][:200]}" if said else reason)


PROBE_SECONDS = 120
"""A first CUDA start can take a while (kernels are loaded); a hung driver must not hang the picker."""
