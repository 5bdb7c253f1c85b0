"""mixtral-tui: chat with Mixtral 8x7B (or any GGUF model) in the terminal."""

__version__ = "0.1.0"
