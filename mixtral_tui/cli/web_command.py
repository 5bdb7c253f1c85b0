"""`mixtral-tui web`: the full app in a browser, for notebooks and GPU boxes reached only through a
proxied port. The model loads once, here; each page's app reaches it as a server (web/)."""

from __future__ import annotations

import argparse
import os
import secrets
import shlex
import socket
import sys
import time

from mixtral_tui.web import WEB_ENGINE_ENV, WEB_KEY_ENV

WEB_SLOTS = 4
"""llama-server's slots in `web` when the config sets none: four pages reply at once."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def page_url(host: str, port: int, public_url: str | None, token: str) -> str:
    if public_url:
        return f"{public_url.rstrip('/')}/?token={token}"
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?token={token}"


def check_port(host: str, port: int) -> None:
    """Before the model loads (a minute for Mixtral): a port another program listens on is said,
    with how to choose another. (The link printed led to the other server, then `web` died.)"""
    from mixtral_tui.errors import UserError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp binds: a port in TIME_WAIT is free
        try:
            probe.bind((host or "0.0.0.0", port))
        except PermissionError:
            raise UserError(f"port {port} needs privileges on this machine; choose one above 1023 with --port N "
                            "(the default is 8000).") from None
        except OSError as exc:
            taken = exc.errno in (98, 48, 10048)  # EADDRINUSE on Linux, macOS, Windows
            why = "is taken: another program listens there" if taken else f"cannot be used ({exc.strerror})"
            raise UserError(f"port {port} on {host} {why}. Choose another with --port N "
                            f"(e.g. --port {port + 1}), or stop that program.") from None


def web_command(args: argparse.Namespace) -> int:
    from mixtral_tui.cli.main import server_choice

    check_port(args.host, args.port)
    remote = server_choice(args)
    return on_a_server(args, remote) if remote is not None else with_one_model(args)


def on_a_server(args: argparse.Namespace, remote: tuple[str, str, bool]) -> int:
    """`web --server NAME_OR_URL`: the model lives on a server already, which every page's app
    reaches itself (its key from the environment, as on the command line)."""
    from mixtral_tui.cli.main import model_choice
    from mixtral_tui.web.page_server import PageServer

    server, key_env, insecure = remote
    model = model_choice(args)[0]
    command = [sys.executable, "-m", "mixtral_tui", "--server", server]
    command += ["--api-key-env", key_env] if key_env else []
    command += ["--allow-insecure"] if insecure else []
    command += ["--model", model] if model else []
    token = secrets.token_urlsafe(24)
    pages = PageServer(shlex.join(command), token, args.host, args.port, args.public_url)
    print(f"mixtral-tui web: every page uses {server}", file=sys.stderr, flush=True)
    print(f"mixtral-tui web: open {page_url(args.host, args.port, args.public_url, token)}", flush=True)
    pages.serve()
    return 0


def with_one_model(args: argparse.Namespace) -> int:
    """The model loaded once, here, and served to every page's app on loopback (web/engine_host.py)."""
    from dataclasses import replace

    from mixtral_tui.cli.chat_commands import load_settings
    from mixtral_tui.cli.main import engine_choice, model_choice
    from mixtral_tui.engine import create_engine
    from mixtral_tui.engine.log_router import LogRouter
    from mixtral_tui.paths import app_paths
    from mixtral_tui.web.engine_host import EngineHost
    from mixtral_tui.web.page_server import PageServer

    _config, spec = load_settings(*model_choice(args), last_loaded=True, engine=engine_choice(args))
    if spec.engine == "llama-server" and not spec.llama_server.parallel:  # pages reply at once, in its slots
        spec = replace(spec, llama_server=replace(spec.llama_server, parallel=WEB_SLOTS))
    paths = app_paths()
    paths.ensure()
    log = LogRouter(paths.log_dir / "web.log")
    engine = create_engine(log_sink=log.write, kind=spec.engine)
    key, token = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    host = EngineHost(engine, spec, key, log=log.write)
    if spec.model_path:
        print(f"mixtral-tui web: loading {spec.model_path}…", file=sys.stderr, flush=True)
        started = time.monotonic()
        info = host.load(spec.model_path)
        print(f"mixtral-tui web: {info.name} loaded in {time.monotonic() - started:.1f} s ({info.plan_summary})",
              file=sys.stderr, flush=True)
    else:
        print("mixtral-tui web: no model yet; the model picker in a page chooses one, for every page", file=sys.stderr)
    engine_port = free_port()
    engine_url = f"http://127.0.0.1:{engine_port}/v1"
    os.environ[WEB_KEY_ENV] = key
    os.environ[WEB_ENGINE_ENV] = engine_url
    command = shlex.join([sys.executable, "-m", "mixtral_tui", "--server", engine_url, "--api-key-env", WEB_KEY_ENV])
    server = PageServer(command, token, args.host, args.port, args.public_url, host.routes(), engine_port,
                        page_closed=host.page_closed)
    print(f"mixtral-tui web: open {page_url(args.host, args.port, args.public_url, token)}", flush=True)
    print("mixtral-tui web: anyone with this link can use the app; interrupt this command to stop the server", file=sys.stderr,
          flush=True)
    try:
        server.serve()
    finally:
        engine.close()
    return 0
