"""One message in a conversation: who said it, the text as Markdown, and its figures, as one widget."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Region, Size
from textual.reactive import Reactive
from textual.strip import Strip

from mixtral_tui.chat.attached_text import fence_for, folder_report, shown_lines
from mixtral_tui.chat.figures import reply_figures
from mixtral_tui.chat.file_reading import since_sent
from mixtral_tui.engine.base import ReplyStats
from mixtral_tui.store.history import Message
from mixtral_tui.text_safety import displayable
from mixtral_tui.ui.keys import key_for
from mixtral_tui.ui.markdown.markdown_text import MarkdownText
from mixtral_tui.vocabulary import WARNING_STATUSES, AttachmentKind, Role, Status

ROLE_LABELS: dict[str, str] = {Role.USER: "You", Role.ASSISTANT: "Assistant", Role.NOTICE: "Note", Role.SYSTEM: "System",
                               Role.TOOL: "Tool"}


def empty_reply_note() -> str:
    """What a reply with no text says: the model chose to stop at once, and what to try instead."""
    return (f"the model returned no text: {key_for('regenerate')} writes it again with a new seed, or "
            f"{key_for('conversation_settings')} changes the sampling (a higher temperature) or the system prompt")

def shown_text(message: Message) -> str:
    """What a message shows: its text; a tool's result fenced as written (it is data, not Markdown)."""
    if message.role != Role.TOOL:
        return displayable(message.content)
    fence = fence_for(message.content)
    return f"{fence}text\n{displayable(message.content)}\n{fence}"


def result_summary(stats: dict) -> str:
    """"time_get_current_time · 0.2 s · 154 chars" (and what became of it, when it did not run)."""
    parts = [str(stats.get("tool", "?")), f"{float(stats.get('seconds', 0.0)):.1f} s", f"{int(stats.get('chars', 0)):,} chars"]
    outcome = str(stats.get("outcome", "done"))
    if outcome != "done":
        parts.append(outcome)
    if stats.get("cut_at"):
        parts.append(f"cut at {int(stats['cut_at']):,}")
    return " · ".join(parts)


STATUS_NOTES = {
    Status.STOPPED: "stopped by you",
    Status.INTERRUPTED: "interrupted (the app was closed while it was written)",
    "error": "failed",
    Status.STREAMING: "writing…",
    Status.REPLACED: "replaced (written again, or edited): the model no longer sees it",
}


