"""The app's tools: mcp.json's servers started after the first screen (in a worker, never before
it), a reply's ToolUse whose approver asks the user in the conversation, and `a` (allow always)
kept in config.toml.

The reply's thread asks through a `ToolEvent` and waits on an `AnswerBox` that the request's
keys fill in (ui/widgets/tool_request.py); a stop (Esc) meanwhile refuses the call.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from textual.message import Message

from mixtral_tui.cancel import CancelToken
from mixtral_tui.chat.tool_rounds import CallAsked, Decision, ToolUse
from mixtral_tui.config import save_config
from mixtral_tui.errors import ConfigError
from mixtral_tui.store.history import Message as StoredMessage
from mixtral_tui.tools.allow import AllowRules
from mixtral_tui.tools.hub import ToolHub
from mixtral_tui.tools.mcp_config import load_mcp_servers, mcp_file
from mixtral_tui.ui.keys import key_for

if TYPE_CHECKING:
    from mixtral_tui.ui.app import MixtralApp

START_DELAY = 0.3
"""Seconds after the first screen before the servers start: the screen's own first updates first."""

ANSWER_POLL = 0.05
"""How often a reply waiting for the user's answer looks at its stop request."""


class AnswerBox:
    """The user's answer to one call, from the UI thread to the reply's."""

    def __init__(self) -> None:
        self._answered = threading.Event()
        self.decision = Decision.REFUSE

    def answer(self, decision: Decision) -> None:
        if not self._answered.is_set():
            self.decision = decision
            self._answered.set()

    def wait(self, cancel: CancelToken) -> Decision:
        while not self._answered.wait(ANSWER_POLL):
            if cancel.cancelled:
                return Decision.REFUSE
        return self.decision

    @property
    def answered(self) -> bool:
        return self._answered.is_set()


class ToolEvent(Message):
    """News of a reply's tools: a round ended in calls, a call asked for, a result recorded."""

    def __init__(self, kind: str, conversation_id: int, message: StoredMessage | None = None,
                 asked: CallAsked | None = None, box: AnswerBox | None = None) -> None:
        super().__init__()
        self.kind = kind  # "round" | "ask" | "result"
        self.conversation_id = conversation_id
        self.message = message
        self.asked = asked
        self.box = box


class AppTools:
    """mcp.json's servers for this session (none until started, or without the file)."""

    def __init__(self, app: MixtralApp) -> None:
        self.app = app
        self.hub: ToolHub | None = None
        self.problem = ""  # why there are no tools (a broken mcp.json), said once

    def start(self) -> None:
        """In a worker, once the first screen is drawn: reading mcp.json and starting servers (the
        SDK's import alone takes 0.35 s of a core) never holds it up. No mcp.json: nothing to do."""
        if not mcp_file(self.app.paths.config_dir).exists():
            return
        self.app.set_timer(START_DELAY, lambda: self.app.run_worker(self._start, thread=True, group="tools",
                                                                     exit_on_error=False))

    def _start(self) -> None:
        app = self.app
        try:
            servers = load_mcp_servers(mcp_file(app.paths.config_dir))
        except ConfigError as exc:
            self.problem = str(exc)
            app.call_from_thread(app.notify, f"{exc} The app runs without tools.", title="Tools",
                                 severity="warning", timeout=15)
            return
        if not servers:
            return
        hub = ToolHub(servers, app.paths.log_dir, log=lambda server, line: app.log_router.write(
            f"mcp {server}: {line}\n", 2))
        hub.start()
        self.hub = hub
        hub.wait_started()
        failed = [s for s in hub.statuses() if s.state == "failed"]
        if failed:
            said = "; ".join(f"{s.name}: {s.why}" for s in failed)
            app.call_from_thread(app.notify, f"MCP server(s) that did not start: {said}. {key_for('show_tools')} shows "
                                 "the tools.", title="Tools", severity="warning", timeout=12)

    def use(self, conversation_id: int, cancel: CancelToken) -> ToolUse | None:
        """What a reply in this conversation may do with tools (None: no servers)."""
        hub = self.hub
        if hub is None:
            return None
        app = self.app

        def approve(asked: CallAsked) -> Decision:
            box = AnswerBox()
            app.post_message(ToolEvent("ask", conversation_id, asked=asked, box=box))
            return box.wait(cancel)

        def result(message: StoredMessage) -> None:
            app.post_message(ToolEvent("result", conversation_id, message=message))

        def note(text: str) -> None:
            app.call_from_thread(app.notify, text[0].upper() + text[1:] + ".", title="Tools", severity="warning")

        return ToolUse(hub, app.config.tools, AllowRules(app.config.tools.allow), approve=approve,
                       on_always=lambda pattern: app.call_from_thread(self.allow_always, pattern),
                       on_result=result, on_note=note)

    def allow_always(self, pattern: str) -> None:
        """`a`: the tool's calls run without asking from now on, kept in config.toml."""
        app = self.app
        tools = app.config.tools
        if pattern in tools.allow:
            return
        app.config = replace(app.config, tools=replace(tools, allow=(*tools.allow, pattern)))
        try:
            save_config(app.config, app.paths.config_file)
        except OSError as exc:
            app.notify(f"{pattern} is allowed for this session, but config.toml could not be written ({exc}).",
                       severity="warning")
            return
        app.notify(f"{pattern} is allowed from now on: [tools] allow in {app.paths.config_file}.", title="Tools")

    def show(self) -> None:
        """F10: the Tools screen."""
        from mixtral_tui.ui.screens.tools import ToolsScreen

        info = self.app.model_info
        self.app.push_screen(ToolsScreen(self.hub, str(mcp_file(self.app.paths.config_dir)),
                                         info.no_tools if info is not None else "", self.problem))

    def close(self) -> None:
        if self.hub is not None:
            self.hub.close()
            self.hub = None
