from mixtral_tui.text_safety import displayable


def test_escape_sequences_become_visible_symbols():
    text = displayable("red \x1b[31mtext\x1b[0m bell\x07 back\x08 osc \x1b]0;title\x07 c1 \x9b")
    assert "\x1b" not in text and "\x07" not in text and "\x08" not in text and "\x9b" not in text
    assert "␛[31m" in text and "␇" in text


def test_newlines_tabs_and_markup_are_kept():
    assert displayable("a\n\tb [bold]c[/bold]\r\n") == "a\n\tb [bold]c[/bold]\n"
