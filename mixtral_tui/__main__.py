"""Allows `python -m mixtral_tui`."""

from mixtral_tui.cli import main

raise SystemExit(main())
