"""What the app uses of other libraries' private API, checked against the installed versions.

pyproject.toml bounds textual and llama-cpp-python to the releases these were read from
(`textual<8.3`, `llama-cpp-python<0.4`). Raising a bound means running this file on the new release:
each check names what the app relies on and where, so a rename fails here, by name, instead of
as a key that silently does nothing or a reply that never starts.
"""

from __future__ import annotations

import inspect
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def bound(package: str) -> str:
    requirements = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    found = next(r for r in requirements if re.match(rf"{re.escape(package)}\b", r))
    upper = re.search(r"<\s*([\d.]+)", found)
    assert upper, f"{package} has no upper bound in pyproject.toml, yet the app uses its private API"
    return upper.group(1)


def below(version: str, limit: str) -> bool:
    as_tuple = lambda v: tuple(int(p) for p in re.findall(r"\d+", v)[:3])  # noqa: E731
    return as_tuple(version) < as_tuple(limit)


@pytest.mark.parametrize("package", ["textual", "llama-cpp-python"])
def test_installed_versions_are_inside_the_bounds_the_private_uses_were_checked_for(package):
    assert below(metadata.version(package), bound(package))


def test_textual_still_has_the_private_methods_the_app_overrides():
    from textual.widgets import TabbedContent, TextArea

    # ui/widgets/chat_tabs.py: a tab is activated only when focus really moved into it
    assert inspect.signature(TabbedContent._on_tab_pane_focused).parameters.keys() == {"self", "event"}
    # ui/widgets/composer.py: Enter sends, Ctrl+J and PgUp/PgDn, before TextArea's own keys
    assert inspect.iscoroutinefunction(TextArea._on_key)


def test_textual_still_ends_an_app_through_the_handler_the_app_stops_its_reply_in():
    from textual.app import App
    from textual.drivers import web_driver

    # ui/app.py _on_exit_app: ExitApp's handler, which the web driver's "quit" reaches past action_quit
    assert inspect.signature(App._on_exit_app).parameters.keys() == {"self"}
    assert "messages.ExitApp()" in inspect.getsource(web_driver.WebDriver.on_meta)
    assert "messages.ExitApp()" in inspect.getsource(App.exit)


def test_textual_screen_updates_are_still_made_by_the_timer_the_first_words_call_at_once():
    from textual.screen import Screen

    # ui/reply_controller.py paint_now: the method the screen's update timer calls, with no arguments
    assert inspect.signature(Screen._on_timer_update).parameters.keys() == {"self"}
    assert "self._on_timer_update" in inspect.getsource(Screen)


def test_textual_still_reads_the_terminal_the_way_the_paste_safe_driver_does_it():
    from textual import _parser, _xterm_parser
    from textual.driver import Driver
    from textual.drivers.linux_driver import LinuxDriver

    # ui/terminal_input.py: the parser's generator protocol and the paste markers
    assert {"ParseEOF", "ParseTimeout", "ParseError", "Read1", "Peek1"} <= set(vars(_parser))
    assert _xterm_parser.BRACKETED_PASTE_START == "\x1b[200~" and _xterm_parser.BRACKETED_PASTE_END == "\x1b[201~"
    # the input loop it replaces: the same attributes, and a parser built in that method alone
    source = inspect.getsource(LinuxDriver.run_input_thread)
    assert "XTermParser(" in source and "self.fileno" in source and "self.exit_event" in source
    assert "self._debug = debug" in inspect.getsource(Driver.__init__)
    assert callable(LinuxDriver.process_message)


def test_textual_reads_a_browsers_input_the_way_the_paste_safe_web_driver_does_it():
    from textual.drivers import web_driver

    # ui/terminal_input.py PasteSafeWebDriver: the packets of textual-serve's stream, the parser
    # built in that method alone, and how it ends
    source = inspect.getsource(web_driver.WebDriver.run_input_thread)
    assert "XTermParser(" in source and "self._input_reader" in source and "ByteStream()" in source
    assert "self._on_meta(packet_type, payload)" in source and "_ExitInput" in source
    assert issubclass(web_driver._ExitInput, Exception)


def test_textual_footer_keys_are_as_the_key_footer_reads_them():
    from textual.widgets import Footer
    from textual.widgets._footer import FooterKey

    # ui/widgets/key_footer.py: each key's action, and the palette's key told apart by its class
    assert "action" in inspect.signature(FooterKey.__init__).parameters
    source = inspect.getsource(Footer.compose)
    assert "FooterKey(" in source and '"-command-palette"' in source and "self.screen.active_bindings" in source


def test_llama_cpp_still_has_the_internals_the_engine_reads():
    from llama_cpp import Llama
    from llama_cpp._internals import LlamaContext, LlamaModel

    init = inspect.getsource(Llama.__init__)
    # engine/llama.py: the vocabulary for token pieces, the context for KV-state copies
    assert "self._model = " in init and "self._ctx = " in init
    assert "self.vocab = " in inspect.getsource(LlamaModel.__init__)
    assert "self.ctx = " in inspect.getsource(LlamaContext.__init__)
    # engine/llama.py: the tokens the KV cache holds, to reuse a prompt's common start
    assert isinstance(inspect.getattr_static(Llama, "_input_ids"), property)


def test_the_bound_check_notices_a_version_past_it():
    assert below("8.2.8", "8.3") and not below("8.3.0", "8.3") and not below("0.4.1", "0.4")
