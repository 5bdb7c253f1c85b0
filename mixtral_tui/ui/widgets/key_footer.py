"""The footer of keys, made again only when the keys it shows change.

Textual's Footer builds all its keys anew (each one styled, then a layout pass) every time
the screen says its bindings changed, and a single focus move says so two or three times.
Measured at start-up on 2 cores: five rebuilds before the first screen, the same keys each
time but the last, and about a tenth of the time to that screen. This one compares what it
would show with what it shows, and rebuilds only when they differ.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from mixtral_tui.ui.keys import WIDE_ONLY_ACTIONS


class KeyFooter(Footer):
    """A Footer that skips rebuilds which would draw the same keys, and that keeps to the keys a
    new user needs first below 110 columns (the others are in F1's help and the palette; the rule
    is in app.tcss)."""

    def __init__(self, *args: Any, only: frozenset[str] | None = None, **kwargs: Any) -> None:
        """`only`: the actions to show (a dialog's own keys and Quit, not the chat's)."""
        super().__init__(*args, **kwargs)
        self.only = only
        self._drawn: tuple | None = None  # what the keys on show were made from

    def _keys_to_show(self) -> tuple:
        """Everything of the screen's bindings that the Footer's compose reads."""
        shown = tuple(
            (binding.key, binding.key_display, binding.action, binding.description, binding.show,
             binding.group, enabled, tooltip, binding.tooltip)
            for _node, binding, enabled, tooltip in self.screen.active_bindings.values()
        )
        return shown + (self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE)

    DEFAULT_CSS = """
    KeyFooter FooterKey.-no-room { display: none; }
    """

    def on_resize(self) -> None:
        self.compact = self.size.width < 70  # Textual's tighter spacing: F1 Help still fits at 60
        self._refit()

    def _refit(self) -> None:
        """Every key shown again, then (once laid out) those that do not fit dropped whole."""
        for key in self.query(".-no-room"):
            key.remove_class("-no-room")
        self.call_after_refresh(self._drop_what_does_not_fit)

    def _drop_what_does_not_fit(self, tries: int = 5) -> None:
        """Keys run under the palette's key at the right and were cut mid-word ("f2 Re▏^p palette",
        "⏎▏^p paletteo"): from the first that would not fit whole, the keys are left out."""
        keys = [key for key in self.query(FooterKey) if key.display and "-command-palette" not in key.classes]
        palette = [key for key in self.query(FooterKey) if "-command-palette" in key.classes]
        laid_out = self.content_region.width > 0 and all(key.outer_size.width for key in keys + palette)
        if tries and not laid_out:  # not laid out yet (just recomposed): once it is
            self.call_after_refresh(self._drop_what_does_not_fit, tries - 1)
            return
        room = self.content_region.width - sum(key.outer_size.width for key in palette)
        used, full = 0, False
        for key in keys:
            used += key.outer_size.width
            full = full or used > room
            key.set_class(full, "-no-room")

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and "-command-palette" not in widget.classes:
                if self.only is not None and widget.action not in self.only:
                    continue
                if widget.action in WIDE_ONLY_ACTIONS:
                    widget.add_class("-wide-only")
            yield widget

    async def recompose(self) -> None:
        if not self.is_attached:
            return
        keys = self._keys_to_show()
        if keys == self._drawn:
            return
        self._drawn = keys
        await super().recompose()
        self._refit()
