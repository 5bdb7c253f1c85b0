"""Conversation history in SQLite (WAL mode, ordered migrations)."""

from mixtral_tui.store.history import Conversation, History, Message

__all__ = ["Conversation", "History", "Message"]
