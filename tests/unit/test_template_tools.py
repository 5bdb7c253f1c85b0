"""Tools for a local model, on the real chat templates of the families that call them
(tests/fixtures/templates, as their GGUFs carry them): rendered with tools, calls and results, and
the calls read back out of the text the model writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mixtral_tui.engine.base import ToolCall, ToolSpec, Turn
from mixtral_tui.engine.openai_tools import tools_field
from mixtral_tui.engine.template_tools import CallFormat, CallReader, call_format, template_messages, why_no_tools
from mixtral_tui.engine.templates import BUILTIN, ChatTemplate
from mixtral_tui.engine.thinking import ThinkingSplitter
from mixtral_tui.engine.tool_ids import is_mistral_id
from tests.fixtures.gguf_models import MIXTRAL_TEMPLATE

TEMPLATES = Path(__file__).parents[1] / "fixtures" / "templates"
FAMILIES = {
    "mistralai-Mistral-Small-3.1-24B-Instruct-2503.jinja": CallFormat.MISTRAL,
    "Qwen-Qwen3.jinja": CallFormat.HERMES,
    "meta-llama-Llama-3.1-8B-Instruct.jinja": CallFormat.LLAMA3,
}
TIME = ToolSpec("time_get_current_time", "Get the current time in a zone",
                {"type": "object", "properties": {"timezone": {"type": "string"}}, "required": ["timezone"]})
CALL = ToolCall("a1B2c3D4e", "time_get_current_time", '{"timezone": "Europe/Paris"}')
ASKED = [Turn("system", "Answer briefly."), Turn("user", "What time is it in Paris?")]
ANSWERED = ASKED + [Turn("assistant", "", tool_calls=(CALL,)),
                    Turn("tool", '{"datetime": "2026-12-03T15:00:00+01:00"}', tool_call_id=CALL.id)]


def template(name: str) -> ChatTemplate:
    return ChatTemplate("gguf", (TEMPLATES / name).read_text(), "<s>", "</s>")


def read(form: CallFormat, text: str, piece: int = 1) -> tuple[str, tuple[ToolCall, ...]]:
    """The text as a stream of `piece`-character chunks, through the thinking splitter and then the
    reader as the engine passes it: what was shown as the answer, and the calls."""
    splitter, reader = ThinkingSplitter(), CallReader(form)
    shown = "".join(reader.feed(splitter.feed(text[at:at + piece])[0]) for at in range(0, len(text), piece))
    shown += reader.feed(splitter.flush()[0])
    rest, calls = reader.finish()
    return shown + rest, calls


def as_the_model_writes_it(name: str) -> str:
    """A call in the family's own form: the template's rendering of the assistant's call turn, less
    the prompt before it (what the model was trained to write there), up to its end of turn."""
    t = template(name)
    before = t.render(ASKED, [TIME])
    whole = t._compiled.render(messages=template_messages(ANSWERED[:3]), tools=tools_field([TIME]),
                               bos_token="<s>", eos_token="</s>", add_generation_prompt=False)
    common = 0
    while common < min(len(before), len(whole)) and before[common] == whole[common]:
        common += 1
    written = whole[common:]
    for end in ("</s>", "<|im_end|>", "<|eot_id|>"):
        written = written.split(end)[0]
    return written


@pytest.mark.parametrize("name", FAMILIES)
def test_each_family_is_known_by_its_template(name):
    assert call_format((TEMPLATES / name).read_text()) is FAMILIES[name]


def test_templates_without_tools_offer_none_and_say_who_can():
    assert call_format(MIXTRAL_TEMPLATE) is None
    for source, _stops in BUILTIN.values():
        assert call_format(source) is None
    why = why_no_tools(MIXTRAL_TEMPLATE, "Mixtral-8x7B-Instruct-v0.1")
    assert "takes no tools" in why and "Mixtral 8x22B Instruct" in why and "Qwen" in why and "server" in why


@pytest.mark.parametrize("name", FAMILIES)
def test_the_prompt_carries_the_tools_the_call_and_its_result(name):
    text = template(name).render(ANSWERED, [TIME])
    assert "Get the current time in a zone" in text and '"timezone"' in text
    assert "2026-12-03T15:00:00" in text  # the result
    assert "Europe/Paris" in text and "&#34;" not in text  # the call, as JSON (not markup)
    assert "Answer briefly." in text
    if FAMILIES[name] is CallFormat.MISTRAL:
        assert "[AVAILABLE_TOOLS]" in text and f'"id": "{CALL.id}"' in text
        assert f'"call_id": "{CALL.id}"}}[/TOOL_RESULTS]' in text
    elif FAMILIES[name] is CallFormat.HERMES:
        assert "<tools>" in text and "<tool_response>" in text
        assert '<tool_call>\n{"name": "time_get_current_time", "arguments": {"timezone": "Europe/Paris"}}' in text
    else:
        assert "Environment: ipython" in text and "<|start_header_id|>ipython<|end_header_id|>" in text
        assert '{"name": "time_get_current_time", "parameters": {"timezone": "Europe/Paris"}}' in text


@pytest.mark.parametrize("name", FAMILIES)
def test_no_tools_means_the_template_is_told_of_none(name):
    text = template(name).render(ASKED)
    assert "Get the current time" not in text and "[AVAILABLE_TOOLS]" not in text and "<tools>" not in text


@pytest.mark.parametrize("piece", [1, 3, 1000])
@pytest.mark.parametrize("name", FAMILIES)
def test_a_call_written_in_the_familys_form_is_read_and_never_shown(name, piece):
    written = as_the_model_writes_it(name)
    assert "time_get_current_time" in written
    shown, calls = read(FAMILIES[name], written, piece)
    assert shown.strip() == ""
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [("time_get_current_time", {"timezone": "Europe/Paris"})]
    assert is_mistral_id(calls[0].id)  # Mistral's own id where it wrote one; else one the app makes


def test_mistral_forms():
    shown, calls = read(CallFormat.MISTRAL, 'Let me look.[TOOL_CALLS] [{"name": "a_b", "arguments": {"x": 1}}, '
                                            '{"name": "c_d", "arguments": {}}]')
    assert shown == "Let me look." and [c.name for c in calls] == ["a_b", "c_d"]
    # tokenizers v11 and later (Magistral, Small 3.2): name[ARGS]{...}, one marker per call
    shown, calls = read(CallFormat.MISTRAL, '[TOOL_CALLS]a_b[ARGS]{"x": 1}[TOOL_CALLS]c_d[CALL_ID]Zz9Zz9Zz9[ARGS]{}')
    assert shown == "" and [(c.name, c.arguments) for c in calls] == [("a_b", '{"x": 1}'), ("c_d", "{}")]
    assert calls[1].id == "Zz9Zz9Zz9"


def test_hermes_several_calls_after_thinking_and_text():
    text = ('<think>\nA <tool_call> here is only thought about.\n</think>\n\n'
            'Checking both.\n<tool_call>\n{"name": "a_b", "arguments": {"x": 1}}\n</tool_call>\n'
            '<tool_call>\n{"name": "c_d", "arguments": {"y": "two"}}\n</tool_call>')
    shown, calls = read(CallFormat.HERMES, text, 2)
    assert shown == "Checking both.\n" and [json.loads(c.arguments) for c in calls] == [{"x": 1}, {"y": "two"}]


def test_llama3_forms_and_plain_json_answers():
    _, calls = read(CallFormat.LLAMA3, '<|python_tag|>{"name": "a_b", "parameters": {"x": 1}}')
    assert [(c.name, c.arguments) for c in calls] == [("a_b", '{"x": 1}')]
    _, calls = read(CallFormat.LLAMA3, '{"name": "a_b", "parameters": {}}; {"name": "c_d", "parameters": {}}')
    assert [c.name for c in calls] == ["a_b", "c_d"]
    # An answer that is JSON but no call, or that only mentions JSON later, is the answer
    assert read(CallFormat.LLAMA3, '{"capital": "Paris"}') == ('{"capital": "Paris"}', ())
    assert read(CallFormat.LLAMA3, 'Use {"name": "x", "parameters": {}} like that.', 4) == \
        ('Use {"name": "x", "parameters": {}} like that.', ())


@pytest.mark.parametrize("form, text", [
    (CallFormat.MISTRAL, "[TOOL_CALLS] [{not json"),
    (CallFormat.MISTRAL, '[TOOL_CALLS] [{"arguments": {}}]'),  # no name
    (CallFormat.HERMES, "<tool_call>\n{\"name\": \"a\", \"arguments\": {\"x\": \n"),  # cut off (the length limit)
])
def test_a_call_that_cannot_be_read_is_shown_as_written(form, text):
    assert read(form, text, 2) == (text, ())


def test_a_stopped_replys_call_is_shown_not_run():
    reader = CallReader(CallFormat.HERMES)
    reader.feed('<tool_call>\n{"name": "a_b", "arguments": {}}\n</tool_call>')
    assert reader.finish(complete=False) == ('<tool_call>\n{"name": "a_b", "arguments": {}}\n</tool_call>', ())


def test_a_marker_cut_across_chunks_never_leaks():
    reader = CallReader(CallFormat.MISTRAL)
    assert reader.feed("Sure [TOOL_") == "Sure "
    assert reader.feed('CALLS] [{"name": "a_b", "arguments": {}}]') == ""
    assert [c.name for c in reader.finish()[1]] == ["a_b"]
    reader = CallReader(CallFormat.MISTRAL)
    assert reader.feed("a [TOOL_") == "a "
    assert reader.feed("s] b") == "[TOOL_s] b"  # not the marker after all: shown


def test_llama3_takes_several_calls_of_a_turn_one_a_turn_each_with_its_result():
    first, second = ToolCall("aaaaaaaa1", "x_one", '{"n": 1}'), ToolCall("aaaaaaaa2", "x_two", '{"n": 2}')
    turns = [Turn("user", "both"), Turn("assistant", "", tool_calls=(first, second)),
             Turn("tool", "one", tool_call_id=first.id), Turn("tool", "two", tool_call_id=second.id)]
    text = template("meta-llama-Llama-3.1-8B-Instruct.jinja").render(turns, [TIME])  # its template raises on two
    one, two = text.index('{"name": "x_one", "parameters": {"n": 1}}'), text.index('{"name": "x_two"')
    assert one < text.index("ipython<|end_header_id|>\n\n\"one\"") < two < text.index("\"two\"")
