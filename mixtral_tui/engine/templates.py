"""Chat templates: turning turns into the prompt text a model was trained on.

The GGUF's own `tokenizer.chat_template` comes first. Models without one get a
fallback picked by name and architecture, and the config can force any of
them. A template that rejects or silently drops the system turn (Mistral and
Mixtral instruct do both) gets the system prompt folded into the first user
turn instead, so it is never lost.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mixtral_tui.engine.base import ToolSpec, Turn
from mixtral_tui.engine.openai_tools import tools_field
from mixtral_tui.engine.template_tools import CallFormat, call_format, one_call_a_turn, template_messages
from mixtral_tui.vocabulary import Role

BUILTIN = {
    "chatml": (
        "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
        ("<|im_end|>", "<|im_start|>"),
    ),
    "mistral": (
        "{{ bos_token }}{% for m in messages %}{% if m.role == 'user' %}[INST] {{ m.content }} [/INST]"
        "{% elif m.role == 'assistant' %} {{ m.content }}{{ eos_token }}{% endif %}{% endfor %}",
        ("</s>", "[INST]"),
    ),
    "gemma": (
        "{{ bos_token }}{% for m in messages if m.role != 'system' %}<start_of_turn>"
        "{{ 'model' if m.role == 'assistant' else 'user' }}\n{{ m.content }}<end_of_turn>\n{% endfor %}"
        "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}",
        ("<end_of_turn>", "<start_of_turn>"),
    ),
    "llama3": (
        "{{ bos_token }}{% for m in messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>\n\n"
        "{{ m.content }}<|eot_id|>{% endfor %}"
        "{% if add_generation_prompt %}<|start_header_id|>assistant<|end_header_id|>\n\n{% endif %}",
        ("<|eot_id|>", "<|start_header_id|>"),
    ),
    "llama2": (
        "{% for m in messages %}{% if m.role == 'system' %}{% set sys = m.content %}"
        "{% elif m.role == 'user' %}{{ bos_token }}[INST] {% if loop.index0 == 1 and messages[0].role == 'system' %}"
        "<<SYS>>\n{{ messages[0].content }}\n<</SYS>>\n\n{% endif %}{{ m.content }} [/INST]"
        "{% else %} {{ m.content }} {{ eos_token }}{% endif %}{% endfor %}",
        ("</s>", "[INST]"),
    ),
    "zephyr": (
        "{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }}{{ eos_token }}\n{% endfor %}"
        "{% if add_generation_prompt %}<|assistant|>\n{% endif %}",
        ("</s>", "<|user|>"),
    ),
}

# Turn markers: a reply ends where the model writes one. Ends of turns matter for
# models whose marker is plain text rather than an end-of-generation token;
# starts of turns catch a model that goes on to write the user's next message.
KNOWN_STOPS = (
    "<|im_end|>", "<end_of_turn>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "</s>",
    "<|im_start|>", "<start_of_turn>", "<|start_header_id|>", "[INST]",
)


def fallback_for(name: str, architecture: str) -> str:
    """A template for a GGUF that carries none, from its name and architecture."""
    text = f"{name} {architecture}".lower()
    if "mistral" in text or "mixtral" in text:
        return "mistral"
    if "gemma" in text:
        return "gemma"
    if "llama-3" in text or "llama3" in text:
        return "llama3"
    if "llama-2" in text or "llama2" in text:
        return "llama2"
    if "zephyr" in text:
        return "zephyr"
    return "chatml"


@dataclass
class ChatTemplate:
    """A compiled template plus what it needs to render and stop."""

    name: str  # "gguf" or a BUILTIN key
    source: str
    bos_token: str = ""
    eos_token: str = ""
    stops: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        def raise_exception(message: str) -> None:
            raise TemplateError(message)

        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.filters["tojson"] = _tojson
        env.globals["raise_exception"] = raise_exception
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        self._compiled = env.from_string(self.source)
        self.folds_system = False
        self.call_format = call_format(self.source) if self.name == "gguf" else None  # how its model calls tools

    def _render(self, turns: list[Turn], tools: Sequence[ToolSpec]) -> str:
        extra = {"tools": tools_field(tools)} if tools else {}  # as a server is offered them
        if self.call_format is CallFormat.LLAMA3:
            turns = one_call_a_turn(turns)
        return self._compiled.render(
            messages=template_messages(turns),
            add_generation_prompt=True,
            bos_token=self.bos_token,
            eos_token=self.eos_token,
            **extra,
        )

    def render(self, turns: list[Turn], tools: Sequence[ToolSpec] = ()) -> str:
        """The prompt text; a system turn the template cannot carry is folded into the first user turn.
        Tools are given only to a template that takes them (see template_tools.py)."""
        from jinja2 import TemplateError

        system = [t for t in turns if t.role == Role.SYSTEM and t.content.strip()]
        rest = [t for t in turns if t.role != Role.SYSTEM]
        if not system:
            return self._render(rest, tools)
        if not self.folds_system:
            try:
                text = self._render(system[:1] + rest, tools)
                if system[0].content in text:
                    return text
            except TemplateError:
                pass
            self.folds_system = True  # learnt once per template
        return self._render(fold_system(system[0].content, rest), tools)


def _tojson(value: object, ensure_ascii: bool = False, indent: int | None = None,
            separators: tuple[str, str] | None = None, sort_keys: bool = False) -> str:
    """`tojson` as the templates' authors ran it (Hugging Face's): keys in their order, and plain
    text. Jinja's own sorts keys and returns markup, which turns `'"' + key + '": ' + v|tojson`
    into `&#34;` (Mistral's tool list)."""
    return json.dumps(value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def fold_system(system: str, turns: list[Turn]) -> list[Turn]:
    """Put the system prompt at the head of the first user turn (Mistral's documented practice)."""
    out = list(turns)
    for index, turn in enumerate(out):
        if turn.role == Role.USER:
            out[index] = Turn(Role.USER, f"{system}\n\n{turn.content}")
            return out
    return [Turn(Role.USER, system)] + out


def choose_template(
    wanted: str, gguf_template: str | None, name: str, architecture: str, bos: str, eos: str
) -> ChatTemplate:
    """Pick the template: config choice, else the GGUF's own, else a fallback by name."""
    if wanted == "gguf" or (wanted == "auto" and gguf_template):
        if not gguf_template:
            from mixtral_tui.errors import ModelLoadError

            raise ModelLoadError(
                "this GGUF has no chat template; set model.chat_template to one of "
                f"{', '.join(BUILTIN)} (or 'auto') in the config."
            )
        stops = tuple(s for s in KNOWN_STOPS if s in gguf_template)
        return ChatTemplate("gguf", gguf_template, bos, eos, stops)
    key = fallback_for(name, architecture) if wanted == "auto" else wanted
    source, stops = BUILTIN[key]
    return ChatTemplate(key, source, bos, eos, stops)


class StopScanner:
    """Holds back text that might be the start of a stop string, so none leaks onto the screen."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self.stops = tuple(s for s in stops if s)
        self.pending = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        """Return the text that is safe to show now."""
        self.pending += text
        for stop in self.stops:
            at = self.pending.find(stop)
            if at >= 0:
                self.stopped = True
                out, self.pending = self.pending[:at], ""
                return out
        keep = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(self.pending)), 0, -1):
                if self.pending.endswith(stop[:size]):
                    keep = max(keep, size)
                    break
        cut = len(self.pending) - keep
        out, self.pending = self.pending[:cut], self.pending[cut:]
        return out

    def flush(self) -> str:
        out, self.pending = self.pending, ""
        return out
