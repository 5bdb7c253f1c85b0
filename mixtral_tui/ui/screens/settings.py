"""F3: app settings (the config file); F4: one conversation's system prompt and sampling.

Values are checked with the same rules as the config file, so the form
cannot save something the next start would reject.
"""

from __future__ import annotations

from dataclasses import asdict, fields, replace
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from mixtral_tui.config import CHOICES, ChatSettings, Config, ModelSettings, Sampling, validate_value
from mixtral_tui.errors import ConfigError
from mixtral_tui.ui.widgets.key_footer import KeyFooter

HELP = {
    "model.path": "GGUF file to load at start",
    "model.context_size": "tokens; a multiple of 256",
    "model.offload": "auto = planned for this machine; manual = the two numbers below",
    "model.gpu_layers": "manual: -1 = all, 0 = CPU only",
    "model.cpu_moe_layers": "manual, MoE: keep the experts of the first N layers in RAM",
    "model.kv_cache_type": "q8_0 halves the KV cache (uses flash attention)",
    "model.state_cache_mb": "RAM that keeps other conversations' context ready (0 = off)",
    "model.chat_template": "auto = the GGUF's own, else a fallback",
    "model.engine": "separate = its own process (a crash leaves the app running); llama-server = llama.cpp's own",
    "model.models_dir": "downloads go here instead of the Hugging Face cache; its .gguf files are listed",
    "sampling.temperature": "0 = always the likeliest token",
    "sampling.max_tokens": "longest reply",
    "sampling.seed": "-1 = random",
}


FORM_CSS = """
{name} {{ align: center middle; }}
{name} > VerticalScroll {{
    width: 90; max-width: 100%; height: 1fr; border: round $primary; background: $surface; padding: 0 1;
}}
{name} .section {{ text-style: bold; margin-top: 1; color: $primary; }}
{name} .field {{ height: auto; }}
{name} .field Label {{ width: 22; padding: 1 1 0 0; }}
{name} .field Input, {name} .field Select {{ width: 1fr; }}
{name} .hint {{ color: $text-muted; padding: 0 0 0 22; }}
{name} TextArea {{ height: 6; }}
{name} .field-error {{ color: $text-error; text-style: bold; padding: 0 0 0 22; display: none; }}
{name} .field-error.-shown {{ display: block; }}
{name} .buttons {{ height: auto; align-horizontal: right; margin: 1 0; }}
{name} Button {{ margin-left: 1; }}
"""


def _field(section: str, key: str, value: Any, placeholder: str = "") -> ComposeResult:
    name = f"{section}.{key}"
    with Horizontal(classes="field"):
        yield Label(key.replace("_", " "))
        if name in CHOICES:
            yield Select([(t, t) for t in CHOICES[name]], value=value, allow_blank=False, id=name.replace(".", "-"))
        else:
            yield Input("" if value is None else str(value), placeholder=placeholder, id=name.replace(".", "-"))
    if name in HELP:
        yield Static(HELP[name], classes="hint")
    yield Static("", classes="field-error", id=f"error-{name.replace('.', '-')}")


def _parse(section: str, key: str, raw: str) -> Any:
    kind = {f.name: f.type for f in fields({"model": ModelSettings, "sampling": Sampling, "chat": ChatSettings}[section])}[key]
    text = raw.strip()
    if kind in ("int", int):
        try:
            value: Any = int(text)
        except ValueError:
            raise ConfigError(f"'{section}.{key}' must be a whole number, got {text!r}.") from None
    elif kind in ("float", float):
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"'{section}.{key}' must be a number, got {text!r}.") from None
    else:
        value = raw
    return validate_value(section, key, value, "Settings")


