"""A bracketed paste reaches the app as one piece of text, in order, and never as keys."""

from __future__ import annotations

import time

from textual import constants, events
from textual._xterm_parser import XTermParser

from mixtral_tui.ui.terminal_input import PasteSafeLinuxDriver, PasteSafeParser, pasted_text

START, END = "\x1b[200~", "\x1b[201~"


def parsed(*chunks: str) -> list[events.Event]:
    parser = PasteSafeParser()
    out: list[events.Event] = []
    for chunk in chunks:
        out.extend(parser.feed(chunk))
    return out


def described(found: list[events.Event]) -> list[str]:
    shown = [e for e in found if isinstance(e, events.Paste | events.Key)]
    return [f"paste:{e.text}" if isinstance(e, events.Paste) else f"key:{e.key}" for e in shown]


def test_colour_codes_in_a_paste_stay_text_in_order():
    assert described(parsed(f"x{START}AAA \x1b[31mRED\x1b[0m BBB{END}y")) == ["key:x", "paste:AAA RED BBB", "key:y"]


def test_a_title_sequence_ending_in_bel_is_not_ctrl_g():
    found = described(parsed(f"{START}CCC \x1b]0;PWNED\x07 DDD{END}"))
    assert found == ["paste:CCC  DDD"]
    assert "key:ctrl+g" not in found


def test_a_paste_split_over_many_reads_is_still_one_paste():
    text = f"{START}one\r\ntwo \x1b[1mbold\x1b[0m\rthree{END}"
    assert described(parsed(*text)) == ["paste:one\ntwo bold\nthree"]


def test_other_control_characters_are_shown_not_acted_on():
    assert described(parsed(f"{START}a\x03b\x1bc\x00d\tz{END}")) == ["paste:a\u2403b\u241bc\u2400d\tz"]


def events_from(parser: XTermParser, chunks: list[str]) -> list[str]:
    found: list[str] = []
    for chunk in chunks:
        found += [repr(e) for e in parser.feed(chunk)]
        time.sleep(constants.ESCAPE_DELAY + 0.02)
        found += [repr(e) for e in parser.tick()]
    return found


def test_keys_mouse_and_a_lone_escape_outside_a_paste_are_read_as_textual_reads_them():
    chunks = ["\x1b[A", "\x1bx", "\x1b[<0;10;5M", "\x1b", "q", "\x1b[1;5C", "\x1b\x1b", "é"]
    expected = events_from(XTermParser(), chunks)
    assert events_from(PasteSafeParser(), chunks) == expected
    assert any("key='escape'" in e for e in expected) and any("MouseDown" in e for e in expected)


def test_a_paste_cut_off_by_the_end_of_input_keeps_what_came():
    parser = PasteSafeParser()
    found = list(parser.feed(f"{START}half a para"))
    found += list(parser.feed(""))
    assert described(found) == ["paste:half a para"]


def test_two_pastes_in_a_row():
    assert described(parsed(f"{START}a{END}{START}b{END}")) == ["paste:a", "paste:b"]


def test_pasted_text_keeps_unicode_and_newlines():
    assert pasted_text("naïve — 日本\r\n[b]x[/b]") == "naïve — 日本\n[b]x[/b]"


def test_the_app_reads_a_terminal_with_the_paste_safe_driver(monkeypatch, tmp_path):
    from mixtral_tui.config import Config
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.paths import AppPaths
    from mixtral_tui.ui.app import MixtralApp

    monkeypatch.delenv("TEXTUAL_DRIVER", raising=False)
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    paths.ensure()
    app = MixtralApp(Config(), LoadSpec(model_path=""), paths=paths)
    assert app.get_driver_class() is PasteSafeLinuxDriver


def test_the_app_reads_a_browser_page_with_the_paste_safe_web_driver(monkeypatch, tmp_path):
    """textual-serve starts each page's app with TEXTUAL_DRIVER naming Textual's web driver."""
    from textual import constants

    from mixtral_tui.config import Config
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.paths import AppPaths
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.terminal_input import PasteSafeWebDriver

    monkeypatch.setattr(constants, "DRIVER", "textual.drivers.web_driver:WebDriver")  # read from the environment at import
    paths = AppPaths(tmp_path / "c", tmp_path / "d", tmp_path / "l")
    paths.ensure()
    app = MixtralApp(Config(), LoadSpec(model_path=""), paths=paths)
    assert app.get_driver_class() is PasteSafeWebDriver
