"""Model files: reading GGUF headers (and, later, catalog, Hub and planner)."""
