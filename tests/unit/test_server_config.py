"""[servers.NAME] in the config, the built-in servers, and --server NAME_OR_URL."""

from __future__ import annotations

import pytest

from mixtral_tui.config import load_config
from mixtral_tui.errors import ConfigError, UserError
from mixtral_tui.server_config import server_for


def config_with(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return load_config(path)


def test_a_configured_server_with_its_key_variable_headers_and_timeouts(tmp_path):
    config = config_with(tmp_path, """
[servers.gpu-box]
url = "http://10.0.0.5:8080/v1/"
api_key_env = "GPU_BOX_KEY"
model = "mixtral"
headers = { "X-Team" = "nlp" }
read_timeout = 300
""")
    box = config.servers["gpu-box"]
    assert box.url == "http://10.0.0.5:8080/v1" and box.api_key_env == "GPU_BOX_KEY" and box.model == "mixtral"
    assert box.headers == (("X-Team", "nlp"),) and box.read_timeout == 300.0 and box.label == "gpu-box"


def test_the_built_ins_and_a_config_table_that_changes_one(tmp_path):
    config = config_with(tmp_path, '[servers.mistral]\nmodel = "open-mixtral-8x7b"\n')
    mistral = server_for("mistral", config.servers)
    assert mistral.url == "https://api.mistral.ai/v1" and mistral.api_key_env == "MISTRAL_API_KEY"
    assert mistral.model == "open-mixtral-8x7b" and mistral.kind == "mistral"
    assert server_for("openai", {}).api_key_env == "OPENAI_API_KEY"


def test_a_url_on_the_command_line_gets_no_key_unless_one_is_named():
    assert server_for("http://127.0.0.1:8080/v1", {}).api_key_env == ""
    assert server_for("http://127.0.0.1:8080/v1", {}, api_key_env="MY_KEY").api_key_env == "MY_KEY"
    with pytest.raises(UserError, match=r"no server named 'gpu'.*mistral, openai"):
        server_for("gpu", {})
    with pytest.raises(UserError, match="must start with http"):
        server_for("ftp://x/v1", {})


@pytest.mark.parametrize("text, phrase", [
    ('[servers.a]\nmodel = "m"\n', "needs url"),
    ('[servers.a]\nurl = "http://h/v1"\napi_key = "sk-123"\n', "keys are not kept in the config"),
    ('[servers.a]\nurl = "http://h/v1"\nread_timeout = 0\n', "more than 0 seconds"),
    ('[servers.a]\nurl = "http://h/v1"\ntimeout = 5\n', "unknown key 'timeout'"),
    ('[servers.a]\nurl = "h:8080"\n', "must start with http"),
    ('[servers]\na = 1\n', "must be a table"),
])
def test_mistakes_name_the_server_and_the_key(tmp_path, text, phrase):
    with pytest.raises(ConfigError, match=phrase):
        config_with(tmp_path, text)


def test_saving_settings_leaves_the_servers_as_the_user_wrote_them(tmp_path):
    from dataclasses import replace

    from mixtral_tui.config import save_config

    text = '[servers.box]\nurl = "http://10.0.0.5:8080/v1"  # the lab machine\n'
    path = tmp_path / "config.toml"
    path.write_text(text)
    config = load_config(path)
    save_config(replace(config, sampling=replace(config.sampling, temperature=0.1)), path)
    saved = path.read_text()
    assert saved.startswith(text) and "temperature = 0.1" in saved
    assert load_config(path).servers["box"].url == "http://10.0.0.5:8080/v1"


def test_a_built_in_server_without_its_key_is_known_before_it_is_asked(monkeypatch):
    from mixtral_tui.server_config import BUILTIN_SERVERS, ServerSettings

    monkeypatch.delenv("MISTRAL_API_KEY", raising=False)
    assert BUILTIN_SERVERS["mistral"].lacks_its_key
    monkeypatch.setenv("MISTRAL_API_KEY", "  ")  # blank is no key
    assert BUILTIN_SERVERS["mistral"].lacks_its_key
    monkeypatch.setenv("MISTRAL_API_KEY", "k")
    assert not BUILTIN_SERVERS["mistral"].lacks_its_key
    assert not ServerSettings("http://lab:8080/v1", "lab", api_key_env="UNSET_VAR").lacks_its_key  # one's own: asked
