"""Every key the app answers to, in one list: the bindings, the footer, the palette and the help
(ui/key_help.py, which lists the keys widgets answer to as well) all read it.

Only keys that every terminal sends through SSH and tmux are used (Enter, Esc,
Tab, Ctrl+letter, F-keys); a few extras (Ctrl+PgUp/PgDn) are alternatives.
Ctrl+A/E/K/U/W/Y keep their editing meaning in the composer, so no app action
takes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    keys: str  # Textual key names, comma-separated
    action: str
    description: str
    show: bool = True  # in the footer
    priority: bool = False  # wins over the composer's own keys (F5-F7 select words/lines there)
    wide_only: bool = False  # in the footer only from 110 columns (F1 lists every key at any width)


APP_KEYS = [
    Key("ctrl+n", "new_conversation", "New chat"),
    Key("ctrl+f", "search", "Search"),
    Key("ctrl+r", "regenerate", "Write reply again", show=False),
    Key("f2", "rename_conversation", "Rename", wide_only=True),
    Key("f8", "delete_conversation", "Delete", wide_only=True),
    Key("f9", "export_conversation", "Export", wide_only=True),
    Key("f7", "close_tab", "Close tab", show=False, priority=True),
    Key("f6,ctrl+pagedown", "next_tab", "Next tab", show=False, priority=True),
    Key("f5,ctrl+pageup", "previous_tab", "Previous tab", show=False, priority=True),
    Key("ctrl+l", "focus_sidebar", "Conversations", show=False),
    Key("ctrl+b", "toggle_sidebar", "Sidebar", show=False),
    Key("ctrl+g", "pick_model", "Models"),
    Key("f3", "settings", "Settings", wide_only=True),
    Key("f4", "conversation_settings", "Chat settings", show=False),
    Key("ctrl+o", "copy_reply", "Copy reply", show=False),
    Key("f10", "show_tools", "Tools", show=False),
    Key("f12", "show_log", "Log", show=False),
    Key("f1", "help", "Help"),
    Key("escape", "stop", "Stop reply", show=False),
    Key("ctrl+q", "quit", "Quit"),
]

WIDE_ONLY_ACTIONS = frozenset(key.action for key in APP_KEYS if key.wide_only)

_NAMES = {"escape": "Esc", "enter": "Enter", "pageup": "PgUp", "pagedown": "PgDn", "delete": "Del"}


def pretty(keys: str) -> str:
    """`ctrl+pagedown,f6` -> `Ctrl+PgDn / F6`."""
    out = []
    for key in keys.split(","):
        parts = [_NAMES.get(p) or (p.upper() if len(p) == 1 or p[1:].isdigit() else p.capitalize())
                 for p in key.strip().split("+")]
        out.append("+".join(parts))
    return " / ".join(out)


_BY_ACTION = {key.action: key for key in APP_KEYS}


def pick_model_hint() -> str:
    """The one answer to "there is no model": every note and status line that says so ends in it."""
    return f"{key_for('pick_model')} picks a model"


def model_advice() -> str:
    """What the app adds to a failed load or a model process that ended: the engine's messages
    name no keys (the command line shows them too), the app's notes do."""
    return f"{key_for('show_log')} shows llama.cpp's log; {pick_model_hint()}."


def key_for(action: str) -> str:
    """The key of an app action as the user presses it (its first, where it has several): messages
    name keys through this, so a note can never point at a key that does something else."""
    return pretty(_BY_ACTION[action].keys.split(",")[0])
