"""The user's MCP tools: which servers (mcp.json), what their tools are named for the model, and
which calls may run without asking (the allow rules). No Textual here; only tools/ imports the
MCP SDK."""
