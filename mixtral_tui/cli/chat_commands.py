"""The work behind the chat commands: `list`, `search`, `export`, `ask`, and the TUI (parsing lives in cli/main.py)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from mixtral_tui.config import RETIRED_ENGINES, Config, load_config, retired_engine_note
from mixtral_tui.engine.base import LoadSpec
from mixtral_tui.errors import UserError
from mixtral_tui.paths import app_paths
from mixtral_tui.store.history import History, Message
from mixtral_tui.text_safety import counted, decoded, displayable, displayable_line, from_argument
from mixtral_tui.vocabulary import AttachmentKind, Role, Status

if TYPE_CHECKING:
    from mixtral_tui.engine.base import Chunk, Engine
    from mixtral_tui.store.attachments import Attachment



def open_history() -> History:
    paths = app_paths()
    paths.ensure()
    return History(paths.database)


def open_history_or_memory() -> tuple[History, str | None]:
    """The TUI keeps running on a broken database: chats then live in memory, and the user is told."""
    from mixtral_tui.errors import StoreError

    try:
        return open_history(), None
    except StoreError as exc:
        return History(":memory:"), f"{exc} This session's chats are kept in memory only."


def load_settings(
    model: str | None, ctx: int | None, gpu_layers: int | None, resolve: bool = True, download: bool = False,
    last_loaded: bool = False, server: tuple[str, str, bool] | None = None, engine: str | None = None,
    notes_to_stderr: bool = True,
) -> tuple[Config, LoadSpec]:
    """The config file with command-line overrides on top; `owner/repo:QUANT` becomes a local path.
    With `last_loaded` (the TUI), no model named anywhere means the one the app loaded last. With
    `server` (--server, --api-key-env, --allow-insecure), `model` is the server's model id. The
    config's notes (a retired setting) go to stderr, or stay in the config for the TUI to show."""
    config = load_config(app_paths().config_file)
    if engine:  # --engine over [model] engine
        notes = config.notes
        if engine in RETIRED_ENGINES:
            notes = (retired_engine_note(engine, f"--engine {engine}"),)
            engine = RETIRED_ENGINES[engine]
        config = replace(config, model=replace(config.model, engine=engine), notes=notes)
    if notes_to_stderr:
        for note in config.notes:
            print(f"note: {note}", file=sys.stderr)
    if server is not None:
        from mixtral_tui.server_config import server_for

        settings = server_for(server[0], config.servers, api_key_env=server[1], allow_insecure=server[2])
        base = LoadSpec.from_config(config, None, ctx, gpu_layers)
        return config, replace(base, model_path=model or settings.model, server=settings)
    path = model or config.model.path or (last_model() or "" if last_loaded else "")
    if resolve and path:
        from mixtral_tui.models.resolve import resolve_model

        path = resolve_model(path, allow_download=download, models_dir=config.model.models_dir)
    spec = LoadSpec.from_config(config, path, ctx, gpu_layers)
    return config, spec


def last_loaded_models() -> list[str]:
    """The model files the TUI loaded lately, newest first (models/recent.py)."""
    from mixtral_tui.models.recent import RecentModels
    from mixtral_tui.paths import recent_models_file

    return RecentModels(recent_models_file(app_paths())).paths()


def last_model() -> str | None:
    found = last_loaded_models()
    return found[0] if found else None


def no_model_error() -> UserError:
    """`ask` and `bench` without a model: they do not use the TUI's last one unasked, they name it."""
    last = last_model()
    hint = f" The app last loaded {last}: `--model {last}` uses it." if last else ""
    return UserError(f"no model given: pass --model PATH.gguf (or owner/repo:QUANT) or set model.path in the config.{hint}")


def list_conversations(header: bool = True) -> int:
    """Newest first, tab-separated; a fork says which conversation it is a fork of."""
    history = open_history()
    if header:
        print("id\tupdated\tmessages\ttitle\tfrom")
    for c in history.conversations():
        updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(c.updated_at))
        title = displayable_line(c.title)
        origin = f"fork of {c.forked_from}" if c.forked_from is not None else "-"
        print(f"{c.id}\t{updated}\t{c.message_count}\t{title}\t{origin}")
    return 0


