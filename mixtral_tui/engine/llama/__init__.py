"""The llama.cpp engine (llama-cpp-python in this process): the only package that imports llama_cpp.

native.py sets llama.cpp's log callback when it is imported, before anything calls into llama.cpp
(engine.py imports it first of all its llama.cpp parts).
"""

from mixtral_tui.engine.llama.engine import LlamaEngine
from mixtral_tui.engine.llama.native import backend_devices

__all__ = ["LlamaEngine", "backend_devices"]
