"""CLI commands about models: `models`, `download`, `doctor`, and resolving `owner/repo:QUANT`."""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from mixtral_tui.errors import UserError
from mixtral_tui.text_safety import displayable_line

REPO_SPEC = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(?::(?P<quant>[\w.-]+))?$")
GB = 1e9


def _gb(size: int) -> str:
    return f"{size / GB:.2f} GB"


def local_models(extra_folder: str = "") -> list[Path]:
    """GGUF files in the Hugging Face cache and the configured models folder (first parts of splits only)."""
    from mixtral_tui.models.download import hub_cache

    found: list[Path] = []
    roots = [hub_cache()] + ([Path(extra_folder).expanduser()] if extra_folder else [])
    for root in roots:
        if root.is_dir():
            pattern = "models--*/snapshots/*/**/*.gguf" if root == hub_cache() else "**/*.gguf"
            found += [p for p in root.glob(pattern) if not re.search(r"-0000[2-9]-of-|-000[1-9]\d-of-", p.name)]
    return sorted(set(found))


def local_row(path: Path) -> tuple[str, str, str, str, str, str]:
    """(path, size, architecture, quant, kind, loadable) of a local GGUF file, each on one line and
    displayable (read_info makes the header's text so: it is anybody's, escapes and tabs and all)."""
    from mixtral_tui.models.gguf_info import read_info

    try:
        info = read_info(path)
    except (ValueError, OSError) as exc:
        return str(path), "-", "-", "-", "-", displayable_line(f"no: {exc}")
    kind = f"MoE {info.expert_count}x" if info.is_moe else "dense"
    if info.old_expert_layout:
        loadable = "no: old Mixtral layout, download a newer conversion"
    elif info.truncated:
        loadable = "no: truncated"
    else:
        loadable = "yes"
    return str(path), _gb(info.size), info.architecture, info.quant or "?", kind, loadable


def describe_local(path: Path) -> str:
    """A line of `mixtral-tui models`: the row's fields, tab-separated."""
    return "\t".join(local_row(path))


def models_command(repo: str | None, context: int, models_dir: str) -> int:
    if repo is None:
        paths = local_models(models_dir)
        if not paths:
            print("no local GGUF files; `mixtral-tui download mradermacher/Mixtral-8x7B-Instruct-v0.1-GGUF` fetches one",
                  file=sys.stderr)
        for path in paths:
            print(describe_local(path))
        return 0
    from mixtral_tui.models.download import cached_path
    from mixtral_tui.models.hub import list_quants

    hardware = detect_hardware()
    shape = shape_for(repo)
    quants = list_quants(repo)
    if not quants:
        raise UserError(f"{repo} has no .gguf files.")
    print(f"# {repo} at context {context:,} on this machine: {hardware_line(hardware)}")
    from mixtral_tui.models.planner import plan

    for q in quants:
        verdict = plan(shape, q.size, context, hardware)
        bpw = f"{q.size * 8 / shape.params:.2f}" if shape.params else "?"
        have = "downloaded" if cached_path(repo, q.first.path, models_dir) else "-"
        parts = f" ({len(q.files)} parts)" if len(q.files) > 1 else ""
        print(f"{q.quant}\t{_gb(q.size)}{parts}\t{bpw} bpw\t{verdict.summary}\t~{verdict.est_decode_tps:.0f} tok/s\t{have}")
    return 0


def shape_for(repo: str):
    """The catalog's shape for a known repo, else a generic 7B-like dense guess."""
    from mixtral_tui.models.catalog import MISTRAL_7B, entry

    known = entry(repo)
    if known:
        return known.shape
    from dataclasses import replace

    return replace(MISTRAL_7B, params=0.0, active_params=0.0)


def detect_hardware():
    from mixtral_tui.engine import detect_hardware as detect

    return detect()


def hardware_line(hw) -> str:
    gpus = ", ".join(f"{g.description or g.name} {g.free / GB:.0f}/{g.total / GB:.0f} GB free" for g in hw.gpus)
    if hw.probe_error:
        gpus = f"GPUs unknown ({hw.probe_error}; planned for CPU only, `mixtral-tui doctor` says more)"
    return f"{gpus or 'no GPU in use'}; RAM {hw.ram_available / GB:.0f}/{hw.ram_total / GB:.0f} GB free"