def search_command(text: str, limit: int, conversation_id: int | None = None) -> int:
    """Hits as tab-separated lines: conversation id, message id ("-" for a title), time, role,
    title, snippet. On a terminal the matched words are bold; piped, the text is left plain."""
    from mixtral_tui.store.search import MARK_END, MARK_START

    history = open_history()
    if conversation_id is not None and history.conversation(conversation_id) is None:
        print(f"mixtral-tui: there is no conversation {conversation_id} (`mixtral-tui list` shows them)", file=sys.stderr)
        return 2
    hits = history.search(text, limit, conversation_id)
    if not hits:
        where = "saved message" if conversation_id is None else f"message of conversation {conversation_id}"
        print(f"mixtral-tui: no {where} holds every word of “{displayable(text)}”", file=sys.stderr)
        return 1
    start, end = ("\x1b[1m", "\x1b[22m") if sys.stdout.isatty() else ("", "")
    for hit in hits:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(hit.created_at))
        title = displayable_line(hit.title)
        snippet = displayable(hit.snippet).replace(MARK_START, start).replace(MARK_END, end)
        snippet = f"(thinking) {snippet}" if hit.in_thinking else snippet
        snippet = f"(in {displayable_line(hit.in_attachment)}) {snippet}" if hit.in_attachment else snippet
        message = hit.message_id if hit.message_id is not None else "-"
        print(f"{hit.conversation_id}\t{message}\t{when}\t{hit.role}\t{title}\t{snippet}")
    return 0


def export_command(conversation_id: int | None, output: Path | None, fmt: str = "markdown") -> int:
    from mixtral_tui.chat.export import export_all, export_conversation

    history = open_history()
    if conversation_id is None:
        assert output is not None
        for path in export_all(history, output, fmt):
            print(path)
        return 0
    text = export_conversation(history, conversation_id, fmt)
    if output is None:
        sys.stdout.write(for_stdout(text))
    else:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UserError(f"cannot write {output}: {exc.strerror or exc}") from None
    return 0


def for_stdout(text: str) -> str:
    """Model text for standard output: as written into a pipe or a file (it is data), with its
    control characters made visible on a terminal (an escape sequence would act on it)."""
    return displayable(text) if sys.stdout.isatty() else text


def _read_prompt(prompt: str) -> str:
    """The prompt as given, or standard input's bytes with '-'. Bytes that are not UTF-8 are kept
    as U+FFFD (�), and the user is told (they ended in a traceback: "surrogates not allowed")."""
    text, bad = decoded(sys.stdin.buffer.read()) if prompt == "-" else from_argument(prompt)
    if bad:
        where = "standard input" if prompt == "-" else "the prompt"
        print(f"mixtral-tui: {where} is not all UTF-8: {bad} place(s) of it are sent as �.", file=sys.stderr)
    if not text.strip():
        raise UserError("the prompt is empty; pass some text, or '-' to read it from stdin.")
    return text


def import_command(file: str) -> int:
    from mixtral_tui.chat.export_json import import_conversation

    if file == "-":
        text, _bad = decoded(sys.stdin.buffer.read())
    else:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read {file}: {getattr(exc, 'strerror', None) or exc}") from None
    conversation = import_conversation(open_history(), text, file)
    # Kept exactly, its dates too: `list` (newest first) and the app's list place it by its last change.
    updated = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.updated_at))
    print(f"imported as conversation {conversation.id} ({counted(conversation.message_count, 'message')}, "
          f"last changed {updated}: listed by that date)")
    return 0


