"""llama.cpp's native side: its log callback, the load-time tensor placement, its devices.

The callback is installed when this module is imported, before anything else touches llama.cpp:
a CUDA build logs on its very first call, and without it those lines would land on the terminal.
Models load with `verbose=True` (verbose=False would dup2 fds 1 and 2 to /dev/null during the
load, blanking the TUI); the lines reach the sinks registered here.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import threading
from collections.abc import Iterator
from typing import Any

import llama_cpp

from mixtral_tui.engine.base import LOG_INFO, LogSink

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


def add_sink(sink: LogSink) -> None:
    with _sinks_lock:
        _sinks.append(sink)


def remove_sink(sink: LogSink) -> None:
    with _sinks_lock:
        if sink in _sinks:
            _sinks.remove(sink)


class _BuftOverride(ctypes.Structure):
    """llama.cpp's `llama_model_tensor_buft_override` (llama-cpp-python declares the field c_void_p)."""

    _fields_ = [("pattern", ctypes.c_char_p), ("buft", ctypes.c_void_p)]


_params_lock = threading.Lock()


def _cpu_buffer_type() -> int:
    lib = ctypes.CDLL(os.path.join(os.path.dirname(llama_cpp.__file__), "lib", "libggml-cpu.so"))
    lib.ggml_backend_cpu_buffer_type.restype = ctypes.c_void_p
    return lib.ggml_backend_cpu_buffer_type()


@contextlib.contextmanager
def experts_on_cpu(layers: int) -> Iterator[None]:
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
