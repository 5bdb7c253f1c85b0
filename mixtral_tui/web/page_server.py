"""`mixtral-tui web`: the app in a browser, with textual-serve, behind a token, one model for all.

textual-serve (Textualize's own) serves the page and runs one app process per browser connection,
which draws into the page over a websocket. This subclass adds what it leaves out:

- **A token.** Every route (the page, the websocket, downloads, the static files) needs it: in the
  URL once (`?token=…`, printed at start), then in an HttpOnly cookie, so reloads work. Without it:
  403. Always, on loopback as on any other address.
- **Its own URLs behind a proxy.** Colab's port proxy and JupyterHub's server proxy reach this
  server from another host and scheme: the page's own URLs (its websocket: wss under https) come
  from `--public-url`, else from the X-Forwarded-Proto/Host/Prefix headers, else from the request.
- **One model.** The pages' apps are started with `--server` pointing at the `web` process's own
  engine (web/engine_host.py), which loaded the model once.
- **A page that goes stops its reply, whatever way it goes** (navigation, reload, tab or browser
  closed, network gone: the websocket ends, at the latest by its heartbeat). textual-serve stopped
  reading the page's app once a write to the closed websocket failed; the app then blocked writing
  its next frame, could not read "quit", and its reply ran to the end. Here each page's app has a
  page id in its environment that it sends with its requests: the page's replies are stopped on
  the engine itself when its websocket ends, the app's output is read (and dropped) until it has
  quit, and an app that has not quit within seconds is ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import secrets
import signal
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp_jinja2
from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server

from mixtral_tui.server_config import WEB_PAGE_ENV

TOKEN_COOKIE = "mixtral_tui_token"
SHUTDOWN_SECONDS = 3.0
"""How long a stop waits for open pages before it closes them (each page's app is told to quit)."""
QUIT_SECONDS = 10.0
"""How long a closed page's app has to save and quit before it is ended (SIGTERM, then SIGKILL)."""
log = logging.getLogger("mixtral-tui.web")


class PageApp(AppService):
    """textual-serve's app process for one page, with its page id, and read to its end."""

    def __init__(self, *args: Any, page: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.page = page
        self.page_gone = False

    def _build_environment(self, width: int = 80, height: int = 24) -> dict[str, str]:
        return {**super()._build_environment(width, height), WEB_PAGE_ENV: self.page}

    async def on_data(self, payload: bytes) -> None:
        """A frame for the page; once the page is gone, dropped (a failed write ended the reading)."""
        if self.page_gone:
            return
        try:
            await super().on_data(payload)
        except (ConnectionError, RuntimeError):  # aiohttp: "Cannot write to closing transport"
            self.page_gone = True

    async def on_meta(self, data: bytes) -> None:
        if self.page_gone:
            return
        try:
            await super().on_meta(data)
        except (ConnectionError, RuntimeError):
            self.page_gone = True

    async def end(self) -> None:
        """The page is gone: the app is told to quit, and ended if it has not within QUIT_SECONDS."""
        self.page_gone = True
        process = self._process
        try:
            await asyncio.wait_for(self.stop(), QUIT_SECONDS)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        if process is not None and process.returncode is None:
            log.warning("a closed page's app did not quit within %.0f s: ended", QUIT_SECONDS)
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                await asyncio.wait_for(process.wait(), 3.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()


class PageServer(Server):
    """textual-serve's server with a token on every route and its URLs from the proxy in front."""

    def __init__(self, command: str, token: str, host: str, port: int, public_url: str | None,
                 engine_routes: web.Application | None = None, engine_port: int = 0,
                 page_closed: Callable[[str], None] | None = None) -> None:
        """`page_closed(page)`: told when a page's websocket ends (the engine stops that page's replies)."""
        super().__init__(command, host=host, port=port, title="mixtral-tui", public_url=public_url)
        self.token = token
        self.fixed_public_url = public_url or None  # base_url drops its trailing slash
        self.engine_routes = engine_routes
        self.engine_port = engine_port
        self._engine_runner: web.AppRunner | None = None
        self.page_closed = page_closed

    def serve(self, debug: bool = False) -> None:
        """As textual-serve's, but a stop (SIGINT, SIGTERM) ends open pages within seconds: aiohttp
        waited a minute for each open websocket before it let the process go."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        for stop in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(stop, self.request_exit)
            except NotImplementedError:  # not on this platform's event loop
                pass
        web.run_app(self._make_app(), host=self.host, port=self.port, handle_signals=False, loop=loop,
                    print=lambda *args: None, shutdown_timeout=SHUTDOWN_SECONDS)

    def initialize_logging(self) -> None:
        """textual-serve's logo and Rich log handler stay out: `web` prints its own lines."""
        logging.basicConfig(level="WARNING", format="mixtral-tui web: %(message)s")

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        # The websocket with the token in its path: the page's script adds its own "?width=…", and
        # a page in a third-party frame (a notebook's output cell) may get no cookie.
        app.router.add_get("/ws/{token}", self.handle_websocket, name="websocket_with_token")
        app.router.add_static(f"/{self.token}/static", self.statics_path, name="static_with_token")  # the same
        app.middlewares.append(self._check_token)
        return app

    async def on_startup(self, app: web.Application) -> None:
        """The engine's own port (loopback only) starts with the pages' server."""
        if self.engine_routes is not None:
            self._engine_runner = web.AppRunner(self.engine_routes, access_log=None)
            await self._engine_runner.setup()
            await web.TCPSite(self._engine_runner, "127.0.0.1", self.engine_port).start()

    async def on_shutdown(self, app: web.Application) -> None:
        if self._engine_runner is not None:
            await self._engine_runner.cleanup()

    # -- a page's app ---------------------------------------------------------------
    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """As textual-serve's, with a page id, and an end that stops the page's reply for certain."""
        websocket = web.WebSocketResponse(heartbeat=15)  # a page whose network went is noticed by this
        width, height = _size(request.query.get("width"), 80), _size(request.query.get("height"), 24)
        page = secrets.token_hex(8)
        app: PageApp | None = None
        try:
            await websocket.prepare(request)
            app = PageApp(self.command, write_bytes=websocket.send_bytes, write_str=websocket.send_str,
                          close=websocket.close, download_manager=self.download_manager, debug=self.debug, page=page)
            await app.start(width, height)
            await self._process_messages(websocket, app)
        except asyncio.CancelledError:  # the server stops
            await websocket.close()
        except Exception as exc:  # a page's bad message: that page ends, the server goes on
            log.warning("a page's connection failed: %s", exc)
        finally:
            if self.page_closed is not None:
                self.page_closed(page)
            if app is not None:
                await asyncio.shield(app.end())
        return websocket

    # -- the token -------------------------------------------------------------
    @web.middleware
    async def _check_token(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.query.get("token", "") or request.match_info.get("token", "")
        if not given and request.path.startswith(f"/{self.token}/static/"):  # the page's own assets
            given = self.token
        by_url = bool(given) and hmac.compare_digest(given.encode(), self.token.encode())
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        by_cookie = bool(cookie) and hmac.compare_digest(cookie.encode(), self.token.encode())
        if not (by_url or by_cookie):
            return web.Response(status=403, text="mixtral-tui: this page needs the link with ?token=… that "
                                                 "`mixtral-tui web` printed when it started.\n")
        response = await handler(request)
        if by_url and not by_cookie and not response.prepared:
            secure = self.base_url(request).startswith("https:")  # a notebook's frame needs SameSite=None
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, secure=secure,
                                samesite="None" if secure else "Lax")
        return response

    # -- URLs behind a proxy ---------------------------------------------------
    def base_url(self, request: web.Request) -> str:
        """The URL the browser reaches this server by (no trailing slash)."""
        if self.fixed_public_url:
            return self.fixed_public_url.rstrip("/")
        scheme = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
        host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
        prefix = request.headers.get("X-Forwarded-Prefix", "").rstrip("/")
        return f"{scheme}://{host}{prefix}"

    @aiohttp_jinja2.template("app_index.html")
    async def handle_index(self, request: web.Request) -> dict[str, Any]:
        """The page, its websocket and static URLs made from the URL the browser used."""
        base = self.base_url(request)
        router = request.app.router
        websocket = f"{base}{router['websocket_with_token'].url_for(token=self.token)}"
        scheme = "wss" if urlsplit(base).scheme == "https" else "ws"
        try:
            font_size = int(request.query.get("fontsize", "16"))
        except ValueError:
            font_size = 16
        return {
            "font_size": font_size,
            "app_websocket_url": f"{scheme}:{websocket.split(':', 1)[1]}",
            "config": {"static": {"url": f"{base}{router['static_with_token'].url_for(filename='/')}".rstrip("/") + "/"}},
            "application": {"name": self.title},
        }


def _size(given: str | None, default: int) -> int:
    try:
        return max(1, int(given or default))
    except ValueError:
        return default
