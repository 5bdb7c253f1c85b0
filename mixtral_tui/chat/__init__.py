"""The chat domain: one reply from history to history, the conversation's rules, context fitting,
figures and export. Below the UI and the command line, above the engine and the store; no Textual."""
