"""Streaming Markdown: a reply cut into blocks at safe boundaries, each rendered once and cached."""
