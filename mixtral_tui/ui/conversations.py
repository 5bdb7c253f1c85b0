"""Conversation actions: open as tabs, search, new, rename, delete, export, settings, log, help.

A mixin for MixtralApp, kept apart so the app module holds only loading and
generation.
"""

from __future__ import annotations

from pathlib import Path

from textual.content import Content
from textual.css.query import NoMatches
from textual.widgets import OptionList, TabbedContent, TabPane

from mixtral_tui.config import save_config
from mixtral_tui.engine.base import LoadSpec
from mixtral_tui.export import export_conversation, safe_filename
from mixtral_tui.ui.screens.dialogs import ConfirmScreen, PromptScreen
from mixtral_tui.ui.screens.search import Found, SearchScreen
from mixtral_tui.ui.widgets.chat_view import ChatView
from mixtral_tui.ui.widgets.sidebar import ConversationList, Sidebar, conversation_of


def pane_id(conversation_id: int) -> str:
    return f"c{conversation_id}"


class ConversationActions:
    """Everything the user does to conversations (needs MixtralApp's attributes)."""

    # -- finding things ----------------------------------------------------
    @property
    def tabs(self) -> TabbedContent:
        return self.query_one("#tabs", TabbedContent)

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

    def _title_of(self, conversation_id: int) -> str:
        conversation = self._guard(self.history.conversation, conversation_id)
        return conversation.title if conversation else "?"

    async def refresh_sidebar(self) -> None:
        conversations = self._guard(self.history.conversations)
        if conversations is not None:
            view = self.active_view()
            await self.query_one(Sidebar).show(conversations, view.conversation_id if view else None)

    # -- opening and closing -----------------------------------------------
    async def open_conversation(self, conversation_id: int, around: int | None = None) -> None:
        """Show it in its tab (adding the tab if needed) and focus its composer. A new tab opens at
        the page around message `around` if given (see ChatView.reveal for a tab already open)."""
        existing = self.chat_view(conversation_id)
        if existing is None:
            conversation = self._guard(self.history.conversation, conversation_id)
            messages = self._guard(self.history.messages, conversation_id)
            if conversation is None or messages is None:
                return
            view = ChatView(conversation_id)
            await self.tabs.add_pane(TabPane(Content(conversation.title), view, id=pane_id(conversation_id)))
            live = self.generation
            live_id = getattr(live.message, "id", None) if live and live.conversation_id == conversation_id else None
            shown = [m for m in messages if m.id != live_id]
            index = next((i for i, m in enumerate(shown) if m.id == around), None) if live_id is None else None
            await view.show_messages(shown, around=index)
            if live_id is not None:
                await view.begin_reply(live.message)
                if self.generation is live:
                    # Text drained while the view was built went nowhere: show it all now.
                    view.append(live.text)
                else:  # the reply ended meanwhile: show it as stored
                    await view.show_messages(self._guard(self.history.messages, conversation_id) or [])
            existing = view
        self.tabs.active = pane_id(conversation_id)
        self.set_focus(existing.composer)  # at once: see ChatTabs

    def action_search(self) -> None:
        async def chosen(found: Found | None) -> None:
            if found is None:
                return
            await self.open_conversation(found.conversation_id, around=found.message_id)
            await self.refresh_sidebar()  # its highlight follows
            view = self.chat_view(found.conversation_id)
            if view is None:
                self.notify("That conversation is no longer there (deleted meanwhile?).", severity="warning")
            elif found.message_id is not None and not await view.reveal(found.message_id, found.word, found.passage):
                self.notify("That message is no longer there (deleted meanwhile?).", severity="warning")

        view = self.active_view()
        open_one = (view.conversation_id, self._title_of(view.conversation_id)) if view else None
        self.push_screen(SearchScreen(self.history, open_one), chosen)

    async def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if isinstance(event.option_list, ConversationList):
            await self.open_conversation(conversation_of(event.option))

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        # Only for the tab that is still active: focusing a stale one would switch back to it.
        if event.pane.id != self.tabs.active:
            return
        for view in event.pane.query(ChatView):  # none while the pane is being removed
            self.set_focus(view.composer)

    async def action_new_conversation(self) -> None:
        conversation = self._guard(self.history.create_conversation)
        if conversation is not None:
            await self.open_conversation(conversation.id)
            await self.refresh_sidebar()

    async def action_close_tab(self) -> None:
        view = self.active_view()
        if view is not None:
            await self.tabs.remove_pane(pane_id(view.conversation_id))
        if self.tabs.tab_count == 0:
            await self.action_focus_sidebar()

    def _cycle(self, step: int) -> None:
        panes = [pane.id for pane in self.tabs.query(TabPane)]
        if len(panes) > 1 and self.tabs.active in panes:
            self.tabs.active = panes[(panes.index(self.tabs.active) + step) % len(panes)]
            # Focus follows, so a focus event still queued for the old tab cannot switch back to it.
            self.set_focus(self.active_view().composer)

    def action_next_tab(self) -> None:
        self._cycle(1)

    def action_previous_tab(self) -> None:
        self._cycle(-1)

    async def action_focus_sidebar(self) -> None:
        sidebar = self.query_one(Sidebar)
        sidebar.remove_class("-hidden")
        sidebar.list_view.focus()

    def action_toggle_sidebar(self) -> None:
        self.query_one(Sidebar).toggle_class("-hidden")

    # -- rename, delete, export --------------------------------------------
    async def rename(self, conversation_id: int, title: str) -> None:
        self._guard(self.history.rename_conversation, conversation_id, title)
        if self.chat_view(conversation_id) is not None:
            self.tabs.get_tab(pane_id(conversation_id)).label = Content(title)
        await self.refresh_sidebar()

    def _target(self) -> int | None:
        """The conversation an action applies to: the highlighted one in the list, else the open tab."""
        lst = self.query_one(ConversationList)
        if lst.has_focus and lst.highlighted_conversation is not None:
            return lst.highlighted_conversation
        view = self.active_view()
        return view.conversation_id if view else None

    def action_rename_conversation(self) -> None:
        target = self._target()
        if target is None:
            return

        async def done(title: str | None) -> None:
            if title:
                await self.rename(target, title)

        self.push_screen(PromptScreen("New title:", self._title_of(target)), done)

    def action_delete_conversation(self, conversation_id: int | None = None) -> None:
        target = conversation_id if conversation_id is not None else self._target()
        if target is None:
            return
        if self.generation is not None and self.generation.conversation_id == target:
            self.notify("A reply is being written in this conversation: press Esc to stop it first.", severity="warning")
            return

        async def done(yes: bool | None) -> None:
            if yes:
                if self.chat_view(target) is not None:
                    await self.tabs.remove_pane(pane_id(target))
                self._guard(self.history.delete_conversation, target)
                await self.refresh_sidebar()
                if self.tabs.tab_count == 0:
                    await self.action_new_conversation()

        self.push_screen(ConfirmScreen(f"Delete “{self._title_of(target)}” and all its messages? This cannot be undone."), done)

    def on_conversation_list_delete_requested(self, event: ConversationList.DeleteRequested) -> None:
        self.action_delete_conversation(event.conversation_id)

    def action_export_conversation(self) -> None:
        target = self._target()
        conversation = self._guard(self.history.conversation, target) if target is not None else None
        if conversation is None:
            return

        def done(path: str | None) -> None:
            if not path:
                return
            try:
                text = export_conversation(self.history, conversation.id)
                out = Path(path).expanduser()
                out.write_text(text, encoding="utf-8")
            except OSError as exc:
                self.notify(f"Not exported: cannot write {path}: {exc.strerror or exc}.", severity="error")
            else:
                self.notify(f"Exported to {out.resolve()}")

        default = str(Path.cwd() / safe_filename(conversation))
        self.push_screen(PromptScreen("Export to Markdown file:", default), done)

    def action_copy_reply(self) -> None:
        view = self.active_view()
        messages = self._guard(self.history.messages, view.conversation_id) if view else None
        replies = [m for m in messages or [] if m.role == "assistant" and m.content]
        if not replies:
            self.notify("No reply to copy yet.")
            return
        self.copy_to_clipboard(replies[-1].content)
        self.notify("Last reply copied (through the terminal, OSC 52; works over SSH in most terminals).")

    # -- settings, log, help -----------------------------------------------
    # The screens below are imported when first opened: with their widgets (Select, Input, ...)
    # they are ~40 ms of imports the first screen does not need.
    def action_settings(self) -> None:
        from mixtral_tui.ui.screens.settings import SettingsScreen

        def done(config) -> None:
            if config is None:
                return
            try:
                save_config(config, self.paths.config_file)
            except OSError as exc:
                self.notify(f"Settings not saved: {exc}", severity="error")
                return
            old_model = self.config.model
            self.config = config
            self.notify(f"Settings saved to {self.paths.config_file}.")
            if config.model != old_model:
                self.load_spec = LoadSpec.from_config(config)
                if self.generation is None:
                    self.start_model_load()
                else:
                    self.notify("The model reloads after the current reply; press Esc to stop it sooner.")

        self.push_screen(SettingsScreen(self.config, str(self.paths.config_file)), done)

    def action_conversation_settings(self) -> None:
        from mixtral_tui.ui.screens.settings import ConversationSettingsScreen

        view = self.active_view()
        conversation = self._guard(self.history.conversation, view.conversation_id) if view else None
        if conversation is None:
            return

        def done(result) -> None:
            if result is not None:
                prompt, overrides = result
                self._guard(self.history.set_overrides, conversation.id, prompt, overrides)
                self.notify("Conversation settings saved; they apply from the next reply.")

        self.push_screen(ConversationSettingsScreen(conversation.title, conversation.system_prompt, conversation.sampling, self.config), done)

    def action_show_log(self) -> None:
        from mixtral_tui.ui.screens.log import LogScreen

        self.push_screen(LogScreen(self.log_router))

    def action_help(self) -> None:
        from mixtral_tui.ui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())