class FormScreen(ModalScreen):
    """A form with Cancel (Esc) and Save (Ctrl+S), both in its footer too; subclasses define
    action_save. It opens with its first field focused (what the user types at once lands there),
    and a value Save refuses is shown under its field, scrolled into view, the field focused."""

    BINDINGS = [Binding("ctrl+s", "save", "Save"), Binding("escape", "cancel", "Cancel")]

    def footer(self) -> ComposeResult:
        with Horizontal(classes="buttons"):
            yield Button("Cancel (Esc)", id="cancel")
            yield Button("Save (Ctrl+S)", id="save", variant="primary")

    def compose_footer(self) -> ComposeResult:
        yield KeyFooter(only=frozenset({"save", "cancel"}))

    def on_mount(self) -> None:
        first = self.query("Input, TextArea, Select").first()
        first.focus(scroll_visible=False)

    def show_error(self, field: str, text: str) -> None:
        """`field` is `section.key`: the message goes under that field, and the field takes focus."""
        for shown in self.query(".field-error.-shown"):
            shown.remove_class("-shown")
        error = self.query_one(f"#error-{field.replace('.', '-')}", Static)
        error.update(Content(text))
        error.add_class("-shown")
        widget = self.query_one(f"#{field.replace('.', '-')}")
        widget.focus(scroll_visible=False)
        self.call_after_refresh(error.scroll_visible, animate=False)

    def action_save(self) -> None:
        raise NotImplementedError

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_save() if event.button.id == "save" else self.action_cancel()

    def action_cancel(self) -> None:
        self.dismiss(None)


class SettingsScreen(FormScreen):
    """Edit the whole config; dismisses with the new Config (already validated) or None."""
    DEFAULT_CSS = FORM_CSS.format(name="SettingsScreen")

    def __init__(self, config: Config, config_path: str) -> None:
        super().__init__()
        self.config = config
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content(f"Settings — saved to {self.config_path}"), classes="section")
            yield Static("Model", classes="section")
            for key, value in asdict(self.config.model).items():
                yield from _field("model", key, value)
            yield Static("Chat", classes="section")
            yield Label("system prompt (default for new messages)")
            yield TextArea(self.config.chat.system_prompt, id="chat-system_prompt", soft_wrap=True)
            yield Static("Sampling", classes="section")
            for key, value in asdict(self.config.sampling).items():
                yield from _field("sampling", key, value)
            yield from self.footer()
        yield from self.compose_footer()

    def action_save(self) -> None:
        model: dict[str, Any] = {}
        sampling: dict[str, Any] = {}
        for section, values, keys in (("model", model, asdict(self.config.model)),
                                      ("sampling", sampling, asdict(self.config.sampling))):
            for key in keys:
                name = f"{section}.{key}"
                try:
                    values[key] = (self.query_one(f"#{section}-{key}", Select).value if name in CHOICES
                                   else _parse(section, key, self.query_one(f"#{section}-{key}", Input).value))
                except ConfigError as exc:
                    self.show_error(name, str(exc))
                    return
        system_prompt = self.query_one("#chat-system_prompt", TextArea).text
        self.dismiss(replace(self.config, model=ModelSettings(**model), chat=ChatSettings(system_prompt),
                             sampling=Sampling(**sampling)))


class ConversationSettingsScreen(FormScreen):
    """This conversation's system prompt and sampling; empty fields use the app settings."""
    DEFAULT_CSS = FORM_CSS.format(name="ConversationSettingsScreen")

    def __init__(self, title: str, system_prompt: str | None, overrides: dict[str, Any], defaults: Config) -> None:
        super().__init__()
        self.heading = title
        self.system_prompt = system_prompt
        self.overrides = overrides
        self.defaults = defaults

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Content(f"Settings for “{self.heading}” — empty fields use the app settings"), classes="section")
            yield Label("system prompt (empty: the default)")
            area = TextArea(self.system_prompt or "", id="chat-system_prompt", soft_wrap=True)
            area.placeholder = Content(self.defaults.chat.system_prompt)  # plain text: a str is read as markup
            yield area
            yield Static("Sampling", classes="section")
            for key, default in asdict(self.defaults.sampling).items():
                yield from _field("sampling", key, self.overrides.get(key), placeholder=f"default {default}")
            yield from self.footer()
        yield from self.compose_footer()

    def action_save(self) -> None:
        overrides: dict[str, Any] = {}
        for key in asdict(self.defaults.sampling):
            raw = self.query_one(f"#sampling-{key}", Input).value
            try:
                if raw.strip():
                    overrides[key] = _parse("sampling", key, raw)
            except ConfigError as exc:
                self.show_error(f"sampling.{key}", str(exc))
                return
        prompt = self.query_one("#chat-system_prompt", TextArea).text
        self.dismiss((prompt if prompt.strip() else None, overrides))
