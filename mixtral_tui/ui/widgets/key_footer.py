"""The footer of keys, made again only when the keys it shows change.

Textual's Footer builds all its keys anew (each one styled, then a layout pass) every time
the screen says its bindings changed, and a single focus move says so two or three times.
Measured at start-up on 2 cores: five rebuilds before the first screen, the same keys each
time but the last, and about a tenth of the time to that screen. This one compares what it
would show with what it shows, and rebuilds only when they differ.
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeyFooter(Footer):
    """A Footer that skips rebuilds which would draw the same keys."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._drawn: tuple | None = None  # what the keys on show were made from

    def _keys_to_show(self) -> tuple:
        """Everything of the screen's bindings that the Footer's compose reads."""
        shown = tuple(
            (binding.key, binding.key_display, binding.action, binding.description, binding.show,
             binding.group, enabled, tooltip, binding.tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        )
        return shown + (self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        keys = self._keys_to_show()
        if keys == self._drawn:
            return
        self._drawn = keys
        await super().recompose()
