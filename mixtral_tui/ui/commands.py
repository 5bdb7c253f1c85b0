"""Command palette (Ctrl+P) entries for every app action, then Textual's own (Keys, Maximize,
Screenshot, Theme…), grouped after the app's. With two providers their entries arrived
interleaved (each provider runs on its own), so this one lists both, in that order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mixtral_tui.ui.keys import APP_KEYS, pretty

Entry = tuple[str, Callable[[], Awaitable[None] | None], str]  # (text, what it runs, help)


class AppCommands(Provider):
    """Lists the same actions as the key bindings, with their keys, then Textual's system commands."""

    def _commands(self, discovering: bool = False) -> Iterator[Entry]:
        for key in APP_KEYS:
            yield f"{key.description} ({pretty(key.keys)})", self._runner(key.action), ""
        names = {key.description.lower() for key in APP_KEYS}
        system = sorted(self.app.get_system_commands(self.screen), key=lambda command: command.title)
        for command in system:
            if (command.discover or not discovering) and command.title.lower() not in names:  # (the app's Quit is above)
                yield command.title, command.callback, command.help

    async def discover(self) -> Hits:
        for text, run, help_text in self._commands(discovering=True):
            yield DiscoveryHit(text, run, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, run, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), run, help=help_text or None)

    def _runner(self, action: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.app.run_action(action)

        return run
