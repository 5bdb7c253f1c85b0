"""The Textual interface. It shows the core and drives the engine; it owns no logic of its own."""
