"""Which tool calls run without asking: glob patterns over the tools' names, from `[tools] allow`
in config.toml (`a` in the app adds one) and `ask --allow-tool`. Everything else is asked for in
the app, and refused in a run without a terminal: nothing acts without the user's say."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from mixtral_tui.config import TOOL_PATTERN


def check_pattern(pattern: str, where: str) -> str:
    """A pattern as written, or ValueError saying why not (`where` names the setting)."""
    if not TOOL_PATTERN.match(pattern):
        raise ValueError(f"{where}: {pattern!r} is not a tool pattern (letters, digits, _ - and the globs * ? [ ]), "
                         "e.g. \"time_*\" or \"git_git_log\".")
    return pattern


@dataclass(frozen=True)
class AllowRules:
    patterns: tuple[str, ...] = ()

    def allows(self, tool: str) -> str | None:
        """The pattern that allows this tool's calls (None: ask, or refuse without a terminal).
        Case matters: `Time_*` does not allow `time_get_current_time`."""
        return next((p for p in self.patterns if fnmatch.fnmatchcase(tool, p)), None)

    def with_pattern(self, pattern: str) -> AllowRules:
        return self if pattern in self.patterns else AllowRules((*self.patterns, pattern))


def pattern_for(tool: str) -> str:
    """What `a` (allow always) keeps for a tool: its own name, no wider."""
    return tool
