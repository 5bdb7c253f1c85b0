"""`mixtral-tui tools`, and the tools of `ask`: what mcp.json's servers offer, and which calls a
run without a terminal may make (`--allow-tool`, `[tools] allow`; any other is refused, and
stderr says which and what would allow it)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from mixtral_tui.config import Config
from mixtral_tui.engine.base import ModelInfo, ToolCall
from mixtral_tui.errors import ConfigError, UserError
from mixtral_tui.paths import AppPaths, app_paths
from mixtral_tui.tools.allow import AllowRules, check_pattern
from mixtral_tui.tools.hub import ServerStatus, ToolHub
from mixtral_tui.tools.mcp_config import load_mcp_servers, mcp_file

if TYPE_CHECKING:
    from mixtral_tui.chat.tool_rounds import ToolUse

STATE_WORDS = {"ready": "started", "failed": "did not start", "off": "off", "starting": "still starting"}


def open_hub(paths: AppPaths) -> ToolHub | None:
    """The hub of mcp.json's servers, started (None: no file, or no servers in it). A broken
    mcp.json raises ConfigError naming the file and the place."""
    servers = load_mcp_servers(mcp_file(paths.config_dir))
    if not servers:
        return None
    hub = ToolHub(servers, paths.log_dir)
    hub.start()
    return hub


def tools_command(args: argparse.Namespace) -> int:
    paths = app_paths()
    where = mcp_file(paths.config_dir)
    hub = open_hub(paths)
    if hub is None:
        print(f"no MCP servers: {where} is {'empty' if where.exists() else 'not there'}. Write one in the "
              "mcpServers format Claude Desktop and Cursor use; the README's \"Tools (MCP)\" shows how.")
        return 0
    try:
        hub.wait_started()
        statuses = hub.statuses()
        print(f"MCP servers in {where}:")
        for status in statuses:
            print(server_line(status))
            for tool in status.tools:
                print(f"    {tool.name:<32} {tool.summary}")
        failed = [s for s in statuses if s.state == "failed"]
        print(f"logs of their stderr: {paths.log_dir}/mcp-NAME.log")
        said = model_line(paths)
        if said:
            print(said)
        return 1 if failed and len(failed) == len(statuses) else 0
    finally:
        hub.close()


def model_line(paths: AppPaths) -> str:
    """Whether the model config.toml names takes tools, read from its GGUF's template (nothing is
    loaded); "" when the config names none, or names a model that cannot be read."""
    from mixtral_tui.config import load_config
    from mixtral_tui.engine.template_tools import call_format, why_no_tools
    from mixtral_tui.models.gguf_info import read_info

    try:
        model = load_config(paths.config_file).model
        info = read_info(model.path) if model.path else None
    except (ConfigError, ValueError, OSError):
        return ""
    if info is None:
        return ""
    name = info.name or model.path.rsplit("/", 1)[-1]
    if model.chat_template not in ("auto", "gguf"):
        return (f"the model in config.toml ({name}) is offered no tools: [model] chat_template = "
                f"\"{model.chat_template}\" replaces its own template, and only its own knows how it calls tools")
    form = call_format(info.chat_template or "")
    if form is not None:
        return f"the model in config.toml ({name}) takes tools: its calls are read in the {form} form"
    return f"the model in config.toml ({name}) is offered no tools: {why_no_tools(info.chat_template or '', name)}"


def server_line(status: ServerStatus) -> str:
    head = f"  {status.name} ({status.shown}): {STATE_WORDS.get(status.state, status.state)}"
    if status.state == "ready":
        head += f", {len(status.tools)} tool{'s' if len(status.tools) != 1 else ''}"
    return head + (f" - {status.why}" if status.why else "")


def rules_for_ask(config: Config, allowed: list[str] | None) -> AllowRules:
    """`[tools] allow` and each `--allow-tool` (checked: a typo is an error, not a silent refusal)."""
    patterns = list(config.tools.allow)
    for pattern in allowed or []:
        try:
            patterns.append(check_pattern(pattern, "--allow-tool"))
        except ValueError as exc:
            raise UserError(str(exc)) from None
    return AllowRules(tuple(patterns))


def ask_tools(args: argparse.Namespace, config: Config, paths: AppPaths) -> ToolUse | None:
    """The ToolUse of one `ask` (None: `--no-tools`, or no servers), its hub started."""
    from mixtral_tui.chat.tool_rounds import ToolUse

    if args.no_tools:
        return None
    try:
        hub = open_hub(paths)
    except ConfigError as exc:
        print(f"mixtral-tui: {exc} This question is answered without tools.", file=sys.stderr)
        return None
    if hub is None:
        return None
    hub.wait_started()
    for status in hub.statuses():
        if status.state == "failed":
            print(f"mixtral-tui: the MCP server {status.name!r} did not start: {status.why}", file=sys.stderr)
    return ToolUse(hub, config.tools, rules_for_ask(config, args.allow_tool), approve=None,
                   on_refused=say_refused, on_note=lambda text: print(f"mixtral-tui: {text}", file=sys.stderr))


def say_refused(call: ToolCall, pattern: str) -> None:
    shown = call.arguments if len(call.arguments) <= 200 else call.arguments[:200] + "…"
    print(f"mixtral-tui: refused the call {call.name}({shown}): no rule allows it, and there is no one to ask. "
          f"--allow-tool {pattern} allows it (or [tools] allow in config.toml).", file=sys.stderr)


def note_no_tools(info: ModelInfo | None, tools: ToolUse | None) -> None:
    """Tools set up, but the model takes none: say so once, with which models can."""
    if tools is not None and info is not None and info.no_tools:
        print(f"mixtral-tui: tools are not offered: {info.no_tools}", file=sys.stderr)
