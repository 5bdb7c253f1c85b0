"""Command palette (Ctrl+P) entries for every app action."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mixtral_tui.ui.keys import APP_KEYS, pretty


class AppCommands(Provider):
    """Lists the same actions as the key bindings, with their keys."""

    def _commands(self) -> Iterator[tuple[str, str]]:
        for key in APP_KEYS:
            yield f"{key.description} ({pretty(key.keys)})", key.action

    async def discover(self) -> Hits:
        for text, action in self._commands():
            yield DiscoveryHit(text, self._runner(action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), self._runner(action))

    def _runner(self, action: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            await self.app.run_action(action)

        return run
