"""GGUF files already on this machine: where they are, and what their headers say (for
`mixtral-tui models` and the picker's Local files)."""

from __future__ import annotations

import re
from pathlib import Path

from mixtral_tui.models.hardware import gib
from mixtral_tui.text_safety import displayable_line


def size_text(size: int) -> str:
    return gib(size, 2)


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


def known_models(
    models_dir: str = "", loaded: str = "", configured: str = "", recent: tuple[str, ...] | list[str] = ()
) -> list[tuple[Path, str]]:
    """Every GGUF file the user has reason to pick, with why it is listed: the model loaded now,
    the config's `model.path`, the ones loaded lately (models/recent.py), then the files of the
    Hugging Face cache and the models folder. A model outside the cache is listed too (it was
    "No .gguf files" while one was loaded). Each file once, under its first reason."""
    listed: list[tuple[Path, str]] = []
    seen: set[Path] = set()
    named = [(loaded, "loaded"), (configured, "in config")] + [(p, "recent") for p in recent]
    for path, why in named + [(str(p), "") for p in local_models(models_dir)]:
        if not path or not path.endswith(".gguf"):
            continue
        found = Path(path).expanduser()
        key = found.resolve()
        if key not in seen and found.is_file():
            seen.add(key)
            listed.append((found, why))
    return listed


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
    return str(path), size_text(info.size), info.architecture, info.quant or "?", kind, loadable


def describe_local(path: Path) -> str:
    """A line of `mixtral-tui models`: the row's fields, tab-separated."""
    return "\t".join(local_row(path))
