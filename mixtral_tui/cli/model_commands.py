"""CLI commands about models: `models`, `download` and `doctor` (what they share with the picker
lives in models/: local files, resolving `owner/repo:QUANT`, the hardware line)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from mixtral_tui.errors import UserError
from mixtral_tui.models.catalog import shape_for
from mixtral_tui.models.hardware import GIB, MIB, gib, hardware_line
from mixtral_tui.models.local import describe_local, known_models, size_text
from mixtral_tui.models.resolve import REPO_SPEC, pick_quant

if TYPE_CHECKING:
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.models.download import Progress
    from mixtral_tui.models.hardware import Hardware



def models_command(repo: str | None, context: int, models_dir: str, configured: str = "", header: bool = True) -> int:
    """Local files (the config's model and the ones the app loaded lately first, as the picker
    lists them); with a repo, its quantizations and what fits here (the catalog's sizes when the
    Hub cannot be asked, as the picker shows them, and said so)."""
    if repo is None:
        from mixtral_tui.cli.chat_commands import last_loaded_models

        listed = known_models(models_dir, configured=configured, recent=last_loaded_models())
        if not listed:
            print("no local GGUF files; `mixtral-tui download mradermacher/Mixtral-8x7B-Instruct-v0.1-GGUF` fetches one",
                  file=sys.stderr)
        if listed and header:
            print("path\tsize\tarchitecture\tquant\tkind\tloadable\tlisted because")
        for path, why in listed:
            print(describe_local(path) + f"\t{why or '-'}")
        return 0
    from mixtral_tui.models.catalog import entry
    from mixtral_tui.models.download import cached_path
    from mixtral_tui.models.hub import list_quants
    from mixtral_tui.models.options import catalog_choices

    hardware = detect_hardware()
    shape = shape_for(repo)
    known = entry(repo)
    try:
        quants = list_quants(repo)
    except UserError as exc:
        if known is None:
            raise
        print(f"mixtral-tui: {exc} Sizes below are the catalog's.", file=sys.stderr)
        quants = catalog_choices(known)
    if not quants:
        raise UserError(f"{repo} has no .gguf files.")
    print(f"# {repo} at context {context:,} on this machine: {hardware_line(hardware)}")
    from mixtral_tui.models.planner import plan

    if header:
        print("quant\tsize\tbits per weight\tthis machine\tdecode speed (rough)\tdownloaded")
    for q in quants:
        verdict = plan(shape, q.size, context, hardware)
        bpw = f"{q.size * 8 / shape.params:.2f}" if shape.params else "?"
        have = "downloaded" if cached_path(repo, q.first.path, models_dir) else "-"
        parts = f" ({len(q.files)} parts)" if len(q.files) > 1 else ""
        speed = f"~{verdict.est_decode_tps:.0f} tok/s" if verdict.est_decode_tps >= 0.5 else "-"  # none when it cannot run
        print(f"{q.quant}\t{size_text(q.size)}{parts}\t{bpw} bpw\t{verdict.summary}\t{speed}\t{have}")
    return 0


def server_models_command(spec: LoadSpec) -> int:
    """`models --server URL_OR_NAME`: the server's models, one per line (the one it would use marked)."""
    from mixtral_tui.engine.remote import RemoteEngine

    assert spec.server is not None
    engine = RemoteEngine()
    models = engine.list_models(spec.server)
    print(f"# {spec.server.label} ({spec.server.url}): {len(models)} model(s)")
    for model in models:
        print(model + ("\t(configured)" if model == spec.server.model else ""))
    return 0


def detect_hardware() -> Hardware:
    from mixtral_tui.engine import detect_hardware as detect

    return detect()


def _bar(progress: Progress) -> str:
    width = 30
    filled = int(progress.fraction * width)
    eta = progress.eta
    eta_text = f"ETA {int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "ETA --:--"
    state = "verifying" if progress.verifying else f"{progress.speed / MIB:6.1f} MiB/s {eta_text}"
    return (f"\r[{'#' * filled}{'.' * (width - filled)}] {progress.fraction * 100:5.1f}% "
            f"{progress.done / GIB:.2f}/{gib(progress.total, 2)} {state} ")


def download_command(spec: str, models_dir: str = "") -> int:
    from mixtral_tui.models.download import download, download_root

    match = REPO_SPEC.match(spec)
    if not match:
        raise UserError(f"'{spec}' is not owner/repo or owner/repo:QUANT.")
    choice = pick_quant(match.group("repo"), match.group("quant"))
    last = [0.0]

    def show(progress: Progress) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or progress.verifying:
            sys.stderr.write(_bar(progress))
            sys.stderr.flush()
            last[0] = now

    print(f"{match.group('repo')} {choice.quant}: {len(choice.files)} file(s), {size_text(choice.size)}", file=sys.stderr)
    path = download(match.group("repo"), choice, progress=show, cache=download_root(models_dir))
    sys.stderr.write("\n")
    print(path)
    return 0


