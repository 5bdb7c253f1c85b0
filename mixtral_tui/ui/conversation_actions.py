"""What the user does inside one conversation: send, edit a message (↑ for the last, e on one
picked), write the conversation again from a reply (Ctrl+R for the last, r on one picked), fork it
(f), copy the last reply. Each `ChatView` has its own, as oterm puts them on its chat widget.

Which turns an action takes and replaces is the chat domain's (chat/rules.py); this module says
it on screen and keeps the view in step.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

from mixtral_tui.chat import rules
from mixtral_tui.errors import UserError
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.store.history import Message
from mixtral_tui.text_safety import counted
from mixtral_tui.ui.keys import key_for
from mixtral_tui.ui.titles import in_text
from mixtral_tui.vocabulary import Role, Status

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.widgets.chat_view import ChatView

REPLACED_ALREADY = "That message was replaced already: {what} the one that took its place."


class ConversationActions:
    """The actions of one open conversation (its view, the app's history and reply controller)."""

    def __init__(self, app: MixtralApp, view: ChatView) -> None:
        self.app = app
        self.view = view

    @property
    def conversation_id(self) -> int:
        return self.view.conversation_id

    def _messages(self) -> list[Message] | None:
        return self.app.guard(self.app.history.messages, self.conversation_id)

    # -- sending -----------------------------------------------------------
    async def send(self, text: str, replacing: int | None, attached: list[Attachment] | None = None) -> None:
        """The message box's text as the next turn (in place of `replacing` and what followed it,
        for an edit). With an `@path` or files waiting, they are read first (in a worker) and the
        message comes back here with them. Refused, the text stays in the box."""
        app, view = self.app, self.view
        if not app.replies.can_start(self.conversation_id, "Not sent", "send again", "Your text is kept."):
            return
        if attached is None and view.message_box.wants_files(text):
            view.message_box.gather(text, replacing)
            return
        conversation = app.guard(app.history.conversation, self.conversation_id)
        if conversation is None:
            return
        if replacing is not None:
            messages = self._messages()
            if messages is None or not await self._replace_from(messages, replacing):
                return
        user_message = app.guard(partial(app.history.add_message, attached=attached), conversation.id, Role.USER, text)
        if user_message is None:
            return
        view.message_box.sent()
        generation = app.replies.start(conversation, showing=True)  # asked first: the server reads while the screen updates
        try:
            await app.replies.asked(generation)
            view.composer.clear()
            view.composer.stop_editing()
            view.save_draft()  # sent: no draft any more, before the list is drawn again below
            await view.add_message(user_message)
        finally:
            await app.replies.shown(generation)
        if not conversation.title_given:  # the placeholder: the first message names it
            await app.conversations.rename(conversation.id, rules.title_from(text))  # refreshes the list too
        else:
            await app.refresh_sidebar()

    # -- editing -----------------------------------------------------------
    def edit_last(self) -> None:
        """↑ in an empty box: the last message the user sent, back in the box to edit."""
        messages = self._messages() or []
        last = rules.last_own_message(messages)
        if last is None:
            self.app.notify("There is no message of yours to edit here yet.", severity="warning")
        else:
            self.edit(messages, last.id)

    def edit(self, messages: list[Message], message_id: int) -> None:
        """A message the user sent, back in the box: sent, it takes the place of this one and of
        what followed it."""
        app = self.app
        try:
            edit = rules.edit_of(messages, message_id)
        except rules.NotInContext:
            app.notify(REPLACED_ALREADY.format(what="edit"), severity="warning")
            return
        except rules.NotYours:
            app.notify("Only your own messages can be edited: r writes a reply again.", severity="warning")
            return
        if app.replies.writing_in(self.conversation_id):
            app.notify(f"A reply is being written here: stop it ({key_for('stop')}) first, then edit.", severity="warning")
            return
        later = edit.turns_after
        self.view.composer.edit_message(message_id, edit.message.content, after=0 if later <= 1 else later)
        self.view.message_box.edit_began(edit.message.attachments)  # its files go again unless dropped

    async def _replace_from(self, messages: list[Message], message_id: int) -> bool:
        """This message and what followed it are kept, marked replaced, out of the model's sight:
        the conversation goes on from before it (an edit sent in its place, a reply written again)."""
        gone = rules.replaced_from(messages, message_id)
        try:
            for message in gone:
                self.app.history.set_status(message.id, Status.REPLACED)
        except UserError as exc:
            self.app.notify(str(exc), severity="error", timeout=12)
            return False
        await self.view.show_newest()  # what comes next goes at the end
        for message in gone:
            self.view.update_message(replace(message, status=Status.REPLACED))
        return True

    # -- writing again, forking --------------------------------------------
    async def write_again(self, from_id: int | None) -> None:
        """The conversation written again from a reply (`from_id`, else the last one): it and what
        followed stay, marked replaced, out of the model's sight. From a message of the user's, the
        reply to it is written again; a message left without a reply gets one."""
        app = self.app
        again = f"press {key_for('regenerate')} again" if from_id is None else "press r again"
        if not app.replies.can_start(self.conversation_id, "Not written again", again, ""):
            return
        conversation = app.guard(app.history.conversation, self.conversation_id)
        messages = self._messages()
        if conversation is None or messages is None:
            return
        try:
            plan = rules.write_again(messages, from_id)
        except rules.NothingToAnswer:
            app.notify("Nothing to answer yet: write a message first.", severity="warning")
            return
        except rules.NotInContext:
            app.notify(REPLACED_ALREADY.format(what="pick"), severity="warning")
            return
        if plan.replaced_from is not None and not await self._replace_from(messages, plan.replaced_from):
            return
        sampling = rules.sampling_for(conversation, app.config)
        if sampling.temperature == 0:
            app.notify("The temperature is 0 (the likeliest word each time): the reply comes out the same. "
                       f"Raise it for this conversation with {key_for('conversation_settings')} for another.",
                       severity="warning")
        app.replies.start(conversation, rules.with_new_seed(sampling))
        self.view.composer.focus()  # from the transcript (r): back to typing, the reply at the bottom
        await app.refresh_sidebar()

    async def fork(self, message_id: int) -> None:
        """A new conversation of the turns up to this message (what was replaced left out), opened in
        a tab of its own: another way from there, the original unchanged."""
        app = self.app
        conversation = app.guard(app.history.conversation, self.conversation_id)
        messages = self._messages()
        if conversation is None or messages is None:
            return
        try:
            fork = rules.fork_at(conversation.title, messages, message_id)
        except rules.NotInContext:
            app.notify(REPLACED_ALREADY.format(what="pick"), severity="warning")
            return
        created = app.guard(app.history.fork, self.conversation_id, fork.title, fork.messages)
        if created is None:
            return
        await app.conversations.open(created.id)
        await app.refresh_sidebar()
        count = len(fork.messages)
        after = "Enter sends the next message" if fork.ends_with_reply else f"{key_for('regenerate')} writes its reply"
        app.notify(f"Forked “{in_text(fork.title)}” into a new chat with {counted(count, 'message')}; {after}. "
                   "The original is unchanged.")

    async def chosen(self, action: str, message_id: int) -> None:
        """`e`, `r` or `f` on a message picked in the transcript."""
        if action == "edit":
            self.edit(self._messages() or [], message_id)
        elif action == "fork":
            await self.fork(message_id)
        else:
            await self.write_again(message_id)

    # -- copying -----------------------------------------------------------
    def copy_last_reply(self) -> None:
        messages = self._messages()
        replies = [m for m in messages or [] if m.role == Role.ASSISTANT and m.content]
        if not replies:
            self.app.notify("No reply to copy yet.")
            return
        self.app.copy_to_clipboard(replies[-1].content)
        self.app.notify("Last reply copied (through the terminal, OSC 52; works over SSH in most terminals).")
