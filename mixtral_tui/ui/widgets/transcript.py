"""The scrolling list of a conversation's messages, and the message picked in it.

With the transcript focused (Shift+Tab from the message box, or a click), ↑ and ↓ move
from message to message, and the keys in the footer act on the one picked: copy it, copy
its code blocks one after another, fold or unfold it, edit it, have it written again,
fork a new conversation from it.

The single-letter keys act only in the keyboard's pick mode (the transcript reached with
Shift+Tab). After a click, what is typed is text: a printable key ends the pick and goes to
the message box (a click then "Hello from the browser" forked a conversation at its `f`).
Copying and folding are done here; what changes the conversation goes to the app as a
`MessageChosen` message.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.geometry import Size
from textual.message import Message as TextualMessage
from textual.reactive import Reactive

from mixtral_tui.ui.markdown.code_blocks import code_blocks
from mixtral_tui.ui.widgets.message import MessageView
from mixtral_tui.vocabulary import CONTEXT_ROLES, Role, Status

LETTER_ACTIONS = frozenset({"copy_message", "copy_code", "choose", "thinking"})
"""The transcript's actions on single letters: the keyboard's pick mode alone has them."""


class Transcript(VerticalScroll):
    """Says when the reader reaches its top or bottom (ChatView brings in pages of messages)."""

    BINDINGS = [
        Binding("c", "copy_message", "Copy"),
        Binding("b", "copy_code", "Copy code"),
        Binding("e", "choose('edit')", "Edit"),
        Binding("r", "choose('write_again')", "Write again"),
        Binding("f", "choose('fork')", "Fork"),
        Binding("enter", "fold", "Fold / unfold"),
        Binding("t", "thinking", "Thinking"),
        Binding("escape", "leave", "Back to typing"),
    ]

    virtual_size = Reactive(Size(0, 0), layout=False)
    """Its height follows the messages' heights, set by the layout pass that placed them: a second
    pass would change nothing (a scrollbar that appears asks for its own)."""

    class ReachedTop(TextualMessage):
        pass

    class ReachedBottom(TextualMessage):
        pass

    class WantsNewest(TextualMessage):
        pass

    class WantsEarlier(TextualMessage):
        """↑ on the first message shown: the page before it, please (then the last of it is picked)."""

    class Leave(TextualMessage):
        """Esc: back to the message box (or stop the reply being written here)."""

    class MessageChosen(TextualMessage):
        """The user asked to `edit` the picked message, to have the conversation written again
        from it (`write_again`), or to `fork` a new conversation that ends with it."""

        def __init__(self, view: MessageView, action: str) -> None:
            super().__init__()
            self.view = view
            self.action = action

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.picked: MessageView | None = None
        self._code_turn: tuple[int, int] = (0, 0)  # (id of the message, index of the block copied next)
        self.letters_act = False  # the keyboard's pick mode: single letters are actions, not text

    # -- scrolling: the reader's place and the pages ----------------------------
    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if new <= 0 < old:
            self.post_message(self.ReachedTop())
        elif old < self.max_scroll_y <= new:
            self.post_message(self.ReachedBottom())

    def action_scroll_end(self) -> None:
        """The ChatView scrolls: to the end of what is shown, or first back to the newest messages
        (scrolling here too would race with that rebuild)."""
        self.post_message(self.WantsNewest())

    def action_page_down(self) -> None:
        if self.scroll_y >= self.max_scroll_y:
            self.post_message(self.ReachedBottom())
        super().action_page_down()

    def action_scroll_home(self) -> None:
        if self.scroll_y <= 0:  # already there: Home asks for more
            self.post_message(self.ReachedTop())
        super().action_scroll_home()

    def action_page_up(self) -> None:
        if self.scroll_y <= 0:
            self.post_message(self.ReachedTop())
        super().action_page_up()

    # -- the picked message -----------------------------------------------------
    def messages(self) -> list[MessageView]:
        return [child for child in self.children if isinstance(child, MessageView)]

    def pick(self, view: MessageView | None) -> None:
        if self.picked is not None and self.picked is not view:
            self.picked.set_picked(False)
        self.picked = view
        if view is not None:
            view.set_picked(True)
            self._bring_into_view(view)
        self.refresh_bindings()

    def forget_pick(self) -> None:
        """A new message: the next visit starts from the newest again."""
        if self.picked is not None:
            self.picked.set_picked(False)
        self.picked = None

    def _on_screen(self) -> list[MessageView]:
        top, height = self.scroll_target_y, self.scrollable_content_region.height  # (where a scroll under way ends)
        return [v for v in self.messages() if v.virtual_region.bottom > top and v.virtual_region.y < top + height]

    def on_focus(self) -> None:
        """Starts at the newest message on screen (the newest, unless the reader scrolled up to
        one): never at the one picked on an earlier visit, which a key meant for the newest (`f`,
        `e`) would then act on unseen."""
        on_screen = self._on_screen()
        if self.picked is not None:
            self.picked.set_picked(False)
        self.picked = None
        shown = on_screen or self.messages()
        self.letters_act = True  # reached by the keyboard; a click (its MouseDown comes next) says otherwise
        self.pick(shown[-1] if shown else None)

    def on_mouse_down(self) -> None:
        """A click: the message under it may be picked, but what is typed next is text."""
        if self.letters_act:
            self.letters_act = False
            self.refresh_bindings()

    def types_away(self, event: events.Key) -> bool:
        """After a click, a printable key is text for the message box, not a key of the transcript.
        The app moves the focus before it hands the key on (MixtralApp.on_event): redirected from
        here, keys typed fast reached the box out of order, those already queued for the transcript
        after those sent to the box once it had the focus."""
        return not self.letters_act and event.is_printable and bool(event.character)

    def on_key(self, event: events.Key) -> None:
        """On a replaced message, `e` `r` `f` are not offered; pressed, they say why."""
        if event.key in ("e", "r", "f") and self.picked is not None and self.picked.message.status == Status.REPLACED:
            event.stop()
            event.prevent_default()
            self.notify("This message was replaced (written again, or edited): the model no longer sees it, so "
                        "nothing can be edited, written again or forked from it. Pick the one that took its place.",
                        severity="warning")

    def on_blur(self) -> None:
        """The mark goes while typing (the transcript remembers the message for the next visit)."""
        if self.picked is not None:
            self.picked.set_picked(False)

    def on_click(self, event: events.Click) -> None:
        view: DOMNode | None = event.widget
        while view is not None and view is not self and not isinstance(view, MessageView):
            view = view.parent
        if isinstance(view, MessageView):
            self.pick(view)

    def action_scroll_up(self) -> None:
        """↑: the message before (the page before the first one shown comes in)."""
        self._move(-1)

    def action_scroll_down(self) -> None:
        """↓: the message after; at the last, scroll on (the page after it comes in)."""
        self._move(+1)

    def _move(self, step: int) -> None:
        views = self.messages()
        on_screen = self._on_screen()
        if self.picked not in views or (self.picked not in on_screen and on_screen):
            # Nothing picked, or scrolled away from it (PgUp, the mouse): start from what is on screen.
            if on_screen or views:
                self.pick((on_screen or views)[0 if step > 0 else -1])
            return
        index = views.index(self.picked) + step
        if 0 <= index < len(views):
            self.pick(views[index])
        elif step < 0:
            self.post_message(self.WantsEarlier())
        else:
            if self.scroll_y >= self.max_scroll_y:
                self.post_message(self.ReachedBottom())
            self.scroll_down(animate=False)

    def _bring_into_view(self, view: MessageView, tries: int = 3) -> None:
        """Scroll just enough to show the message whole, or its start if it is taller than the view."""
        region = view.virtual_region
        if not region.height:  # not laid out yet (a page just added): once it is
            if tries:
                self.call_after_refresh(self._bring_into_view, view, tries - 1)
            return
        top, height = self.scroll_y, self.scrollable_content_region.height
        if region.y < top or region.height > height:
            self.scroll_to(y=region.y, animate=False, immediate=True)
        elif region.bottom + 1 > top + height:  # and the line of margin under it
            self.scroll_to(y=region.bottom + 1 - height, animate=False, immediate=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The footer dims the keys that do not apply to the picked message (None: shown, not run)."""
        view = self.picked
        if action in LETTER_ACTIONS and not self.letters_act:
            return False  # after a click, letters are text (Shift+Tab for the keys)
        if action == "thinking" and view is None:
            return False
        if action in ("copy_message", "copy_code", "choose", "fold") and view is None:
            return None
        if view is None:
            return True
        if action == "thinking":  # in the footer only on a reply that has thinking (most have none)
            return view.has_thinking
        if action == "fold" and view.growing:
            return None
        if action == "choose":
            role, replaced = view.message.role, view.message.status == Status.REPLACED
            if replaced:
                return False  # not offered; pressed, on_key says why
            if view.growing or role not in CONTEXT_ROLES:
                return None
            if parameters[0] == "edit" and role != Role.USER:
                return None
        return True

    @staticmethod
    def _text_of(view: MessageView) -> str:
        """What was written: the stored text, or for a reply being written what came so far."""
        return view.message.content if view.message.status != Status.STREAMING else view.source

    def action_copy_message(self) -> None:
        if self.picked is None:
            return
        text = self._text_of(self.picked)
        self.app.copy_to_clipboard(text)
        self.notify(f"Message copied ({len(text):,} characters; through the terminal, OSC 52).")

    def action_copy_code(self) -> None:
        """The picked message's code blocks, one per press: the first, then the next, and round."""
        if self.picked is None:
            return
        blocks = code_blocks(self._text_of(self.picked))
        if not blocks:
            self.notify("This message has no code block.", severity="warning")
            return
        message_id, index = self._code_turn
        index = index if message_id == self.picked.message.id and index < len(blocks) else 0
        self._code_turn = (self.picked.message.id, index + 1)
        self.app.copy_to_clipboard(blocks[index].code)
        what = f"{blocks[index].language} code" if blocks[index].language else "Code"
        more = f" (b again: block {(index + 1) % len(blocks) + 1})" if len(blocks) > 1 else ""
        lines = blocks[index].code.count("\n") or 1
        self.notify(f"{what} copied: block {index + 1} of {len(blocks)}, {lines} line{'s' if lines > 1 else ''}{more}.")

    def action_fold(self) -> None:
        """Enter: a folded message unfolds; one that carried files shows them (or folds them back
        to their lines); any other folds."""
        picked = self.picked
        if picked is not None:
            if not picked.folded and picked.message.attachments:
                picked.toggle_attachments()
            else:
                picked.set_folded(not picked.folded)
            self.call_after_refresh(self._bring_into_view, picked)

    def action_thinking(self) -> None:
        """`t`: the picked reply's whole thinking shown, or folded back to its one line."""
        if self.picked is not None:
            self.picked.toggle_thinking()
            self.call_after_refresh(self._bring_into_view, self.picked)

    def action_choose(self, action: str) -> None:
        if self.picked is not None:
            self.post_message(self.MessageChosen(self.picked, action))

    def action_leave(self) -> None:
        self.post_message(self.Leave())