def doctor_command() -> int:
    import importlib.metadata as md
    import os

    from mixtral_tui.models import hub
    from mixtral_tui.models.download import hub_cache
    from mixtral_tui.models.hardware import missing_gpu_hint
    from mixtral_tui.paths import app_paths

    hw = detect_hardware()
    paths = app_paths()
    print(f"CPU cores        {hw.cpu_cores}")
    print(f"RAM              {gib(hw.ram_available)} free of {gib(hw.ram_total)}")
    for gpu in hw.gpus:
        print(f"GPU              {gpu.description or gpu.name}: {gib(gpu.free)} free of {gib(gpu.total)}")
    if hw.probe_error:
        print(f"GPU              unknown: {hw.probe_error}")
        print(f"  The model would run on the CPU only. llama.cpp's own lines may say why: {paths.llama_log}")
    elif not hw.gpus:
        print("GPU              none that this llama.cpp build can use")
    offload = "yes" if hw.gpu_offload else "unknown" if hw.probe_error else "no, CPU only"
    print(f"llama-cpp-python {md.version('llama-cpp-python')} (GPU offload: {offload})")
    hint = missing_gpu_hint(hw)
    if hint:
        print(f"  hint: {hint}")
    print(f"llama-server     {llama_server_state(paths.config_file)}")
    print(f"config           {paths.config_file} ({config_state(paths.config_file)})")
    print(f"MCP servers      {mcp_state(paths.config_dir)}")
    print(f"history          {paths.database}")
    print(f"llama.cpp log    {paths.llama_log}")
    print(f"Hub endpoint     {hub.endpoint()}")
    print(f"Hub cache        {hub_cache()}")
    print(f"Hub token        {'set' if hub.token() else 'not set (only public repos)'}")
    print(f"offline mode     {'on (HF_HUB_OFFLINE)' if hub.offline() else 'off'}")
    if os.environ.get("MIXTRAL_TUI_HOME"):
        print(f"MIXTRAL_TUI_HOME {os.environ['MIXTRAL_TUI_HOME']}")
    return 0


def llama_server_state(config_file: Path) -> str:
    """What `doctor` says of llama.cpp's own server: which binary, its version and the GPUs it can
    use, whether it is the engine, and suggests it when it is found but not chosen."""
    from mixtral_tui.config import load_config
    from mixtral_tui.engine.native_server.binary import find_binary
    from mixtral_tui.errors import ConfigError, ModelLoadError

    try:
        config = load_config(config_file)
    except ConfigError:
        return "unknown (config.toml does not read)"
    chosen = config.model.engine == "llama-server"
    try:
        binary = find_binary(config.llama_server.path)
    except ModelLoadError as exc:
        return f"not found{' (the engine chosen: it will not load)' if chosen else ''}: {exc}" if chosen or \
            config.llama_server.path else "not found (optional: [model] engine = \"llama-server\" runs llama.cpp's own)"
    has_gpu, devices = binary.devices()
    gpus = ", ".join(d[1] or d[0] for d in devices) if has_gpu else "no GPU: CPU only"
    use = "the engine chosen" if chosen else 'not the engine: [model] engine = "llama-server" (or --engine) uses it'
    return f"{binary.path} ({binary.version}; {gpus}); {use}"


def mcp_state(config_dir: Path) -> str:
    """What `doctor` says of mcp.json: absent, how many servers (`tools` starts them), or what is wrong."""
    from mixtral_tui.errors import ConfigError
    from mixtral_tui.tools.mcp_config import load_mcp_servers, mcp_file

    path = mcp_file(config_dir)
    if not path.exists():
        return f"{path} (not there: no tools)"
    try:
        servers = load_mcp_servers(path)
    except ConfigError as exc:
        return f"{path} (BROKEN: {exc} The app and `ask` run without tools until it is fixed)"
    names = ", ".join(s.name + (" (disabled)" if s.disabled else "") for s in servers) or "none"
    return f"{path} ({len(servers)} server{'s' if len(servers) != 1 else ''}: {names}; `mixtral-tui tools` starts them)"


def config_state(path: Path) -> str:
    """What `doctor` says of config.toml: absent (the defaults), read, or what is wrong in it."""
    from mixtral_tui.config import load_config
    from mixtral_tui.errors import ConfigError

    if not path.exists():
        return "not there: the defaults apply; the app's Settings screen writes it"
    try:
        load_config(path)
    except ConfigError as exc:
        return f"BROKEN: {exc} The app and `ask` stop at it until it is fixed"
    return "read, valid"
