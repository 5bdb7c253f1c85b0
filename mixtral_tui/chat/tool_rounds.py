"""A reply that may call tools: model → calls → model, until it answers, each call asked for.

Each round is a reply of its own (chat/reply.py: its text, its figures, the calls it ended with);
each call's result is a `tool` message with the call's id. Between rounds every call is checked
(its tool exists, its arguments are JSON that fits the tool's schema), then allowed by a rule
(`[tools] allow`, `ask --allow-tool`) or by the user (`approve`), or refused; only then does it
run. Without an `approve` (a run with no terminal) what no rule allows is refused: nothing acts
without the user's say. A refused or failed call is answered to the model as such, and it goes on.

Shared by the TUI (its approve waits for a key in the conversation) and `ask`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from mixtral_tui.cancel import CancelToken
from mixtral_tui.chat.reply import ReplyRun
from mixtral_tui.config import Sampling, ToolSettings
from mixtral_tui.engine.base import Chunk, Engine, ToolCall, ToolSpec
from mixtral_tui.store.history import History, Message
from mixtral_tui.tools.allow import AllowRules, pattern_for
from mixtral_tui.tools.arguments import checked_arguments, pretty
from mixtral_tui.tools.hub import ToolCallFailed, ToolHub, ToolInfo
from mixtral_tui.vocabulary import FinishReason, Role, Status


class Decision(StrEnum):
    """What the user said to a call."""

    ONCE = "once"  # y / Enter
    ALWAYS = "always"  # a: this tool from now on (kept in config.toml)
    ALL = "all"  # A: every call of this turn
    REFUSE = "refuse"  # n / Esc


class Outcome(StrEnum):
    """What became of a call, as its result records it."""

    DONE = "done"
    ERROR = "error"  # the tool (or its server) said it failed
    REFUSED = "refused"
    INVALID = "invalid"  # no such tool, or arguments that are not what it takes: not run
    CANCELLED = "cancelled"  # stopped by the user while it ran
    LIMIT = "limit"  # past [tools] max_rounds: not run


@dataclass(frozen=True)
class CallAsked:
    """A call as the user is asked about it: which server, which tool, its arguments shown."""

    call: ToolCall
    tool: ToolInfo
    arguments: dict[str, Any]

    @property
    def shown_arguments(self) -> str:
        return pretty(self.arguments)


Approver = Callable[[CallAsked], Decision]
"""Blocks the reply's thread until the user answers (the TUI: a key in the conversation)."""


@dataclass
class ToolUse:
    """What a reply may do with tools: the hub's tools, the rules, the limits, who says yes."""

    hub: ToolHub
    settings: ToolSettings
    rules: AllowRules = field(default_factory=AllowRules)
    approve: Approver | None = None  # None: no one to ask (headless): refuse what no rule allows
    on_always: Callable[[str], None] = lambda pattern: None  # keep the pattern (config.toml)
    on_refused: Callable[[ToolCall, str], None] = lambda call, pattern: None  # (the call, the pattern that allows it)
    on_result: Callable[[Message], None] = lambda message: None  # a call's result, recorded
    on_note: Callable[[str], None] = lambda text: None  # a limit reached, said to the user

    def specs(self) -> list[ToolSpec]:
        return [ToolSpec(t.name, t.description, t.schema) for t in self.hub.tools()]


