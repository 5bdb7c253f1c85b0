"""Choosing llama.cpp's own server as the engine, before any server runs: the config, the command
line, and what is said when there is no binary, it cannot run, or it is too old."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from mixtral_tui.config import ConfigError, LlamaServerSettings, parse_config
from mixtral_tui.engine.base import LoadSpec
from mixtral_tui.engine.native_server.binary import ServerBinary, find_binary
from mixtral_tui.engine.native_server.engine import server_args
from mixtral_tui.errors import ModelLoadError
from mixtral_tui.models.gguf_info import GgufInfo


def test_the_config_takes_the_engine_and_its_section():
    config = parse_config({"model": {"engine": "llama-server"},
                           "llama_server": {"path": "~/bin/llama-server", "args": ["--mlock"], "parallel": 2,
                                            "speculative": "ngram"}}, "config.toml")
    assert config.model.engine == "llama-server"
    assert config.llama_server == LlamaServerSettings("~/bin/llama-server", ("--mlock",), 2, "ngram")
    assert LoadSpec.from_config(config).llama_server.parallel == 2
    with pytest.raises(ConfigError, match=r"'llama_server\.args' must be a list of strings"):
        parse_config({"llama_server": {"args": "--mlock"}}, "config.toml")
    with pytest.raises(ConfigError, match="Did you mean 'parallel'"):
        parse_config({"llama_server": {"paralel": 2}}, "config.toml")


def test_a_config_naming_the_retired_in_app_engine_loads_as_separate_with_a_note(tmp_path):
    from mixtral_tui.config import Config, ModelSettings, load_config, save_config

    path = tmp_path / "config.toml"
    path.write_text('# mine\n[model]\nengine = "in-app"  # faster, I thought\ncontext_size = 8192\n')
    config = load_config(path)
    assert config.model.engine == "separate" and config.model.context_size == 8192
    [note] = config.notes
    assert f'[model] engine = "in-app" in {path}' in note and "retired" in note and '"llama-server"' in note
    assert config == parse_config({"model": {"context_size": 8192}}, "x")  # notes are not settings
    save_config(config, path)  # saved from the settings screen: the line says what it means now
    text = path.read_text()
    assert 'engine = "separate"' in text and "# mine" in text and "context_size = 8192" in text
    assert load_config(path).notes == ()
    with pytest.raises(ConfigError, match="must be one of separate, llama-server"):
        parse_config({"model": {"engine": "inapp"}}, "config.toml")
    assert save_config(Config(model=ModelSettings(engine="llama-server")), tmp_path / "new.toml") is None
    assert load_config(tmp_path / "new.toml").model.engine == "llama-server"


def test_no_binary_says_both_ways_where_builds_are_and_the_default_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ModelLoadError) as missing:
        find_binary("")
    words = str(missing.value)
    assert "set [llama_server] path in config.toml, or put llama-server on PATH" in words
    assert "github.com/ggml-org/llama.cpp/releases" in words and "brew install llama.cpp" in words
    assert 'engine = "separate"' in words
    with pytest.raises(ModelLoadError, match="there is no file there"):
        find_binary(str(tmp_path / "nope"))
    script = tmp_path / "llama-server"
    script.write_text("#!/bin/sh\necho 'version: 1 (old)'\necho '  --port PORT'\n")
    with pytest.raises(ModelLoadError, match="is not executable: chmod"):
        find_binary(str(script))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(ModelLoadError) as old:
        find_binary(str(script))
    assert "(version: 1 (old)) is too old: it lacks --api-key-file, --no-webui, --jinja, --parallel" in str(old.value)


def test_the_command_line_carries_the_plan_and_the_settings(tmp_path):
    binary = ServerBinary("/opt/llama/llama-server", "version: 1", "--n-cpu-moe N\n--spec-type TYPE\n")
    header = GgufInfo(Path("m.gguf"), 1, "llama", expert_count=8)
    spec = LoadSpec("m.gguf", context_size=8192, kv_cache_type="q8_0",
                    llama_server=LlamaServerSettings(args=("--mlock",), speculative="ngram"))
    args = server_args(spec, header, binary, gpu_layers=-1, cpu_moe=4, parallel=2)
    assert args[:4] == ["-m", "m.gguf", "-c", "8192"]
    joined = " ".join(args)
    assert "-ngl 999 --parallel 2 --jinja --no-webui --n-cpu-moe 4" in joined
    assert "--cache-type-k q8_0 --cache-type-v q8_0 --flash-attn on" in joined
    assert "--spec-type ngram-cache" in joined and args[-1] == "--mlock"
    assert "--api-key" not in joined  # the key goes by file, added by the process (never in `ps`)
    assert binary.run_env()["LD_LIBRARY_PATH"].split(os.pathsep)[0] == "/opt/llama"


def test_a_draft_model_is_passed_with_the_spec_type_newer_builds_need_and_a_missing_one_is_refused(tmp_path):
    header = GgufInfo(Path("m.gguf"), 1, "llama", chat_template="{{ messages }}")
    draft = tmp_path / "draft.gguf"
    draft.write_bytes(b"GGUF")
    spec = LoadSpec("m.gguf", llama_server=LlamaServerSettings(speculative=str(draft)))
    newer = ServerBinary("llama-server", "version: 2", "--spec-type none,draft-simple,ngram-cache\n--model-draft F\n")
    older = ServerBinary("llama-server", "version: 1", "--model-draft F\n")
    assert " ".join(server_args(spec, header, newer, -1, 0, 1)).endswith(f"--model-draft {draft} --spec-type draft-simple")
    assert " ".join(server_args(spec, header, older, -1, 0, 1)).endswith(f"--model-draft {draft}")  # drafts by itself
    gone = LoadSpec("m.gguf", llama_server=LlamaServerSettings(speculative=str(tmp_path / "none.gguf")))
    with pytest.raises(ModelLoadError, match=r"speculative is .*none\.gguf, and there is no file there.*\"ngram\""):
        server_args(gone, header, newer, -1, 0, 1)


def test_a_gguf_without_a_template_gets_the_apps_fallback_and_a_chosen_one_is_passed():
    from mixtral_tui.engine.templates import BUILTIN

    binary = ServerBinary("llama-server", "version: 2", "")
    gemma = GgufInfo(Path("gemma-3-270m.gguf"), 1, "gemma3", name="Gemma 3 270m")
    args = server_args(LoadSpec("gemma-3-270m.gguf"), gemma, binary, -1, 0, 1)
    assert args[args.index("--chat-template") + 1] == BUILTIN["gemma"][0]  # not llama-server's ChatML
    own = GgufInfo(Path("m.gguf"), 1, "llama", chat_template="{{ messages }}")
    assert "--chat-template" not in server_args(LoadSpec("m.gguf"), own, binary, -1, 0, 1)
    chosen = server_args(LoadSpec("m.gguf", chat_template="chatml"), own, binary, -1, 0, 1)
    assert chosen[chosen.index("--chat-template") + 1] == BUILTIN["chatml"][0]