def pick_quant(repo: str, wanted: str | None):
    from mixtral_tui.models.catalog import PREFERRED_QUANTS
    from mixtral_tui.models.hub import list_quants

    quants = list_quants(repo)
    if not quants:
        raise UserError(f"{repo} has no .gguf files.")
    by_name = {q.quant.upper(): q for q in quants}
    if wanted:
        if wanted.upper() not in by_name:
            raise UserError(f"{repo} has no {wanted}; it has {', '.join(by_name)}.")
        return by_name[wanted.upper()]
    for name in PREFERRED_QUANTS:
        if name in by_name:
            return by_name[name]
    return quants[0]


def _bar(progress) -> str:
    width = 30
    filled = int(progress.fraction * width)
    eta = progress.eta
    eta_text = f"ETA {int(eta // 60)}:{int(eta % 60):02d}" if eta is not None else "ETA --:--"
    state = "verifying" if progress.verifying else f"{progress.speed / 1e6:6.1f} MB/s {eta_text}"
    return (f"\r[{'#' * filled}{'.' * (width - filled)}] {progress.fraction * 100:5.1f}% "
            f"{progress.done / GB:.2f}/{progress.total / GB:.2f} GB {state} ")


def download_command(spec: str, models_dir: str = "") -> int:
    from mixtral_tui.models.download import download, download_root

    match = REPO_SPEC.match(spec)
    if not match:
        raise UserError(f"'{spec}' is not owner/repo or owner/repo:QUANT.")
    choice = pick_quant(match.group("repo"), match.group("quant"))
    last = [0.0]

    def show(progress) -> None:
        now = time.monotonic()
        if now - last[0] >= 0.2 or progress.verifying:
            sys.stderr.write(_bar(progress))
            sys.stderr.flush()
            last[0] = now

    print(f"{match.group('repo')} {choice.quant}: {len(choice.files)} file(s), {_gb(choice.size)}", file=sys.stderr)
    path = download(match.group("repo"), choice, progress=show, cache=download_root(models_dir))
    sys.stderr.write("\n")
    print(path)
    return 0


def resolve_model(spec: str, allow_download: bool = False, models_dir: str = "") -> str:
    """A path stays a path; `owner/repo[:QUANT]` becomes the downloaded file (or a hint)."""
    if not spec or Path(spec).expanduser().exists():
        return spec
    match = REPO_SPEC.match(spec)
    if not match or spec.endswith(".gguf"):
        return spec
    from mixtral_tui.models.download import cached_path, download_root, hub_cache, repo_folder
    from mixtral_tui.models.hub import quant_of

    repo, quant = match.group("repo"), match.group("quant")
    for root in {hub_cache(), download_root(models_dir)}:
        for path in sorted((repo_folder(repo, root) / "snapshots").glob("*/*.gguf")):
            if (quant is None or quant_of(path.name).upper() == quant.upper()) and not re.search(r"-0000[2-9]-of-", path.name):
                return str(path)
    if not allow_download:
        raise UserError(f"{spec} is not downloaded yet; run `mixtral-tui download {spec}` (or add --download).")
    from mixtral_tui.models.download import download

    choice = pick_quant(repo, quant)
    return str(download(repo, choice, cache=download_root(models_dir)))


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
    print(f"RAM              {hw.ram_available / GB:.1f} GB free of {hw.ram_total / GB:.1f} GB")
    for gpu in hw.gpus:
        print(f"GPU              {gpu.description or gpu.name}: {gpu.free / GB:.1f} GB free of {gpu.total / GB:.1f} GB")
    if hw.probe_error:
        print(f"GPU              unknown: {hw.probe_error}")
        print(f"  The model would run on the CPU only. llama.cpp's own lines may say why: {paths.llama_log}")
    elif not hw.gpus:
        print("GPU              none that this llama.cpp build can use")
    print(f"llama-cpp-python {md.version('llama-cpp-python')} (GPU offload: {'yes' if hw.gpu_offload else 'unknown' if hw.probe_error else 'no, CPU only'})")
    hint = missing_gpu_hint(hw)
    if hint:
        print(f"  hint: {hint}")
    print(f"config           {paths.config_file}")
    print(f"history          {paths.database}")
    print(f"llama.cpp log    {paths.llama_log}")
    print(f"Hub endpoint     {hub.endpoint()}")
    print(f"Hub cache        {hub_cache()}")
    print(f"Hub token        {'set' if hub.token() else 'not set (only public repos)'}")
    print(f"offline mode     {'on (HF_HUB_OFFLINE)' if hub.offline() else 'off'}")
    if os.environ.get("MIXTRAL_TUI_HOME"):
        print(f"MIXTRAL_TUI_HOME {os.environ['MIXTRAL_TUI_HOME']}")
    return 0
