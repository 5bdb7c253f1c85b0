"""Terminal input where a paste is data: one `Paste` event, in order, never key presses.

Textual's parser (8.2) reads a bracketed paste character by character, and an ESC inside it
starts an escape sequence there as outside: `\\e[31m` comes out as keys (`^[31m`, out of order)
and the BEL that ends an OSC title (`\\e]0;x\\a`) comes out as Ctrl+G, which opened the model
picker. Text copied from a coloured log, a web page or a model's reply holds such bytes.

`PasteSafeParser` lets Textual's parser read everything outside a paste (its timing for a lone
Esc stays as it is), and reads a paste itself: after the start marker, every character up to the
end marker is text. Escape sequences in it are dropped, other control characters shown as
their control pictures, line ends made `\\n`. `PasteSafeLinuxDriver` reads the terminal with it.
"""

from __future__ import annotations

import os
import re
import selectors
from codecs import getincrementaldecoder
from collections.abc import Callable, Generator

from textual import events
from textual._parser import ParseEOF, ParseError, ParseTimeout, Peek1, Read1
from textual._xterm_parser import BRACKETED_PASTE_END, BRACKETED_PASTE_START, XTermParser
from textual.driver import Driver
from textual.drivers._byte_stream import ByteStream
from textual.drivers.linux_driver import LinuxDriver
from textual.drivers.web_driver import WebDriver
from textual.drivers.web_driver import _ExitInput as ExitInput
from textual.message import Message

from mixtral_tui.text_safety import displayable

# CSI (colours, cursor moves), OSC (titles, links; ended by BEL or ST), and the other two-byte
# escapes. A lone ESC left over is shown as a control picture by `displayable`.
_ESCAPE_SEQUENCE = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-Z\\-_]")


def pasted_text(raw: str) -> str:
    """What a paste puts in the message box: its text, with no terminal control left in it."""
    text = _ESCAPE_SEQUENCE.sub("", raw).replace("\r\n", "\n").replace("\r", "\n")
    return displayable(text)


class PasteSafeParser(XTermParser):
    """Textual's parser for keys, mouse and replies from the terminal; a paste read here."""

    def parse(self, token_callback: Callable[[Message], None]) -> Generator[Read1 | Peek1, str, None]:
        def all_but_pastes(token: Message) -> None:
            # Textual's parser sees only the start and end markers of a paste, so the only
            # Paste it makes is an empty one; the real one is made below.
            if not isinstance(token, events.Paste):
                token_callback(token)

        inner = super().parse(all_but_pastes)
        try:
            wanted = next(inner)
            recent = ""
            while True:
                try:
                    character = yield wanted
                except (ParseTimeout, ParseEOF) as error:
                    wanted = inner.throw(error)
                    continue
                wanted = inner.send(character)
                recent = (recent + character)[-len(BRACKETED_PASTE_START) :]
                if recent != BRACKETED_PASTE_START:
                    continue
                recent = ""
                raw, ended = yield from self._read_paste()
                if raw:
                    token_callback(events.Paste(pasted_text(raw)))
                if not ended:
                    inner.throw(ParseEOF())
                # Textual's parser is inside the paste since the start marker: end it there too.
                for marker_character in BRACKETED_PASTE_END:
                    wanted = inner.send(marker_character)
        except StopIteration:
            return

    def _read_paste(self) -> Generator[Read1, str, tuple[str, bool]]:
        """The text up to the end marker, and whether the marker came (not the end of input)."""
        received: list[str] = []
        tail = ""
        while True:
            try:
                character = yield self.read1()
            except ParseEOF:
                return "".join(received), False
            received.append(character)
            tail = (tail + character)[-len(BRACKETED_PASTE_END) :]
            if tail == BRACKETED_PASTE_END:
                return "".join(received)[: -len(BRACKETED_PASTE_END)], True


class PasteSafeLinuxDriver(LinuxDriver):
    """Textual's Linux driver, reading the terminal with `PasteSafeParser`."""

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = PasteSafeParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode

        def read_ready(ready: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            for number, (_key, mask) in enumerate(ready, start=1):
                if mask & selectors.EVENT_READ:
                    text = decode(os.read(self.fileno, 4096), final=final and number == len(ready))
                    if not text:
                        break  # stdin is a closed pipe
                    for event in parser.feed(text):
                        self.process_message(event)
            for event in parser.tick():  # a lone Esc becomes a key once its wait is over
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                read_ready(selector.select(0.1))
            selector.unregister(self.fileno)
            read_ready(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except (EOFError, ParseError):
                pass


class PasteSafeWebDriver(WebDriver):
    """Textual's web driver (a page of `mixtral-tui web`), reading the page's keys and pastes with
    `PasteSafeParser`: a paste into the browser is text there as in a terminal."""

    def run_input_thread(self) -> None:
        input_reader = self._input_reader
        parser = PasteSafeParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        packets = ByteStream()  # the server's stream: the page's input, and packets about it
        try:
            for data in input_reader:
                if data:
                    for packet_type, payload in packets.feed(data):
                        if packet_type == "D":
                            for event in parser.feed(decode(payload)):
                                self.process_message(event)
                        else:
                            self._on_meta(packet_type, payload)
                for event in parser.tick():
                    self.process_message(event)
        except ExitInput:
            pass
        finally:
            input_reader.close()


def paste_safe(driver_class: type[Driver]) -> type[Driver]:
    """The driver Textual picked, reading with the paste-safe parser where it reads a terminal or a
    page (Linux, web); headless and Windows drivers as they are."""
    if driver_class is LinuxDriver:
        return PasteSafeLinuxDriver
    return PasteSafeWebDriver if driver_class is WebDriver else driver_class
