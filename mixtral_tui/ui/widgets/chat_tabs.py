"""TabbedContent that ignores stale focus events.

TabbedContent activates a pane whenever a widget inside it gets focus. When
tabs switch quickly (new chat, next tab), a focus event for the tab being left
can arrive after the switch and flip it back. Here a pane is activated by focus
only if the focused widget is still inside it.
"""

from __future__ import annotations

from textual.widgets import TabbedContent, TabPane


class ChatTabs(TabbedContent):
    def _on_tab_pane_focused(self, event: TabPane.Focused) -> None:
        event.stop()
        focused = self.app.focused
        if focused is not None and event.tab_pane in focused.ancestors_with_self and event.tab_pane.id:
            self.active = event.tab_pane.id
