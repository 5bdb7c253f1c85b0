"""llama.cpp's own `llama-server` as a local engine: the app starts it, owns it and talks to it
through the remote engine. It runs the binary only; nothing of llama.cpp is imported."""

from mixtral_tui.engine.native_server.engine import LlamaServerEngine

__all__ = ["LlamaServerEngine"]
