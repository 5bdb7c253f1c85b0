"""The command line: the TUI by default, and commands for scripts (`main.py` parses, the rest do the work)."""

from mixtral_tui.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
