"""The engine seam: the app talks to models only through `Engine`.

Only `mixtral_tui.engine.llama` imports llama_cpp, and only when a model is
actually loaded, so start-up and `--help` stay fast.
"""

from mixtral_tui.engine.base import Engine, LoadSpec, ReplyStats, Turn

__all__ = ["Engine", "LoadSpec", "ReplyStats", "Turn", "create_engine"]


def create_engine(log_sink=None, separate_process: bool = True) -> Engine:
    """The real engine: by default in a process of its own (engine/process.py says why).
    Imported lazily: llama_cpp takes a while to import."""
    if separate_process:
        from mixtral_tui.engine.process import ProcessEngine

        return ProcessEngine(log_sink=log_sink)
    from mixtral_tui.engine.llama import LlamaEngine

    return LlamaEngine(log_sink=log_sink)


def detect_hardware():
    """This machine as llama.cpp sees it (RAM, cores, GPUs). Imports llama_cpp, so call it in a worker."""
    from mixtral_tui.engine.llama import backend_devices
    from mixtral_tui.models.hardware import detect

    return detect(backend_devices)
