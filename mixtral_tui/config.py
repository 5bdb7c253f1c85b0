"""Typed settings, read from and written to a TOML file.

Errors name the file, the key and what was expected, with a "did you mean"
for near-miss keys, so a typo is fixed in seconds and never reaches the TUI.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from mixtral_tui.errors import ConfigError
from mixtral_tui.server_config import ServerSettings, parse_servers

OFFLOAD_MODES = ("auto", "manual")
ENGINE_MODES = ("separate", "llama-server")
RETIRED_ENGINES = {"in-app": "separate"}
"""Engines a config or --engine may still name, and the one each now means (`retired_engine_note` says why)."""
KV_CACHE_TYPES = ("f16", "q8_0", "q4_0")
CHAT_TEMPLATES = ("auto", "gguf", "chatml", "mistral", "gemma", "llama3", "llama2", "zephyr")
CHOICES = {
    "model.chat_template": CHAT_TEMPLATES,
    "model.offload": OFFLOAD_MODES,
    "model.kv_cache_type": KV_CACHE_TYPES,
    "model.engine": ENGINE_MODES,
}
"""Settings that take one of a few values: checked here, offered as a list by the settings screen."""


@dataclass(frozen=True)
class Sampling:
    """How the next token is picked. Stored with every reply."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 40
    min_p: float = 0.05
    repeat_penalty: float = 1.1
    max_tokens: int = 2048
    seed: int = -1

    def merged(self, overrides: dict[str, Any] | None) -> Sampling:
        """This sampling with a conversation's overrides on top (unknown keys ignored)."""
        if not overrides:
            return self
        known = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in known and v is not None})


@dataclass(frozen=True)
class ModelSettings:
    path: str = ""
    context_size: int = 4096
    offload: str = "auto"  # auto: the planner decides; manual: gpu_layers and cpu_moe_layers below
    gpu_layers: int = -1
    cpu_moe_layers: int = 0
    kv_cache_type: str = "f16"
    state_cache_mb: int = 1024  # RAM for the KV states of conversations switched away from (0 = off)
    engine: str = "separate"  # separate: llama-cpp-python in a process of its own; llama-server: llama.cpp's own
    chat_template: str = "auto"
    models_dir: str = ""  # downloads go here (Hub layout) instead of the Hugging Face cache; listed too


@dataclass(frozen=True)
class ChatSettings:
    system_prompt: str = "You are a helpful assistant."


TOOL_PATTERN = re.compile(r"^[A-Za-z0-9_*?\[\]-]{1,80}$")
"""A `[tools] allow` entry (and `ask --allow-tool`): a tool's name, or a glob over names."""


@dataclass(frozen=True)
class ToolSettings:
    """[tools]: which calls run without asking, and the limits on a reply's calls (tools/)."""

    allow: tuple[str, ...] = ()  # glob patterns over tools' names (`time_*`); `a` in the app adds one
    max_rounds: int = 8  # model -> tools -> model rounds in one reply
    max_result_chars: int = 20000  # a longer result is cut, and the model told so
    timeout: float = 60.0  # seconds a call may take before it is cancelled


@dataclass(frozen=True)
class LlamaServerSettings:
    """[llama_server]: llama.cpp's own server as the local engine (engine = "llama-server")."""

    path: str = ""  # the binary; "" = llama-server on PATH
    args: tuple[str, ...] = ()  # appended to what the app passes (anything else llama-server takes)
    parallel: int = 0  # slots replying at once; 0 = 4 in `web`, 1 in the terminal
    speculative: str = ""  # "" off; "ngram": llama-server's draftless n-gram speculation; else a draft GGUF


@dataclass(frozen=True)
class Config:
    model: ModelSettings = field(default_factory=ModelSettings)
    chat: ChatSettings = field(default_factory=ChatSettings)
    sampling: Sampling = field(default_factory=Sampling)
    tools: ToolSettings = field(default_factory=ToolSettings)
    llama_server: LlamaServerSettings = field(default_factory=LlamaServerSettings)
    servers: dict[str, ServerSettings] = field(default_factory=dict)  # [servers.NAME] (server_config.py)
    notes: tuple[str, ...] = field(default=(), compare=False)  # said at start: a retired setting, what it now means


_SECTIONS: dict[str, type] = {"model": ModelSettings, "chat": ChatSettings, "sampling": Sampling,
                              "tools": ToolSettings, "llama_server": LlamaServerSettings}

# Range checks: (low, high) inclusive; None = open.
_RANGES: dict[str, tuple[float | None, float | None]] = {
    "model.context_size": (256, 1 << 20),
    "model.gpu_layers": (-1, None),
    "model.cpu_moe_layers": (0, None),
    "model.state_cache_mb": (0, None),
    "sampling.temperature": (0.0, 5.0),
    "sampling.top_p": (0.0, 1.0),
    "sampling.top_k": (0, None),
    "sampling.min_p": (0.0, 1.0),
    "sampling.repeat_penalty": (0.0, 5.0),
    "sampling.max_tokens": (1, None),
    "sampling.seed": (-1, None),
    "tools.max_rounds": (1, 100),
    "tools.max_result_chars": (100, None),
    "tools.timeout": (0.1, None),
    "llama_server.parallel": (0, 64),
}


def _type_name(kind: type) -> str:
    return {int: "an integer", float: "a number", str: "a string"}[kind]


