from mixtral_tui.engine.base import Turn
from mixtral_tui.engine.templates import ChatTemplate, StopScanner, choose_template, fallback_for
from tests.fixtures.gguf_models import MIXTRAL_TEMPLATE

TURNS = [Turn("system", "Be brief."), Turn("user", "Hi"), Turn("assistant", "Hello"), Turn("user", "Again")]


def test_mixtral_template_gets_system_prompt_folded_into_first_user_turn():
    template = choose_template("auto", MIXTRAL_TEMPLATE, "Mixtral", "llama", "<s>", "</s>")
    text = template.render(TURNS)
    assert text == "<s>[INST] Be brief.\n\nHi [/INST]Hello</s>[INST] Again [/INST]"
    assert template.folds_system


def test_template_that_keeps_system_is_used_as_is():
    template = choose_template("chatml", None, "x", "llama", "", "")
    text = template.render(TURNS[:2])
    assert text.startswith("<|im_start|>system\nBe brief.<|im_end|>\n") and text.endswith("<|im_start|>assistant\n")


def test_builtin_mistral_drops_system_silently_so_it_is_folded():
    template = choose_template("mistral", None, "x", "llama", "<s>", "</s>")
    assert "Be brief.\n\nHi" in template.render(TURNS)


def test_fallbacks_by_name_and_architecture():
    assert fallback_for("Mixtral-8x7B-Instruct", "llama") == "mistral"
    assert fallback_for("Gemma 3 270m", "gemma3") == "gemma"
    assert fallback_for("Meta-Llama-3-8B", "llama") == "llama3"
    assert fallback_for("something", "qwen2") == "chatml"


def test_gguf_template_is_preferred_and_config_can_override():
    assert choose_template("auto", MIXTRAL_TEMPLATE, "x", "llama", "", "").name == "gguf"
    assert choose_template("chatml", MIXTRAL_TEMPLATE, "x", "llama", "", "").name == "chatml"


def test_stop_scanner_holds_back_partial_stop_strings():
    scanner = StopScanner(("<|im_end|>",))
    shown = scanner.feed("Hello <|im")
    assert shown == "Hello " and not scanner.stopped
    shown += scanner.feed("_end|> trailing")
    assert shown == "Hello " and scanner.stopped


def test_stop_scanner_releases_text_that_was_not_a_stop():
    scanner = StopScanner(("<end_of_turn>",))
    assert scanner.feed("a <end") == "a "
    assert scanner.feed("less story") == "<endless story"
    assert scanner.flush() == ""


def test_template_renders_unicode_and_markup_verbatim():
    template = ChatTemplate("chatml", "{% for m in messages %}{{ m.content }}{% endfor %}")
    assert template.render([Turn("user", "[bold]x[/bold] ✓ {{ not jinja }}")]) == "[bold]x[/bold] ✓ {{ not jinja }}"


def test_a_reply_ends_where_the_model_starts_the_next_turn():
    template = choose_template("gemma", None, "Gemma", "gemma3", "<bos>", "<eos>")
    scanner = StopScanner(template.stops)
    assert scanner.feed("Paris.<start_of_turn>user\nNext question") == "Paris."
    assert scanner.stopped


def test_gguf_template_stops_are_the_markers_it_uses():
    stops = choose_template("auto", MIXTRAL_TEMPLATE, "x", "llama", "<s>", "</s>").stops
    assert "[INST]" in stops and "<|im_end|>" not in stops
