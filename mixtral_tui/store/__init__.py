"""Conversation history in SQLite (WAL mode, ordered migrations)."""

from mixtral_tui.store.history import Conversation, History, Message
from mixtral_tui.store.search import SearchHit

__all__ = ["Conversation", "History", "Message", "SearchHit"]