def _did_you_mean(key: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(key, choices, n=1, cutoff=0.6)
    return f" Did you mean '{close[0]}'?" if close else ""


def validate_value(section: str, key: str, value: Any, where: str) -> Any:
    """Check one setting's type and range; return it (ints widen to floats)."""
    name = f"{section}.{key}"
    if name == "tools.allow":
        return _patterns(value, where)
    if name == "llama_server.args":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: 'llama_server.args' must be a list of strings, e.g. [\"--mlock\"].")
        return tuple(value)
    cls = _SECTIONS[section]
    declared = {f.name: f.type for f in fields(cls)}[key]  # "int" (a string, with postponed annotations)
    kind: type = {"int": int, "float": float, "str": str}[str(declared)] if isinstance(declared, str) else declared
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ConfigError(f"{where}: '{name}' must be {_type_name(kind)}, got {value!r}.")
    low, high = _RANGES.get(name, (None, None))
    if isinstance(value, int | float) and ((low is not None and value < low) or (high is not None and value > high)):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ConfigError(f"{where}: '{name}' must be {bounds}, got {value!r}.")
    if name == "model.context_size" and isinstance(value, int) and value % 256:
        nearest = max(256, round(value / 256) * 256)
        raise ConfigError(
            f"{where}: '{name}' must be a multiple of 256 (llama.cpp needs it); try {nearest}."
        )
    if name == "model.engine" and value in RETIRED_ENGINES:
        return RETIRED_ENGINES[value]
    choices = CHOICES.get(name)
    if choices and value not in choices:
        raise ConfigError(
            f"{where}: '{name}' must be one of {', '.join(choices)}; got {value!r}." + _did_you_mean(str(value), list(choices))
        )
    return value


def _patterns(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: 'tools.allow' must be a list of tool names or patterns, e.g. [\"time_*\"].")
    for pattern in value:
        if not TOOL_PATTERN.match(pattern):
            raise ConfigError(f"{where}: 'tools.allow' has {pattern!r}, which is not a tool name or pattern (letters, "
                              "digits, _ - and the globs * ? [ ]), e.g. \"time_*\" or \"git_git_log\".")
    return tuple(value)


def parse_config(data: dict[str, Any], where: str) -> Config:
    """Turn a parsed TOML document into a Config, or raise ConfigError naming the problem."""
    sections: dict[str, Any] = {}
    for section, body in data.items():
        if section == "servers":
            sections["servers"] = parse_servers(body, where)
            continue
        if section not in _SECTIONS:
            raise ConfigError(
                f"{where}: unknown section [{section}]; expected one of "
                f"{', '.join('[' + s + ']' for s in _SECTIONS)}, [servers.NAME].{_did_you_mean(section, [*_SECTIONS, 'servers'])}"
            )
        if not isinstance(body, dict):
            raise ConfigError(f"{where}: '{section}' must be a table ([{section}]).")
        cls = _SECTIONS[section]
        known = [f.name for f in fields(cls)]
        values = {}
        for key, value in body.items():
            if key not in known:
                elsewhere = [f"{s}.{key}" for s, c in _SECTIONS.items() if key in {f.name for f in fields(c)}]
                hint = f" Did you mean '{elsewhere[0]}'?" if elsewhere else _did_you_mean(key, known)
                raise ConfigError(f"{where}: unknown key '{section}.{key}'.{hint}")
            values[key] = validate_value(section, key, value, where)
        sections[section] = cls(**values)
    retired = data.get("model", {}).get("engine")
    notes = (retired_engine_note(retired, f"[model] engine = \"{retired}\" in {where}"),) \
        if isinstance(retired, str) and retired in RETIRED_ENGINES else ()
    return Config(**sections, notes=notes)


def retired_engine_note(engine: str, named: str) -> str:
    """What a retired engine now means, why it went, and how to silence the note."""
    return (f"{named}: the \"{engine}\" engine is retired, and \"{RETIRED_ENGINES[engine]}\" is used. It ran the model "
            "in the app's own process at 0.55× the speed of llama-cpp-python on its own (0.06× on a Mixtral-shaped "
            "MoE): the decode loop and the screen shared one Python. The default, \"separate\", keeps 0.96×; for "
            "llama.cpp's native speed set engine = \"llama-server\". Remove or change the line to silence this note.")


def load_config(path: Path) -> Config:
    """Read the config file; a missing file means defaults."""
    if not path.exists():
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}). Fix the line or delete the file to start over.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read ({exc}).") from None
    return parse_config(data, str(path))


def save_config(config: Config, path: Path) -> None:
    """Write the settings into the user's file, changing only what changed: each key whose value
    differs from what the file meant is set (added where it was absent), every other line, comment
    and blank line stays as the user wrote it. A key the file does not have means its default, so
    a default is never written out (a later release's default still reaches the user; the first
    save wrote every key, `path = ""` among them). A file that is not TOML (or not there) is written
    fresh, with what differs from the defaults. A retired engine is written as the one it now
    means (its note then stops). Atomic: written to a temporary file and moved into place."""
    import tomlkit  # only when saving: it is not needed to start the app
    import tomlkit.exceptions

    before = ""
    try:
        before = path.read_text(encoding="utf-8")
        document = tomlkit.parse(before)
        meant = asdict(parse_config(document.unwrap(), str(path)))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.TOMLKitError, ConfigError):
        document, meant = tomlkit.document(), asdict(Config())
    for section in _SECTIONS:  # [servers.*] are the user's to write: the app never rewrites them
        values = asdict(getattr(config, section))
        for key, value in values.items():
            retired = section == "model" and key == "engine" and \
                document.get("model", {}).get("engine") in RETIRED_ENGINES
            if section in meant and meant[section].get(key) == value and not retired:
                continue
            if section not in document:
                document.add(section, tomlkit.table())
            table = document[section]
            assert isinstance(table, dict), "parse_config has checked each section is a table"
            table[key] = list(value) if isinstance(value, tuple) else value
    text = tomlkit.dumps(document)
    if text == before:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
