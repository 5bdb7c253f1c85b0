"""Process-wide settings the app changes for speed, and puts back: one owner, so each change is
made and undone in one place.

- The GIL switch interval, for as long as the app runs: the generation thread needs the GIL back
  after every native decode step, and Python's default 5 ms let a screen update hold it that long,
  per token.
- The objects made before the first screen, frozen out of the garbage collector's full passes
  (they live as long as the app; each full pass walked them all, stalling the screen ~100 ms).
- While a reply is written: no full collections (each took 40-100 ms of a 10,000-token reply) and
  no animation frames (each is a screen update taken from the model).
"""

from __future__ import annotations

import gc
import sys

from textual.app import App

GIL_SWITCH_SECONDS = 0.001
"""How long the UI thread may hold the GIL while the generation thread waits for it."""

NO_FULL_COLLECTIONS = 1_000_000_000
"""A third-generation threshold never reached while a reply is written."""


class ProcessHolds:
    """What the app holds of the process, and what it changed it from."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._switch_interval: float | None = None
        self._gc_thresholds: tuple[int, int, int] | None = None
        self._animation_level: str | None = None

    # -- for the app's lifetime --------------------------------------------
    def app_started(self) -> None:
        self._switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(GIL_SWITCH_SECONDS)

    def first_screen_built(self) -> None:
        gc.freeze()

    def app_ended(self) -> None:
        """Everything back as it was: another app in this process (tests, benchmarks) must not
        inherit our frozen objects or a held collector."""
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
        self.reply_finished()
        self._release_collections(collect=False)
        gc.unfreeze()

    # -- while a reply is written ------------------------------------------
    def reply_started(self) -> None:
        if self._animation_level is None:
            self._animation_level = self.app.animation_level
            self.app.animation_level = "none"
        if self._gc_thresholds is None:
            self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(self._gc_thresholds[0], self._gc_thresholds[1], NO_FULL_COLLECTIONS)

    def reply_finished(self) -> None:
        """Scrolling and tabs move smoothly again."""
        if self._animation_level is not None:
            self.app.animation_level = self._animation_level  # type: ignore[assignment]
            self._animation_level = None

    def reply_drawn(self) -> None:
        """The end of the reply is on screen: the one full collection that was held back."""
        self._release_collections(collect=True)

    def _release_collections(self, collect: bool) -> None:
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
            if collect:
                gc.collect()
