"""mcp.json as other clients write it, `${VAR}` expansion, the faults said with the file and the
place; tools' names for the model; the allow rules."""

from __future__ import annotations

import json

import pytest

from mixtral_tui.errors import ConfigError
from mixtral_tui.tools.allow import AllowRules, check_pattern
from mixtral_tui.tools.mcp_config import load_mcp_servers
from mixtral_tui.tools.names import MAX_NAME, model_names

CLAUDE_DESKTOP = {"mcpServers": {
    "time": {"command": "mcp-server-time", "args": ["--local-timezone", "UTC"], "env": {"TOKEN": "${MY_TOKEN}"}},
    "docs": {"url": "https://example.org/mcp", "headers": {"Authorization": "Bearer ${DOCS_KEY}"}},
    "git": {"command": "uvx", "args": ["mcp-server-git", "--repository", "${REPO:-.}"], "disabled": True},
}}


def write(tmp_path, data) -> object:
    path = tmp_path / "mcp.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data, indent=2))
    return path


def test_the_file_other_clients_write_is_read_and_its_variables_expanded(tmp_path):
    env = {"MY_TOKEN": "t0k3n", "DOCS_KEY": "s3cret"}
    time, docs, git = load_mcp_servers(write(tmp_path, CLAUDE_DESKTOP), env)
    assert (time.transport, time.command, time.args, time.env) == ("stdio", "mcp-server-time", ("--local-timezone", "UTC"),
                                                                   {"TOKEN": "t0k3n"})
    assert (docs.transport, docs.url, docs.headers) == ("http", "https://example.org/mcp", {"Authorization": "Bearer s3cret"})
    assert git.args[-1] == "." and git.disabled  # the default, where REPO is not set
    assert time.secrets == ("t0k3n",) and docs.secrets == ("s3cret",)  # what the app must never write
    assert "t0k3n" not in time.shown and "s3cret" not in docs.shown
    assert load_mcp_servers(tmp_path / "none.json") == []  # no file: no tools, no fault


@pytest.mark.parametrize("text, phrase", [
    ('{"mcpServers": {"time": {"command": "x",}}}', "line 1 column 41: not valid JSON"),
    ({"mcpServers": {"time": {"comand": "x"}}}, "mcpServers.time: unknown field 'comand'. Did you mean 'command'?"),
    ({"mcpServers": {"time": {"command": "x", "env": {"K": "${NOT_SET}"}}}}, "mcpServers.time.env.K: ${NOT_SET} is not set"),
    ({"mcpServers": {"time": {"command": "x", "url": "http://h/mcp"}}}, "not both"),
    ({"mcpServers": {"time": {"args": []}}}, "not neither"),
    ({"mcpServers": {"t i": {"command": "x"}}}, "letters, digits"),
    ({"mcpServers": {"docs": {"url": "ftp://h"}}}, "http:// or https://"),
    ({"mcpServers": {"time": {"command": ["x"]}}}, "mcpServers.time.command: expected a string"),
    ({"servers": {}}, "unknown top-level key 'servers'"),
])
def test_a_bad_file_says_the_file_and_the_place(tmp_path, text, phrase):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        load_mcp_servers(path, {})
    assert str(path) in str(raised.value) and phrase in str(raised.value)


def test_tools_are_named_after_their_server_and_never_shadow_each_other():
    named = model_names([("time", "get_current_time"), ("a_b", "c"), ("a", "b_c"), ("web", "fetch.page"),
                         ("x" * 40, "y" * 40)])
    assert named["time_get_current_time"] == ("time", "get_current_time")
    assert "web_fetch_page" in named
    assert len(named) == 5 and "a_b_c" not in named  # both told apart by a hash, neither takes the name
    assert sorted(v for k, v in named.items() if k.startswith("a_b_c_")) == [("a", "b_c"), ("a_b", "c")]
    assert all(len(name) <= MAX_NAME for name in named)


def test_allow_rules_are_globs_over_the_tools_names():
    rules = AllowRules(("time_*", "git_git_log"))
    assert rules.allows("time_get_current_time") == "time_*"
    assert rules.allows("git_git_log") == "git_git_log" and rules.allows("git_git_commit") is None
    assert rules.allows("Time_get") is None  # case matters
    assert rules.with_pattern("docs_*").allows("docs_search") == "docs_*"
    with pytest.raises(ValueError, match="not a tool pattern"):
        check_pattern("time *; rm", "[tools] allow")
