"""Errors a user can cause and fix.

Anything raised as a `UserError` is shown as one clear line (in the CLI on
stderr, in the TUI as a notification) and never as a traceback.
"""


class UserError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(UserError):
    """The config file is missing a value, has a wrong type, or is not TOML."""


class ModelLoadError(UserError):
    """A model file could not be loaded; the message names the reason."""


NO_MODEL = "no model is loaded; pick one with --model PATH.gguf or in Settings."


class PromptTooLongError(UserError):
    """The newest message alone does not fit in the context window."""


class ServerError(UserError):
    """A model server could not be reached, refused, or answered with something unusable."""


class ServerHasNoModel(ServerError):
    """A server that lists no model at all (`mixtral-tui web` before a page picked one)."""


class InsecureKeyError(ServerError):
    """A key would go over plain http to another machine; the user may allow it (--allow-insecure)."""


class ContextExceeded(PromptTooLongError):
    """A server said the prompt does not fit its context (a count here was too low): the reply is
    planned again with fewer turns. `limit` is the context size it named, when it named one."""

    def __init__(self, message: str, limit: int = 0) -> None:
        super().__init__(message)
        self.limit = limit


class StoreError(UserError):
    """The history database cannot be opened or written."""
