"""What each key does, in one list: F1's help and the README's table of keys are both made from it.

The app's keys come from the key map (ui/keys.py), so neither can name a key the app does not
bind; keys that widgets answer to (Enter, Shift+Tab, PgUp...) are listed here. F1 shows the
short text, the README the long one. After a change: `python -m mixtral_tui.ui.key_help` prints
the README's table, and tests/unit/test_key_help.py fails until the README holds it.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixtral_tui.ui.keys import APP_KEYS, pretty

_BY_ACTION = {key.action: key for key in APP_KEYS}


@dataclass(frozen=True)
class HelpRow:
    keys: str  # as the user presses them
    summary: str  # F1
    detail: str  # the README


def app(action: str, detail: str, keys: str = "") -> HelpRow:
    """An app action's row: its keys from the key map (`keys` adds a note to them)."""
    key = _BY_ACTION[action]
    return HelpRow(pretty(key.keys) + keys, key.description, detail)


def widget(keys: str, summary: str, detail: str = "") -> HelpRow:
    return HelpRow(keys, summary, detail or summary)


HELP_ROWS = [
    widget("Enter", "Send (message box) · open (list) · fold or unfold (message picked)", "send the message"),
    widget("Ctrl+J (or Alt+Enter)", "New line in the message", "new line in the message"),
    widget("Tab (after an @word)", "Complete an @path to attach a file or directory",
           "complete the @path at the cursor (relative to where the app started; ~/ and absolute paths too): one "
           "match goes in, several are listed above the box, a directory ends in / and Tab goes on into it; on send, "
           "each @path that names a file or directory attaches it, and any other @word stays text. Elsewhere Tab "
           "moves on, as before (under the box: the files waiting, where Enter edits a long paste and Delete drops "
           "one)"),
    app("stop", 'stop the reply being written (the text so far is kept, marked "stopped")'),
    widget("↑ (in an empty message box)", "Edit your last message (Enter sends it, Esc cancels)",
           'edit your last message: Enter sends it in its place (the old message and its reply stay, marked "replaced", '
           "out of the model's sight); Esc cancels the edit, and only Esc: the editing keys edit"),
    app("regenerate", 'write the last reply again, drawn with a new seed (the old one stays, marked "replaced", and '
        "the model no longer sees it); a message left without a reply gets one. At temperature 0 the reply comes "
        "out the same: the app says so"),
    widget("Shift+Tab (from the message box)", "Pick a message, from the newest; ↑ ↓ pick another",
           "pick a message in the conversation, starting at the newest: ↑ ↓ move from message to message (↑ on the "
           "first shown brings in the page before), the footer shows what applies to it, Esc goes back to typing. "
           "The letter keys below act only here: a click picks a message too, but what is typed after a click "
           "goes to the message box"),
    widget("`c` (message picked)", "Copy the message as written (Markdown)", "copy the message as written (Markdown)"),
    widget("`b` (message picked)", "Copy its code blocks, one per press",
           "copy its code blocks, one per press: the first, the next, and round; the note says which "
           "(“python code copied: block 2 of 3”)"),
    widget("`e` (message picked)", "Edit a message of yours, however far back",
           'edit a message you sent, however far back: Enter sends it in its place, and it and everything after it '
           'stay, marked "replaced", out of the model\'s sight'),
    widget("`r` (message picked)", "Write the chat again from this reply",
           "write the conversation again from this reply (from a message of yours: its reply), with a new seed; what "
           'followed is kept, marked "replaced"'),
    widget("`f` (message picked)", "Fork a new chat ending with this message",
           "fork: a new conversation (in a tab of its own, marked ↳, and “fork” in the list) holding the turns up to "
           "this message, with the same system prompt and sampling, to go another way from there; the original is "
           "unchanged"),
    widget("`t` (message picked)", "Show or fold a reply's thinking",
           "a reasoning model's thinking: shown dimmed while it streams, then folded to one line (“thought for 12 s · "
           "340 tokens”); `t` shows it whole or folds it. It is kept and exported, marked as thinking, and never sent "
           "back to the model"),
    app("new_conversation", "new conversation"),
    app("search", "search every saved conversation (Ctrl+T there: only the open one, in the order written): results "
        "follow your typing, ↑ ↓ choose, Enter opens the conversation at that message (marked for a few seconds; a "
        "long one at the line with the word found); a message far back opens with the page around it, later "
        "messages come in as you scroll down"),
    widget("Ctrl+T (in search)", "Search the open conversation only, or every one",
           "in search: the open conversation only, or every one"),
    app("pick_model", "the model picker (download, switch models; ↑ ↓ on the list show each model's files)"),
    app("previous_tab", "previous tab"),
    app("next_tab", "next tab"),
    app("close_tab", "close the tab (the conversation stays saved, and so does the text in its message box)"),
    widget("PgUp / PgDn", "Scroll the conversation (also while typing)", "scroll the conversation (also while typing)"),
    widget("Home (Ctrl+Home while typing)", "Top of the conversation; at the top, earlier messages",
           "top of the conversation; long ones open with their last 20 messages, and Home (or scrolling) at the top "
           "brings in 20 more; past 100 on screen, the oldest go back behind the “earlier messages” note (nothing "
           "is lost)"),
    widget("End (Ctrl+End while typing)", "Bottom of the conversation; after a search, the newest",
           "bottom of the conversation; after a search opened an older page, back to the newest messages"),
    app("focus_sidebar", "go to the conversation list (Enter opens, Del deletes)"),
    widget("Del (in the list)", "Delete the highlighted conversation (asks first)",
           "delete the highlighted conversation (asks first)"),
    app("toggle_sidebar", "hide or show the conversation list (below 70 columns it hides itself until asked for); "
        "the choice holds until the terminal is resized past 70 or 110 columns, when the width decides again"),
    app("rename_conversation", "rename the conversation"),
    app("delete_conversation", "delete the conversation (asks first)"),
    app("export_conversation", "export the conversation to a Markdown file"),
    app("copy_reply", "copy the last reply to the clipboard (OSC 52: works over SSH in most terminals; tmux needs "
        "`set-clipboard on`)"),
    app("settings", "settings (saved to the config file, its comments and order kept)"),
    app("conversation_settings", "this conversation's system prompt and sampling"),
    app("show_tools", "tools: the MCP servers of mcp.json, whether each started and why not, their tools; Space "
        "switches a server off for the session"),
    widget("y / a / A / n", "Answer a tool call the model asks to make",
           "a tool call the model asks to make: y or Enter allows it once, a always (kept in config.toml), A every "
           "call of this turn, n or Esc refuses it (the model is told)"),
    app("show_log", "llama.cpp's log (warnings marked ⚠, errors ✖; `d` shows the debug lines a load writes by the "
        "thousand, which the log file always keeps)"),
    widget("Ctrl+P", "Command palette: every action by name", "the command palette: every action by name"),
    app("help", "help (this list)", keys=" or ?"),
    app("quit", "quit"),
]


def markdown_table() -> str:
    lines = ["| Key | Action |", "|---|---|"]
    lines += [f"| {row.keys} | {row.detail} |" for row in HELP_ROWS]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