class MessageView(MarkdownText):
    """A message; an assistant reply streams into it (work per update follows the last block only).

    The label and the figures are lines this widget draws, not widgets of their own: every
    widget on screen costs each layout pass and each repaint (Textual renders every widget
    whose clip meets the changed area), and a reply's height changes many times while it
    streams. Measured with eight messages while Gemma streams on 2 cores: a layout pass 21 ->
    15-17 ms, a repaint 8 -> 6-7 ms.
    """

    virtual_size = Reactive(Size(0, 0), layout=False)
    """Set by a layout pass, from the height this widget gave it: no second pass needed (Textual's
    default asks for one whenever a widget's size changes, which doubled the cost of each growth step)."""

    COMPONENT_CLASSES = {"message-view--role", "message-view--figures", "message-view--warning"}

    DEFAULT_CSS = """
    MessageView { height: auto; margin: 0 1 1 1; padding: 0 1; }
    MessageView.-user { border-left: thick $primary; background: $primary 8%; }
    MessageView.-assistant { border-left: thick $success; }
    MessageView.-notice { border-left: thick $warning; color: $text-warning; }
    MessageView.-tool { border-left: thick $secondary; }
    MessageView.-picked { border-left: thick $accent; background: $accent 15%; }
    MessageView > .message-view--role { text-style: bold; color: $text-muted; }
    MessageView > .message-view--figures { color: $text-muted; }
    MessageView > .message-view--warning { color: $text-warning; }
    """

    def __init__(self, message: Message) -> None:
        super().__init__(shown_text(message), growing=message.status == Status.STREAMING, classes=f"-{message.role}")
        self.message = message
        self.attachments_open = False  # the files it carried shown whole (Enter on the picked message)
        self.since_sent: dict[str, str] = {}  # what became of each file on disk since (a worker looks)
        self.figures = self.figures_text()
        self._drawn: dict[tuple[str, Style, int], list[Strip]] = {}  # wrapped label and figures lines
        self._styles: dict[tuple[str, str], Style] = {}  # by component and theme
        self.picked = False  # picked in the focused transcript (widgets/transcript.py)
        # drawn as its label and one line (Enter unfolds): what was replaced, and a tool's result
        self.folded = message.status == Status.REPLACED or message.role == Role.TOOL
        self._fold_note: tuple[int, str, Strip] | None = None  # (width, theme, line) drawn when folded
        self._thinking: list[str] = [message.thinking] if message.thinking else []  # appended while streaming
        self._thinking_tail = message.thinking[-200:]  # what the one streaming line shows
        self._thinking_tokens = int(message.stats.get("thinking_tokens", 0)) if message.stats else 0
        self.thinking_open = False  # the whole thinking shown (`t` on the picked message)

    @property
    def label(self) -> str:
        label = ROLE_LABELS.get(self.message.role, self.message.role)
        if self.message.role == Role.TOOL:
            label = f"{label} · {displayable(result_summary(self.message.stats))}"
        if self.message.role == Role.ASSISTANT and self.message.model:
            label = f"{label} · {self.message.model}"
            if self.message.server:
                label = f"{label} on {self.message.server}"
        return f"▶ {label}" if self.picked else label  # the mark for terminals without colour

    def set_picked(self, picked: bool) -> None:
        if picked != self.picked:
            self.picked = picked
            self.set_class(picked, "-picked")
            self.refresh()

    def figures_text(self) -> str:
        calls = "".join(f"calls {call.get('name', '?')} {displayable(str(call.get('arguments', '')))}\n"
                        for call in self.message.tool_calls)
        files = "".join(f"+ {displayable(line)}\n" for line in shown_lines(self.message.attachments, self.since_sent))
        return (calls + files + self._figures_line()).rstrip("\n")

    def toggle_attachments(self) -> None:
        if self.message.attachments:
            self.attachments_open = not self.attachments_open
            self.refresh(layout=True)

    def on_mount(self) -> None:
        if any(a.source for a in self.message.attachments):
            self.run_worker(self._look_on_disk, thread=True, exit_on_error=False)

    def _look_on_disk(self) -> None:
        """In a worker (it reads the disk): whether each file it carried changed since."""
        since = {a.name: note for a in self.message.attachments if (note := since_sent(a))}
        if since:
            self.app.call_from_thread(self.show_since_sent, since)

    def show_since_sent(self, since: dict[str, str]) -> None:
        """What became of its files on disk (a worker looked): said on their lines."""
        if since != self.since_sent:
            self.since_sent = since
            self.figures = self.figures_text()
            self.refresh(layout=True)

    def _attachment_lines(self, width: int) -> list[Strip]:
        """The files as sent, whole, under the message's lines (Enter again folds them)."""
        if not self.attachments_open:
            return []
        files = [a for a in self.message.attachments if a.kind != AttachmentKind.FOLDER]
        parts = []
        for note in (a for a in self.message.attachments if a.kind == AttachmentKind.FOLDER):
            parts.append("\n".join(folder_report(note, files)))
        parts += [f"── {a.name} ──\n{a.text.rstrip(chr(10))}" for a in files]
        return self._wrapped(displayable("\n\n".join(parts)), "message-view--figures", width)

    def _figures_line(self) -> str:
        notes = []
        if self.message.role == Role.ASSISTANT and self.message.stats:
            notes.append(reply_figures(ReplyStats.from_dict(self.message.stats)))
        if (self.message.role == Role.ASSISTANT and self.message.status == Status.DONE
                and not self.message.content.strip() and not self.message.tool_calls):  # calls are its answer
            notes.insert(0, empty_reply_note())
        status = STATUS_NOTES.get(self.message.status)
        if status and not (self.message.status == Status.STOPPED and notes):
            notes.append(status)
        return " · ".join(notes)

    def _style(self, component: str) -> Style:
        """A component's colours as drawn over the widget's own background; cached by theme."""
        theme = self.app.theme
        if (component, theme) not in self._styles:
            full = self.get_component_rich_style(component)  # colours blended as drawn ($text-muted has alpha)
            self._styles[component, theme] = Style.from_color(full.color) + Style(bold=full.bold, italic=full.italic)
        return self._styles[component, theme]

    def _wrapped(self, text: str, component: str, width: int) -> list[Strip]:
        """Plain text (never markup) wrapped to the width in a component's style; cached."""
        if not text or width <= 0:
            return []
        style = self._style(component)
        key = (text, style, width)
        if key not in self._drawn:
            if len(self._drawn) > 8:
                self._drawn.clear()
            lines = Text(text).wrap(self.app.console, width)
            self._drawn[key] = [Strip([Segment(line.plain, style)], line.cell_len).extend_cell_length(width) for line in lines]
        return self._drawn[key]

    def set_folded(self, folded: bool) -> None:
        """Folded, a message is its label and one line: what the user replaced starts so (a chat
        edited far back would be mostly old versions), and any long message can be (Enter)."""
        if folded != self.folded and not (folded and self.growing):
            self.folded = folded
            self.refresh(layout=True)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        if self.folded:
            return len(self._header_lines(width)) + 1
        return super().get_content_height(container, viewport, width)

    def _line(self, y: int, width: int) -> Strip:
        if not self.folded:
            return super()._line(y, width)
        header = self._header_lines(width)
        if y < len(header):
            return header[y]
        return self._folded_line(width) if y == len(header) else Strip.blank(width)

    def _folded_line(self, width: int) -> Strip:
        """"replaced · folded · 183 words: The first line…", in one muted line (the footer, with
        the message picked, says Enter unfolds it)."""
        if self._fold_note is None or self._fold_note[:2] != (width, self.app.theme):
            tool = self.message.role == Role.TOOL  # its text as it came, not the fence it is shown in
            text = displayable(self.message.content) if tool else self.source
            first = " ".join(text.split())[:width] if tool else next(
                (line.strip() for line in text.splitlines() if line.strip()), "")
            status = "replaced · " if self.message.status == Status.REPLACED else ""
            words = len(text.split())
            what = (first or "no text") if tool else f"{words:,} word{'s' if words != 1 else ''}: {first}" if words else "no text"
            line = Text(f"{status}folded · {what}", no_wrap=True)
            line.truncate(width, overflow="ellipsis")
            strip = Strip([Segment(line.plain, self._style("message-view--figures"))], line.cell_len)
            self._fold_note = (width, self.app.theme, strip.extend_cell_length(width))
        return self._fold_note[2]

    def _header_lines(self, width: int) -> list[Strip]:
        return self._wrapped(self.label, "message-view--role", width) + self._thinking_lines(width)

    @property
    def has_thinking(self) -> bool:
        return bool(self._thinking)

    def thinking_summary(self) -> str:
        """One muted line: "thinking… 120 tokens: …the last words" while it streams, then
        "thought for 12 s · 340 tokens" (its tokens and time from the reply's figures)."""
        if self.growing and not self.source.strip():
            tail = " ".join(self._thinking_tail.split())
            return f"thinking… {self._thinking_tokens:,} tokens: {tail}"
        stats = self.message.stats or {}
        seconds = float(stats.get("thinking_seconds", 0.0))
        tokens = int(stats.get("thinking_tokens", self._thinking_tokens) or self._thinking_tokens)
        took = f"thought for {seconds:.0f} s · " if seconds >= 1 else "thought · "
        return f"{took}{tokens:,} tokens ({'t folds it' if self.thinking_open else 't shows it'})"

    def _thinking_lines(self, width: int) -> list[Strip]:
        if not self._thinking or width <= 0:
            return []
        summary = Text(displayable(self.thinking_summary()), no_wrap=True)
        summary.truncate(width, overflow="ellipsis")
        line = Strip([Segment(summary.plain, self._style("message-view--figures"))], summary.cell_len)
        lines = [line.extend_cell_length(width)]
        if self.thinking_open:
            lines += self._wrapped(displayable("".join(self._thinking)), "message-view--figures", width)
        return lines

    def think(self, thinking: str, tokens: int) -> None:
        """More thinking streamed in: kept whole (for `t`), its last words on the one line."""
        first = not self._thinking
        self._thinking.append(thinking)
        self._thinking_tail = (self._thinking_tail + thinking)[-200:]
        self._thinking_tokens = tokens
        self.refresh(layout=first)

    def toggle_thinking(self) -> None:
        if self._thinking:
            self.thinking_open = not self.thinking_open
            self.refresh(layout=True)

    def _footer_lines(self, width: int) -> list[Strip]:
        warning = self.message.status in WARNING_STATUSES
        lines = self._wrapped(self.figures, "message-view--warning" if warning else "message-view--figures", width)
        return lines + self._attachment_lines(width) if self.attachments_open else lines

    def _show_figures(self, text: str) -> None:
        """New figures: repaint their lines only, unless they now wrap to another number of lines."""
        width = self.content_size.width
        before = len(self._footer_lines(width))
        self.figures = text
        if self._width != width or len(self._footer_lines(width)) != before or not before:
            self.refresh(layout=True)
            return
        top = self.content_size.height - before
        self.refresh(Region(0, top, width, before))

    def append(self, text: str) -> None:
        """Add streamed text (the app's mailbox already batches tokens to the screen's pace)."""
        super().append(displayable(text))

    def show_progress(self, tokens: int, tokens_per_second: float) -> None:
        """Live figures under a reply being written: their line repainted, right under the text that
        changed (the screen repaints the box around all changes of an update, so nearness matters)."""
        self._show_figures(f"writing… {tokens:,} tok · {tokens_per_second:,.1f} tok/s")

    def finish(self, message: Message) -> None:
        if message.thinking:
            self._thinking = [message.thinking]
        if message.status == Status.REPLACED != self.message.status:
            self.folded = True  # replaced just now (an edit, a reply written again): out of the way
        self.message = message
        self._fold_note = None
        self.figures = self.figures_text()
        self.stop_growing()
        self.refresh(layout=True)  # the final figures may take another number of lines
