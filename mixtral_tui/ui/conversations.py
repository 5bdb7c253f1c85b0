"""The open conversations as tabs, and the saved ones in the list: open, search, new, close,
next and previous, rename, delete, export.

`ConversationTabs` is the app's collaborator for them (the app's key bindings call it); what
happens inside one conversation is its view's (ui/conversation_actions.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.css.query import NoMatches
from textual.widgets import OptionList, TabbedContent, TabPane

from mixtral_tui.chat.export import export_conversation, safe_filename
from mixtral_tui.errors import UserError
from mixtral_tui.ui.keys import key_for
from mixtral_tui.ui.screens.dialogs import ConfirmScreen, PromptScreen
from mixtral_tui.ui.screens.search import Found, SearchScreen
from mixtral_tui.ui.titles import in_text, tab_label
from mixtral_tui.ui.widgets.chat_view import ChatView
from mixtral_tui.ui.widgets.sidebar import ConversationList, Sidebar, conversation_of

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp


def pane_id(conversation_id: int) -> str:
    return f"c{conversation_id}"


class ConversationTabs:
    """The tabs and the conversation list of the app."""

    def __init__(self, app: MixtralApp) -> None:
        self.app = app

    # -- finding things ----------------------------------------------------
    @property
    def tabs(self) -> TabbedContent:
        return self.app.query_one("#tabs", TabbedContent)

    def chat_view(self, conversation_id: int) -> ChatView | None:
        """The open view of this conversation: a lookup by id, never a walk of the DOM (it runs per update)."""
        try:
            pane = self.tabs.get_pane(pane_id(conversation_id))
        except NoMatches:
            return None
        return pane.children[0] if pane.children and isinstance(pane.children[0], ChatView) else None

    def active_view(self) -> ChatView | None:
        pane = self.tabs.active_pane
        return pane.query_one(ChatView) if pane is not None else None

    def title_of(self, conversation_id: int) -> str:
        conversation = self.app.guard(self.app.history.conversation, conversation_id)
        return conversation.title if conversation else "?"

    async def refresh_sidebar(self) -> None:
        conversations = self.app.guard(self.app.history.conversations)
        if conversations is not None:
            view = self.active_view()
            await self.app.query_one(Sidebar).show(conversations, view.conversation_id if view else None)

    # -- opening and closing -----------------------------------------------
    async def open(self, conversation_id: int, around: int | None = None) -> None:
        """Show it in its tab (adding the tab if needed) and focus its composer. A new tab opens at
        the page around message `around` if given (see ChatView.reveal for a tab already open)."""
        existing = self.chat_view(conversation_id)
        if existing is None:
            conversation = self.app.guard(self.app.history.conversation, conversation_id)
            messages = self.app.guard(self.app.history.messages, conversation_id)
            if conversation is None or messages is None:
                return
            view = ChatView(conversation_id)
            await self.tabs.add_pane(TabPane(tab_label(conversation), view, id=pane_id(conversation_id)))
            live = self.app.replies.generations.get(conversation_id)
            reply = live.message if live is not None else None
            shown = [m for m in messages if reply is None or m.id != reply.id]
            index = next((i for i, m in enumerate(shown) if m.id == around), None) if reply is None else None
            await view.show_messages(shown, around=index)
            view.restore_draft(conversation.draft)
            if live is not None and reply is not None:
                await view.begin_reply(reply)
                if self.app.replies.generations.get(conversation_id) is live:
                    # Text drained while the view was built went nowhere: show it all now.
                    view.append(live.text)
                else:  # the reply ended meanwhile: show it as stored
                    await view.show_messages(self.app.guard(self.app.history.messages, conversation_id) or [])
            existing = view
        self.tabs.active = pane_id(conversation_id)
        self.app.set_focus(existing.composer)  # at once: see ChatTabs

    def search(self) -> None:
        async def chosen(found: Found | None) -> None:
            if found is None:
                return
            await self.open(found.conversation_id, around=found.message_id)
            await self.refresh_sidebar()  # its highlight follows
            view = self.chat_view(found.conversation_id)
            if view is None:
                self.app.notify("That conversation is no longer there (deleted meanwhile?).", severity="warning")
            elif found.message_id is not None and not await view.reveal(found.message_id, found.word, found.passage,
                                                                          found.in_thinking, found.in_attachment):
                self.app.notify("That message is no longer there (deleted meanwhile?).", severity="warning")

        view = self.active_view()
        open_one = (view.conversation_id, self.title_of(view.conversation_id)) if view else None
        self.app.push_screen(SearchScreen(self.app.history, open_one), chosen)

    async def option_selected(self, event: OptionList.OptionSelected) -> None:
        if isinstance(event.option_list, ConversationList):
            await self.open(conversation_of(event.option))

    def tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # Only for the tab that is still active: focusing a stale one would switch back to it.
        if event.pane.id != self.tabs.active:
            return
        for view in event.pane.query(ChatView):  # none while the pane is being removed
            self.app.set_focus(view.composer)
        self.app.replies.show_status()

    async def new(self) -> None:
        conversation = self.app.guard(self.app.history.create_conversation)
        if conversation is not None:
            await self.open(conversation.id)
            await self.refresh_sidebar()

    async def close_tab(self) -> None:
        view = self.active_view()
        if view is not None:
            view.save_draft()  # the message box's text stays with the conversation
            await self.tabs.remove_pane(pane_id(view.conversation_id))
        if self.tabs.tab_count == 0:
            await self.focus_sidebar()

    def _cycle(self, step: int) -> None:
        panes = [pane.id for pane in self.tabs.query(TabPane) if pane.id is not None]
        if len(panes) > 1 and self.tabs.active in panes:
            self.tabs.active = panes[(panes.index(self.tabs.active) + step) % len(panes)]
            # Focus follows, so a focus event still queued for the old tab cannot switch back to it.
            view = self.active_view()
            if view is not None:
                self.app.set_focus(view.composer)

    def save_drafts(self) -> None:
        """Every open conversation's unsent text, saved now (before the app exits)."""
        for view in self.app.query(ChatView):
            view.save_draft()

    def next_tab(self) -> None:
        self._cycle(1)

    def previous_tab(self) -> None:
        self._cycle(-1)

    async def focus_sidebar(self) -> None:
        sidebar = self.app.query_one(Sidebar)
        sidebar.reveal()
        sidebar.list_view.focus()

    def toggle_sidebar(self) -> None:
        """Ctrl+B: hide the list, or show it (also below the width where it hides itself)."""
        sidebar = self.app.query_one(Sidebar)
        if sidebar.display:
            sidebar.add_class("-hidden").remove_class("-shown")
        else:
            sidebar.reveal()

    # -- rename, delete, export --------------------------------------------
    async def rename(self, conversation_id: int, title: str) -> None:
        self.app.guard(self.app.history.rename_conversation, conversation_id, title)
        conversation = self.app.guard(self.app.history.conversation, conversation_id)
        if conversation is not None and self.chat_view(conversation_id) is not None:
            self.tabs.get_tab(pane_id(conversation_id)).label = tab_label(conversation)
        await self.refresh_sidebar()

    def target(self) -> int | None:
        """The conversation an action applies to: the highlighted one in the list, else the open tab."""
        lst = self.app.query_one(ConversationList)
        if lst.has_focus and lst.highlighted_conversation is not None:
            return lst.highlighted_conversation
        view = self.active_view()
        return view.conversation_id if view else None

    def ask_rename(self) -> None:
        target = self.target()
        if target is None:
            return

        async def done(title: str | None) -> None:
            if title:
                await self.rename(target, title)

        self.app.push_screen(PromptScreen("New title:", self.title_of(target)), done)

    def ask_delete(self, conversation_id: int | None = None) -> None:
        target = conversation_id if conversation_id is not None else self.target()
        if target is None:
            return
        if self.app.replies.writing_in(target):
            self.app.notify(f"A reply is being written in this conversation: press {key_for('stop')} to stop it first.",
                            severity="warning")
            return

        async def done(yes: bool | None) -> None:
            if yes:
                if self.chat_view(target) is not None:
                    await self.tabs.remove_pane(pane_id(target))
                self.app.guard(self.app.history.delete_conversation, target)
                await self.refresh_sidebar()
                if self.tabs.tab_count == 0:
                    await self.new()

        question = f"Delete “{in_text(self.title_of(target))}” and all its messages? This cannot be undone."
        self.app.push_screen(ConfirmScreen(question), done)

    def delete_requested(self, event: ConversationList.DeleteRequested) -> None:
        self.ask_delete(event.conversation_id)

    def ask_export(self) -> None:
        target = self.target()
        conversation = self.app.guard(self.app.history.conversation, target) if target is not None else None
        if conversation is None:
            return

        def done(path: str | None) -> None:
            if not path:
                return
            if self.app.is_web:  # in a browser: a download to the user's own machine
                self._deliver(conversation.id, Path(path).name)
                return
            try:
                fmt = "json" if path.strip().lower().endswith(".json") else "markdown"
                text = export_conversation(self.app.history, conversation.id, fmt)
                out = Path(path).expanduser()
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                self.app.notify(f"Not exported: cannot write {path}: {exc.strerror or exc}.", severity="error")
            else:
                self.app.notify(f"Exported to {out.resolve()}")

        if self.app.is_web:
            self.app.push_screen(PromptScreen("Download as a Markdown file (a name ending in .json: all of it, as "
                                              "JSON):", safe_filename(conversation)), done)
            return
        default = str(Path.cwd() / safe_filename(conversation))
        self.app.push_screen(PromptScreen("Export to a Markdown file (a name ending in .json: all of it, as JSON):",
                                          default), done)

    def _deliver(self, conversation_id: int, name: str) -> None:
        """F9 in a browser (`mixtral-tui web`): the export goes to the browser as a download (Textual's
        deliver_text), not into a file on the server's disk the user may not reach."""
        import io

        fmt = "json" if name.lower().endswith(".json") else "markdown"
        try:
            text = export_conversation(self.app.history, conversation_id, fmt)
        except UserError as exc:
            self.app.notify(f"Not exported: {exc}", severity="error")
            return
        self.app.deliver_text(io.StringIO(text), save_filename=name, open_method="download",
                              mime_type="application/json" if fmt == "json" else "text/markdown", encoding="utf-8")
        self.app.notify(f"Downloading {name} in the browser.")
