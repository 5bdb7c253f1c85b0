import re
from pathlib import Path

import pytest

from mixtral_tui.config import Config, Sampling, load_config, save_config
from mixtral_tui.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_gives_defaults(tmp_path):
    assert load_config(tmp_path / "nope.toml") == Config()


def test_round_trip(tmp_path):
    config = Config()
    config = Config(config.model, config.chat, Sampling(temperature=0.2, top_k=7, max_tokens=99))
    path = tmp_path / "c.toml"
    save_config(config, path)
    assert load_config(path) == config


def test_saving_keeps_the_users_comments_order_and_untouched_keys(tmp_path):
    from dataclasses import replace

    text = (
        "# my notes: this box has 24 GB\n"
        "[sampling]\n"
        "top_k = 7  # found by trial\n"
        "temperature = 0.7\n"
        "\n"
        "[model]\n"
        "# the big one\n"
        "context_size = 8192\n"
    )
    path = write(tmp_path, text)
    config = load_config(path)
    save_config(replace(config, sampling=replace(config.sampling, temperature=0.25)), path)
    assert path.read_text() == text.replace("temperature = 0.7", "temperature = 0.25")

    save_config(replace(config, chat=replace(config.chat, system_prompt="Be brief.")), path)
    saved = path.read_text()
    assert saved.startswith(text.replace("temperature = 0.7", "temperature = 0.7")[:30]) and "# the big one" in saved
    assert load_config(path).chat.system_prompt == "Be brief." and "[chat]" in saved
    assert "gpu_layers" not in saved  # a default the user never wrote stays unwritten


def test_saving_the_same_settings_leaves_the_file_as_it_was(tmp_path):
    path = write(tmp_path, "# hand-made\n[sampling]\ntemperature=0.5\n")
    save_config(load_config(path), path)
    assert path.read_text() == "# hand-made\n[sampling]\ntemperature=0.5\n"


def test_integer_accepted_for_float(tmp_path):
    assert load_config(write(tmp_path, "[sampling]\ntemperature = 1\n")).sampling.temperature == 1.0


def test_unknown_key_names_file_key_and_near_miss(tmp_path):
    path = write(tmp_path, "[sampling]\ntemprature = 0.5\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text and "sampling.temprature" in text and "Did you mean 'temperature'" in text


def test_key_in_wrong_section_suggests_the_right_one(tmp_path):
    with pytest.raises(ConfigError, match=r"Did you mean 'sampling.top_p'"):
        load_config(write(tmp_path, "[model]\ntop_p = 0.5\n"))


def test_unknown_section(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown section \[sampeling\].*Did you mean 'sampling'"):
        load_config(write(tmp_path, "[sampeling]\ntop_p = 0.5\n"))


def test_wrong_type_says_what_was_expected(tmp_path):
    with pytest.raises(ConfigError, match=r"'model.context_size' must be an integer, got 'big'"):
        load_config(write(tmp_path, '[model]\ncontext_size = "big"\n'))


def test_context_size_must_be_multiple_of_256(tmp_path):
    with pytest.raises(ConfigError, match=r"multiple of 256.*try 4096"):
        load_config(write(tmp_path, "[model]\ncontext_size = 4000\n"))


def test_out_of_range(tmp_path):
    with pytest.raises(ConfigError, match=r"'sampling.top_p' must be between 0.0 and 1.0"):
        load_config(write(tmp_path, "[sampling]\ntop_p = 3\n"))


def test_corrupt_toml(tmp_path):
    path = write(tmp_path, "[sampling\ntemperature = = 1\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_unknown_template_name(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'chatml'"):
        load_config(write(tmp_path, '[model]\nchat_template = "chatm"\n'))


def test_sampling_overrides_merge():
    merged = Sampling().merged({"temperature": 0.0, "bogus": 1, "top_k": None})
    assert merged.temperature == 0.0 and merged.top_k == Sampling().top_k


def test_the_first_save_writes_only_what_differs_from_the_defaults(tmp_path):
    """The first F3 save wrote every key, `path = ""` and all the defaults: a later release's
    default would never reach the user. A file that was not TOML is written the same way."""
    from dataclasses import replace

    path = tmp_path / "config.toml"
    config = Config()
    save_config(replace(config, sampling=replace(config.sampling, temperature=0.3)), path)
    assert path.read_text() == "[sampling]\ntemperature = 0.3\n"
    path.write_text("[broken\n")
    save_config(replace(config, chat=replace(config.chat, system_prompt="Be brief.")), path)
    assert path.read_text() == '[chat]\nsystem_prompt = "Be brief."\n'


def test_tools_allow_is_read_checked_and_an_added_pattern_saved_beside_the_users_comments(tmp_path):
    from dataclasses import replace

    path = write(tmp_path, '# mine\n[tools]\nallow = ["time_*"]  # the clock is harmless\nmax_rounds = 3\n')
    config = load_config(path)
    assert config.tools.allow == ("time_*",) and config.tools.max_rounds == 3 and config.tools.timeout == 60.0
    save_config(replace(config, tools=replace(config.tools, allow=(*config.tools.allow, "git_git_log"))), path)
    text = path.read_text()
    assert "# mine" in text and 'allow = ["time_*", "git_git_log"]' in text and "max_rounds = 3" in text
    assert load_config(path).tools.allow == ("time_*", "git_git_log")


@pytest.mark.parametrize(("text", "says"), [
    ('[tools]\nallow = "time_*"', "must be a list of tool names or patterns"),
    ('[tools]\nallow = ["rm -rf"]', "'rm -rf', which is not a tool name or pattern"),
    ('[tools]\nmax_rounds = 0', "'tools.max_rounds' must be between 1 and 100"),
    ('[tools]\ntimout = 5', "Did you mean 'timeout'?"),
])
def test_a_bad_tools_setting_says_what_is_wrong(tmp_path, text, says):
    with pytest.raises(ConfigError, match=re.escape(says)):
        load_config(write(tmp_path, text))