@dataclass
class ToolReply:
    """Writes the reply, its rounds of calls included; returns its last message."""

    engine: Engine
    history: History
    conversation_id: int
    sampling: Sampling
    system_prompt: str
    tools: ToolUse | None
    cancel: CancelToken = field(default_factory=CancelToken)
    rounds: list[ReplyRun] = field(default_factory=list)

    def run(self, on_chunk: Callable[[Chunk], None] | None = None, on_start: Callable[[Message], None] | None = None,
            on_asked: Callable[[], None] | None = None, on_calls: Callable[[Message], None] | None = None) -> Message:
        """As ReplyRun.run, for each round; `on_calls`: a round ended in calls (they are answered next)."""
        offered = self._offered()
        limit = self.tools.settings.max_rounds if self.tools else 0
        while True:
            done = len(self.rounds)  # rounds written so far; past the limit, no tools are offered
            run = ReplyRun(self.engine, self.history, self.conversation_id, self.sampling, self.system_prompt,
                           self.cancel, tools=offered if done < limit else ())
            self.rounds.append(run)
            message = run.run(on_chunk, on_start, on_asked)
            if run.stats.finish_reason != FinishReason.TOOL_CALLS or not run.calls or self.cancel.cancelled:
                return message
            assert self.tools is not None, "no calls come when no tools were offered"
            if on_calls:
                on_calls(message)
            if done > limit:  # it went on calling, offered none and told why: the reply ends here
                return message
            if done == limit:
                self.tools.on_note(f"the model called tools in {limit} rounds of this reply, the most [tools] "
                                   "max_rounds allows: its further calls are not run, and it is asked to answer")
            self._answer(run.calls, past_limit=done >= limit)
            if self.cancel.cancelled:
                return message

    def _offered(self) -> list[ToolSpec]:
        info = self.engine.info
        if self.tools is None or (info is not None and info.no_tools):
            return []
        return self.tools.specs()

    def _answer(self, calls: list[ToolCall], past_limit: bool) -> None:
        assert self.tools is not None
        all_allowed = False
        for call in calls:
            if self.cancel.cancelled:  # stopped while an earlier call ran: the rest are not run
                self._record(call, "not run: the user stopped the reply", Outcome.CANCELLED, 0.0)
                continue
            if past_limit:
                limit = self.tools.settings.max_rounds
                self._record(call, f"not run: this reply has called tools in {limit} rounds, the most allowed "
                             "([tools] max_rounds); answer with what you have", Outcome.LIMIT, 0.0)
                continue
            tool = self.tools.hub.tool(call.name)
            if tool is None:
                offered = ", ".join(t.name for t in self.tools.hub.tools()) or "none"
                self._record(call, f"error: there is no tool {call.name!r}; the tools are: {offered}",
                             Outcome.INVALID, 0.0)
                continue
            arguments, problem = checked_arguments(call.arguments, tool.schema)
            if arguments is None:
                self._record(call, f"error: not run: {problem}", Outcome.INVALID, 0.0)
                continue
            if all_allowed:
                allowed_by = "this turn"
            else:
                allowed_by, all_allowed = self._allowed(call, tool, arguments)
            if not allowed_by:
                self._record(call, "not run: the user did not allow this call", Outcome.REFUSED, 0.0)
                continue
            self._run(call, tool, arguments, allowed_by)

    def _allowed(self, call: ToolCall, tool: ToolInfo, arguments: dict[str, Any]) -> tuple[str, bool]:
        """(who allowed the call, "" for nobody: a rule, the user once, always, or this turn; whether
        the rest of the turn's calls are allowed with it)."""
        assert self.tools is not None
        rule = self.tools.rules.allows(call.name)
        if rule is not None:
            return f"rule {rule}", False
        if self.tools.approve is None:
            self.tools.on_refused(call, pattern_for(call.name))
            return "", False
        decision = self.tools.approve(CallAsked(call, tool, arguments))
        if decision == Decision.ALWAYS:
            pattern = pattern_for(call.name)
            self.tools.rules = self.tools.rules.with_pattern(pattern)
            self.tools.on_always(pattern)
            return "always", False
        if decision == Decision.ALL:
            return "this turn", True
        return ("you, once" if decision == Decision.ONCE else ""), False

    def _run(self, call: ToolCall, tool: ToolInfo, arguments: dict[str, Any], allowed_by: str) -> None:
        assert self.tools is not None
        settings = self.tools.settings
        began = time.monotonic()
        try:
            text, is_error = self.tools.hub.call(call.name, arguments, settings.timeout, self.cancel)
            outcome = Outcome.ERROR if is_error else Outcome.DONE
        except ToolCallFailed as exc:
            text, outcome = f"error: {exc}", Outcome.ERROR
        except InterruptedError:
            text, outcome = "not finished: the user stopped this call while it ran", Outcome.CANCELLED
        seconds = time.monotonic() - began
        whole = len(text)
        if whole > settings.max_result_chars:
            text = (text[: settings.max_result_chars]
                    + f"\n[cut: the result has {whole:,} characters; only the first {settings.max_result_chars:,} "
                    "are given ([tools] max_result_chars)]")
        self._record(call, text, outcome, seconds, allowed_by=allowed_by, chars=whole, tool=tool)

    def _record(self, call: ToolCall, text: str, outcome: Outcome, seconds: float, allowed_by: str = "",
                chars: int | None = None, tool: ToolInfo | None = None) -> None:
        assert self.tools is not None
        stats = {"tool": call.name, "outcome": str(outcome), "seconds": round(seconds, 3),
                 "chars": len(text) if chars is None else chars, "allowed_by": allowed_by}
        if tool is not None:
            stats.update(server=tool.server, server_tool=tool.tool)
        if chars is not None and chars > self.tools.settings.max_result_chars:
            stats["cut_at"] = self.tools.settings.max_result_chars
        message = self.history.add_message(self.conversation_id, Role.TOOL, text, status=Status.DONE, stats=stats,
                                           tool_call_id=call.id)
        self.tools.on_result(replace(message))
