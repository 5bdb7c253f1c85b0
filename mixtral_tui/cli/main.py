"""Command line: the TUI by default, plus `list`, `search`, `export`, `import` and `ask` for scripts.

Only argparse and the standard library load at start-up; Textual and
llama_cpp are imported inside the commands that need them, so `--help`
answers at once.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from mixtral_tui import __version__
from mixtral_tui.config import ENGINE_MODES, RETIRED_ENGINES

ENGINE_HELP = ("the local engine: separate (llama-cpp-python in a process of its own, the default) or llama-server "
               "(llama.cpp's own server, which the app starts); in-app is retired and means separate")
ENGINE_CHOICES = (*ENGINE_MODES, *RETIRED_ENGINES)


def _positive_ctx(text: str) -> int:
    value = int(text)
    if value < 256 or value % 256:
        raise argparse.ArgumentTypeError(f"{text} is not a multiple of 256 (llama.cpp needs one), e.g. 4096")
    return value


def _model_options(command: argparse.ArgumentParser) -> None:
    """--model, --ctx and --gpu-layers after a command's name, as before it (`mixtral-tui bench
    --model M` as well as `mixtral-tui --model M bench`); after it wins."""
    command.add_argument("--model", dest="sub_model", metavar="PATH", help="GGUF file or owner/repo[:QUANT]")
    command.add_argument("--ctx", dest="sub_ctx", type=_positive_ctx, metavar="N", help="context size (multiple of 256)")
    command.add_argument("--gpu-layers", dest="sub_gpu_layers", type=int, metavar="N", help="GPU layers (-1 = all)")
    command.add_argument("--engine", dest="sub_engine", choices=ENGINE_CHOICES, help=ENGINE_HELP)
    _server_options(command, "sub_")


def _server_options(command: argparse.ArgumentParser, prefix: str = "") -> None:
    command.add_argument("--server", dest=f"{prefix}server", metavar="NAME_OR_URL",
                         help="a model on an OpenAI-compatible server: a [servers.NAME] of the config, mistral, "
                              "openai, or a URL such as http://127.0.0.1:8080/v1 (--model then names its model)")
    command.add_argument("--api-key-env", dest=f"{prefix}api_key_env", metavar="VAR",
                         help="the environment variable holding the server's key (a URL gets none otherwise)")
    command.add_argument("--allow-insecure", dest=f"{prefix}allow_insecure", action="store_true", default=None,
                         help="allow sending a key over plain http to another machine")


def server_choice(args: argparse.Namespace) -> tuple[str, str, bool] | None:
    """--server, --api-key-env and --allow-insecure, wherever on the line; None: a local model."""
    def pick(name: str) -> Any:
        after = getattr(args, f"sub_{name}", None)
        return after if after is not None else getattr(args, name, None)

    server = pick("server")
    return (server, pick("api_key_env") or "", bool(pick("allow_insecure"))) if server else None


def engine_choice(args: argparse.Namespace) -> str | None:
    """--engine, wherever on the line it was given (after the command's name wins)."""
    return getattr(args, "sub_engine", None) or getattr(args, "engine", None)


def model_choice(args: argparse.Namespace) -> tuple[str | None, int | None, int | None]:
    """The model, context size and GPU layers asked for, wherever on the line they were given."""
    def pick(name: str) -> Any:
        after = getattr(args, f"sub_{name}", None)
        return after if after is not None else getattr(args, name, None)

    return pick("model"), pick("ctx"), pick("gpu_layers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixtral-tui",
        description="Chat with Mixtral 8x7B (or any GGUF model) in the terminal, locally or on a server.",
        epilog="Files live under $MIXTRAL_TUI_HOME when set. Run without a command to open the TUI.",
    )
    parser.add_argument("--version", action="version", version=f"mixtral-tui {__version__}")
    parser.add_argument("--model", metavar="PATH", help="GGUF file or owner/repo[:QUANT] (default: model.path in the config)")
    parser.add_argument("--ctx", type=_positive_ctx, metavar="N", help="context size in tokens (multiple of 256)")
    parser.add_argument("--gpu-layers", type=int, metavar="N", help="layers to offload to the GPU (-1 = all)")
    parser.add_argument("--engine", choices=ENGINE_CHOICES, help=ENGINE_HELP)
    _server_options(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser("list", help="list saved conversations (id, updated, messages, title, from; "
                                  "tab-separated, under a header line)")
    listing.add_argument("--no-header", action="store_true", help="leave out the header line (for scripts)")

    search = commands.add_parser("search", help="find saved messages holding every word "
                                 "(conversation id, message id, time, role, title, snippet)")
    search.add_argument("words", nargs="+", help="words to find (each also as the start of a longer word)")
    search.add_argument("--limit", type=int, default=50, metavar="N", help="most hits to print (default 50)")
    search.add_argument("--conversation", type=int, metavar="ID",
                        help="only in this conversation (see `list`), in the order written")

    export = commands.add_parser("export", help="write a conversation as Markdown (or, exactly, as JSON)")
    export.add_argument("id", nargs="?", type=int, help="conversation id (see `list`)")
    export.add_argument("-o", "--output", metavar="FILE", help="file to write (default: stdout); a folder with --all")
    export.add_argument("--all", action="store_true", help="export every conversation, one file each, into -o DIR")
    export.add_argument("--format", choices=("markdown", "json"), default="markdown",
                        help="markdown: a document to read (default); json: everything, for `import` or programs")

    importer = commands.add_parser("import", help="add a conversation from a file `export --format json` wrote")
    importer.add_argument("file", help="the .json file ('-' reads stdin)")

    ask = commands.add_parser("ask", help="stream one reply to stdout (figures go to stderr)")
    ask.add_argument("prompt", help="the message; '-' reads it from stdin")
    _model_options(ask)
    ask.add_argument("--max-tokens", type=int, metavar="N", help="longest reply, in tokens")
    ask.add_argument("--continue", dest="continue_id", type=int, metavar="ID", help="add to conversation ID")
    ask.add_argument("--no-save", action="store_true", help="do not save the exchange")
    ask.add_argument("--download", action="store_true", help="download an owner/repo:QUANT model that is missing")
    ask.add_argument("--allow-tool", action="append", metavar="PATTERN",
                     help="let the model call the tools this name or glob matches (repeatable; any other call is refused)")
    ask.add_argument("--no-tools", action="store_true", help="offer the model no tools")
    ask.add_argument("-f", "--file", action="append", metavar="PATH",
                     help="attach a file or directory (repeatable); '-' attaches standard input as a file named stdin")

    commands.add_parser("tools", help="the MCP servers of mcp.json: whether each started, and its tools")

    models = commands.add_parser("models", help="local models; with a repo, its quantizations and what fits here")
    models.add_argument("repo", nargs="?", help="owner/repo on the Hub")
    models.add_argument("--ctx", dest="models_ctx", type=_positive_ctx, metavar="N", help="context size to plan for")
    models.add_argument("--no-header", action="store_true", help="leave out the header line (for scripts)")
    _server_options(models, "sub_")

    download = commands.add_parser("download", help="download owner/repo[:QUANT] (resumable, verified)")
    download.add_argument("spec", metavar="owner/repo[:QUANT]")

    commands.add_parser("doctor", help="hardware, llama.cpp build, file locations and Hub settings")
    web = commands.add_parser("web", help="serve the app to a browser (notebooks, GPU boxes behind a proxied port)")
    _model_options(web)
    web.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; any address "
                                                          "needs the printed link's token as well)")
    web.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    web.add_argument("--public-url", metavar="URL", help="the URL the browser reaches this server by, behind a "
                                                         "proxy (Colab: google.colab.kernel.proxyPort(8000))")
    bench = commands.add_parser("bench", help="measure prompt and decode speed of --model on this machine")
    _model_options(bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from mixtral_tui.errors import UserError

    try:
        if args.command == "list":
            from mixtral_tui.cli.chat_commands import list_conversations

            return list_conversations(header=not args.no_header)
        if args.command == "search":
            from mixtral_tui.cli.chat_commands import search_command

            return search_command(" ".join(args.words), args.limit, args.conversation)
        if args.command == "export":
            if args.all == (args.id is not None):
                parser.error("export needs a conversation ID, or --all -o DIR")
            if args.all and not args.output:
                parser.error("export --all needs -o DIR")
            from mixtral_tui.cli.chat_commands import export_command

            return export_command(args.id, Path(args.output) if args.output else None, args.format)
        if args.command == "tools":
            from mixtral_tui.cli.tool_commands import tools_command

            return tools_command(args)
        if args.command == "import":
            from mixtral_tui.cli.chat_commands import import_command

            return import_command(args.file)
        if args.command == "bench":
            from mixtral_tui.cli.bench import bench_command
            from mixtral_tui.cli.chat_commands import load_settings

            return bench_command(load_settings(*model_choice(args), server=server_choice(args),
                                               engine=engine_choice(args))[1])
        if args.command in ("models", "download", "doctor"):
            from mixtral_tui.cli import model_commands

            if args.command == "doctor":
                return model_commands.doctor_command()
            from mixtral_tui.cli.chat_commands import load_settings

            config, spec = load_settings(None, (getattr(args, "models_ctx", None)) or args.ctx, None, resolve=False,
                                         server=server_choice(args) if args.command == "models" else None)
            if args.command == "download":
                return model_commands.download_command(args.spec, config.model.models_dir)
            if spec.server is not None:
                return model_commands.server_models_command(spec)
            return model_commands.models_command(args.repo, spec.context_size, config.model.models_dir, config.model.path,
                                                 header=not args.no_header)
        if args.command == "web":
            from mixtral_tui.cli.web_command import web_command

            return web_command(args)
        if args.command == "ask":
            from mixtral_tui.cli.chat_commands import ask_command

            return ask_command(args)
        from mixtral_tui.cli.chat_commands import run_tui

        return run_tui(args)
    except UserError as exc:
        print(f"mixtral-tui: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mixtral-tui: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return quietly_after_a_closed_pipe()


def quietly_after_a_closed_pipe() -> int:
    """`mixtral-tui list | head -2`: the reader went, so the rest is not written, and no traceback
    (Python would print one when it flushes stdout at exit): as Unix tools end, SIGPIPE's status."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141
