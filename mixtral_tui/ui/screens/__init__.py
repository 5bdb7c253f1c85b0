"""Modal screens: help, confirmation, text prompts, settings and the log."""