def ask_command(args: argparse.Namespace) -> int:
    from mixtral_tui.cancel import CancelToken
    from mixtral_tui.chat.rules import sampling_for, system_prompt_for, title_from
    from mixtral_tui.chat.tool_rounds import ToolReply
    from mixtral_tui.cli.main import engine_choice, model_choice, server_choice
    from mixtral_tui.cli.tool_commands import ask_tools, note_no_tools
    from mixtral_tui.engine import create_engine
    from mixtral_tui.engine.log_router import LogRouter

    config, spec = load_settings(*model_choice(args), download=args.download, server=server_choice(args),
                                 engine=engine_choice(args))
    if not spec.model_path and spec.server is None:
        raise no_model_error()
    prompt = _read_prompt(args.prompt)
    history = History(":memory:") if args.no_save else open_history()
    continued = None
    if args.continue_id is not None:
        continued = history.conversation(args.continue_id)
        if continued is None:
            raise UserError(f"no conversation with id {args.continue_id}; `mixtral-tui list` shows the ids.")

    paths = app_paths()
    paths.ensure()
    router = LogRouter(paths.llama_log)
    engine = create_engine(log_sink=router.write, kind=spec.engine,
                           remote=spec.server is not None)
    try:
        engine.load(spec)  # before anything is saved: a failed load leaves no empty conversation
        tools = ask_tools(args, config, paths)
    except BaseException:
        engine.close()
        raise
    note_no_tools(engine.info, tools)
    # Settings before the conversation is made: a message refused for its files leaves none behind
    system_prompt = system_prompt_for(continued, config) if continued else config.chat.system_prompt
    sampling = sampling_for(continued, config) if continued else config.sampling
    if args.max_tokens is not None:  # the command line over the conversation's own (F4) and the file
        sampling = replace(sampling, max_tokens=args.max_tokens)
    try:
        attached = ask_attachments(args, engine, prompt, system_prompt, sampling.max_tokens)
    except BaseException:
        engine.close()
        if tools is not None:
            tools.hub.close()
        raise
    conversation = continued or history.create_conversation(title_from(prompt))
    history.add_message(conversation.id, Role.USER, prompt, attached=attached)
    run = ToolReply(engine, history, conversation.id, sampling, system_prompt, tools, CancelToken())

    def show(chunk: Chunk) -> None:
        sys.stdout.write(for_stdout(chunk.text))
        sys.stdout.flush()

    def between_rounds(message: Message) -> None:  # a round that ended in calls: the next one on its own line
        if message.content and not message.content.endswith("\n"):
            sys.stdout.write("\n")

    try:
        message = run.run(on_chunk=show, on_calls=between_rounds)
    except KeyboardInterrupt:
        run.cancel.cancel()
        raise
    finally:
        engine.unload()
        if tools is not None:
            tools.hub.close()
    sys.stdout.write("\n")
    from mixtral_tui.chat.figures import reply_figures

    print(reply_figures(run.rounds[-1].stats), file=sys.stderr)
    if message.status == Status.DONE and not message.content.strip():
        print("mixtral-tui: the model returned no text; ask again (the seed is new each time), or change the "
              "sampling or the system prompt in config.toml", file=sys.stderr)
    if not args.no_save:
        print(f"saved as conversation {conversation.id}", file=sys.stderr)
    return 0 if message.status == Status.DONE else 1


def ask_attachments(args: argparse.Namespace, engine: Engine, prompt: str, system_prompt: str,
                    max_tokens: int) -> list[Attachment]:
    """`-f PATH` (and `-f -`, standard input): read, counted, told on stderr, and refused before
    anything is saved when the message with them cannot fit."""
    from mixtral_tui.chat.attach import check_fits, from_stdin, read_named, with_tokens
    from mixtral_tui.chat.attached_text import folder_report, summary

    if not args.file:
        return []
    if "-" in args.file and args.prompt == "-":
        raise UserError("standard input can be the prompt or a file, not both: give the prompt as an argument "
                        "with -f -")
    assert engine.info is not None, "loaded first"
    context = engine.info.context_size
    named = [(path, Path(path).expanduser()) for path in dict.fromkeys(args.file) if path != "-"]
    attached = read_named(named, context)
    if "-" in args.file:
        attached.append(from_stdin(sys.stdin.buffer.read()))
    attached = with_tokens(engine, attached)
    check_fits(engine, prompt, system_prompt, attached, context, max_tokens)
    files = [a for a in attached if a.kind != AttachmentKind.FOLDER]
    for a in attached:
        if a.kind == AttachmentKind.FOLDER:
            print("\n".join(f"mixtral-tui: {line}" for line in folder_report(a, files)), file=sys.stderr)
        elif not a.folder:
            print(f"mixtral-tui: attached {displayable_line(summary(a))}", file=sys.stderr)
    return attached


def run_tui(args: argparse.Namespace) -> int:
    from mixtral_tui.cli.main import server_choice
    from mixtral_tui.models.resolve import REPO_SPEC, resolve_model

    config, spec = load_settings(args.model, args.ctx, args.gpu_layers, resolve=False, last_loaded=True,
                                 engine=getattr(args, "engine", None), server=server_choice(args),
                                 notes_to_stderr=False)  # shown in the app, where they are seen
    offer = None
    if spec.model_path and spec.server is None:
        try:
            spec = replace(spec, model_path=resolve_model(spec.model_path, models_dir=config.model.models_dir))
        except UserError:
            if not REPO_SPEC.match(spec.model_path):
                raise
            offer, spec = spec.model_path, replace(spec, model_path="")  # not downloaded: the picker offers it
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.web import WEB_ENGINE_ENV, WEB_SERVER_NAME

    if spec.server is not None and spec.server.url == os.environ.get(WEB_ENGINE_ENV):  # a page of `web`
        spec = replace(spec, server=replace(spec.server, name=WEB_SERVER_NAME))
    history, warning = open_history_or_memory()
    warning = " ".join(part for part in (*config.notes, warning) if part) or None
    app = MixtralApp(config=config, load_spec=spec, history=history, startup_warning=warning, offer_repo=offer)
    app.run()
    return app.return_code or 0
