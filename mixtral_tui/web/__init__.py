"""The app in a browser (`mixtral-tui web`): textual-serve's page server behind a token
(page_server.py), and the one engine every page's app uses (engine_host.py). Only these two
modules import aiohttp and textual-serve; this one holds what the pages' apps need to know."""

from mixtral_tui.server_config import WEB_ENGINE_ENV, WEB_PAGE_ENV, WEB_PAGE_HEADER

__all__ = ["WEB_ENGINE_ENV", "WEB_KEY_ENV", "WEB_PAGE_ENV", "WEB_PAGE_HEADER", "WEB_SERVER_NAME"]

WEB_KEY_ENV = "MIXTRAL_TUI_WEB_ENGINE_KEY"
"""The pages' apps find the engine's key here (each app's environment; never the page's)."""

WEB_SERVER_NAME = "this machine"
"""How replies written by the web server's model name their server."""
