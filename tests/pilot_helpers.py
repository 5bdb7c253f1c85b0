"""Helpers for driving the app headless with Pilot."""

from __future__ import annotations

import asyncio
import time

from mixtral_tui.config import Config, Sampling
from mixtral_tui.engine.base import LoadSpec
from mixtral_tui.paths import app_paths
from mixtral_tui.store.history import History
from mixtral_tui.ui.app import MixtralApp


def make_app(engine=None, model_path="model.gguf", history=None, sampling=None, context=512) -> MixtralApp:
    config = Config(sampling=sampling or Sampling(max_tokens=16, temperature=0.0, seed=1))
    paths = app_paths()
    paths.ensure()
    app = MixtralApp(
        config,
        LoadSpec(str(model_path), context_size=context),
        history=history or History(paths.database),
        engine=engine,
        paths=paths,
    )
    app.notes = []  # every notification, kept after it fades from the screen
    show = app.notify

    def record(message, *args, **kwargs):
        app.notes.append(str(message))
        return show(message, *args, **kwargs)

    app.notify = record
    return app


async def wait_for(pilot, condition, timeout: float = 30.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)  # not pilot.pause: that waits for every queue to drain


async def send(pilot, text: str, type_it: bool = True) -> None:
    """Type the text and press Enter. While a reply streams the app is never idle and Pilot
    waits for idle after each key, so then the text is set at once (type_it=False)."""
    if type_it:
        await pilot.press(*text)
    else:
        composer = pilot.app.active_view().composer
        composer.text = text
        composer.focus()
    await pilot.press("enter")


def notifications(app) -> list[str]:
    return app.notes


def steady(app) -> None:
    """No blinking cursors: a snapshot must not depend on when it is taken."""
    from textual.widgets import Input, TextArea

    for screen in app.screen_stack:
        for box in [*screen.query(TextArea), *screen.query(Input)]:
            box.cursor_blink = False
