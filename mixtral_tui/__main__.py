"""Allows `python -m mixtral_tui`."""

from mixtral_tui.cli import main

if __name__ == "__main__":  # the engine's process imports this module again under another name
    raise SystemExit(main())
