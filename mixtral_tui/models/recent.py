"""The model files the app loaded lately, newest first: the app's own state, not the user's config.

Loading a model from the picker (Ctrl+G) used to write `model.path` into config.toml, so a later
`ask` or `bench` without `--model` silently ran on it. Now the picker's choice is kept here
(`recent_models.json` in the data folder): the TUI starts on the newest of them when the config
names no model, the picker lists them under Local files, and `ask` / `bench` name the newest in
their error when no model is given, without using it unasked. `model.path` in the config changes
only when the user sets it (F3 or by hand).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

KEEP = 10


class RecentModels:
    def __init__(self, path: Path) -> None:
        self.path = path

    def paths(self) -> list[str]:
        """The files remembered, newest first, that are still there. A damaged or missing state file
        is an empty list (it is only a convenience; the next load writes it again)."""
        try:
            listed = json.loads(self.path.read_text(encoding="utf-8")).get("models", [])
        except (OSError, ValueError, AttributeError):
            return []
        return [p for p in listed if isinstance(p, str) and Path(p).is_file()]

    def newest(self) -> str | None:
        found = self.paths()
        return found[0] if found else None

    def remember(self, model_path: str) -> None:
        """This file first; written whole to a temporary file and moved into place, so a crash
        mid-write leaves the old list. A failure to write is not the user's problem: ignored."""
        listed = [model_path] + [p for p in self.paths() if p != model_path]
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"models": listed[:KEEP]}, indent=1), encoding="utf-8")
            os.replace(temporary, self.path)
        except OSError:
            pass
