"""The status line at any width, titles stored whole and cut where drawn, the app's recent models."""

from __future__ import annotations

import pytest

from mixtral_tui.chat.rules import title_from
from mixtral_tui.models.recent import RecentModels
from mixtral_tui.text_safety import counted, shortened
from mixtral_tui.ui.widgets.status_bar import fitted

MODEL = "Mixtral 8x7B Instruct v0.1 Q4_K_M · ctx 32,768 · template mistral"
FIGURES = "last reply 23.4 tok/s · 412 tok · TTFT 0.41 s · ctx 1,203/32,768"


def test_wide_the_status_line_is_whole():
    assert fitted(MODEL, "Ready", FIGURES, 200) == f"{MODEL} │ Ready │ {FIGURES}"


@pytest.mark.parametrize("width", [120, 100, 80, 60, 40, 30])
def test_narrow_it_keeps_the_state_whole_and_drops_the_least_first(width):
    state = "Writing: 226 tok · 44.3 tok/s"
    line = fitted(MODEL, state, FIGURES, width)
    assert len(line) <= width and state in line


def test_what_goes_first_is_the_last_figures_then_the_models_details_and_the_speed_last():
    assert fitted(MODEL, "Ready", FIGURES, 100) == f"{MODEL} │ Ready │ last reply 23.4 tok/s"
    assert fitted(MODEL, "Ready", FIGURES, 80) == "Mixtral 8x7B Instruct v0.1 Q4_K_M · ctx 32,768 │ Ready │ last reply 23.4 tok/s"
    assert fitted(MODEL, "Ready", FIGURES, 70) == "Mixtral 8x7B Instruct v0.1 Q4_K_M │ Ready │ last reply 23.4 tok/s"
    assert fitted(MODEL, "Ready", FIGURES, 50) == "Mixtral 8x7B Inst… │ Ready │ last reply 23.4 tok/s"
    assert fitted(MODEL, "Ready", FIGURES, 30) == "Ready │ last reply 23.4 tok/s"  # the speed before the name
    assert fitted(MODEL, "Ready", FIGURES, 20) == "Mixtral 8x7… │ Ready"


def test_at_80_columns_idle_the_status_line_keeps_the_last_speed():
    """"template gemma │ Ready │ last reply 101 tok" at 80 columns: the speed had gone first."""
    from mixtral_tui.chat.figures import status_figures
    from mixtral_tui.engine.base import ReplyStats

    figures = status_figures(ReplyStats(prompt_tokens=268, prompt_evaluated=1, prompt_reused=267, completion_tokens=101,
                                        decode_seconds=2.0, ttft_seconds=0.2, context_used=369, context_size=2048))
    line = fitted("Gemma 3 270m Q4_K_M · ctx 2,048 · template gemma", "Ready", figures, 80)
    assert "50.0 tok/s" in line and len(line) <= 80


def test_a_title_is_the_whole_first_line_with_words():
    long_line = "Please review this function, which parses the config file and returns a dataclass " * 2
    assert title_from(f"\n\n  {long_line}\nsecond line") == " ".join(long_line.split())
    assert title_from("   \n\t") == "New chat"
    assert not title_from("x" * 5000).endswith("…") and len(title_from("x" * 5000)) == 1000


def test_shortened_and_counted():
    assert shortened("short", 10) == "short" and shortened("a fairly long title", 10) == "a fairly…"
    assert counted(1, "message") == "1 message" and counted(1234, "message") == "1,234 messages"


def test_recent_models_are_newest_first_unique_and_only_those_still_there(tmp_path):
    files = [tmp_path / f"{n}.gguf" for n in "abc"]
    for f in files:
        f.write_bytes(b"GGUF")
    recent = RecentModels(tmp_path / "state" / "recent_models.json")
    assert recent.newest() is None
    for f in (files[0], files[1], files[0], files[2]):
        recent.remember(str(f))
    assert recent.paths() == [str(files[2]), str(files[0]), str(files[1])]
    files[2].unlink()
    assert recent.newest() == str(files[0])


def test_a_damaged_recent_models_file_is_an_empty_list_not_an_error(tmp_path):
    path = tmp_path / "recent_models.json"
    path.write_text("{not json")
    assert RecentModels(path).paths() == []
    path.write_text('["a list, not the object"]')
    assert RecentModels(path).paths() == []
