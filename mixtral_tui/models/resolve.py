"""`owner/repo[:QUANT]` as the user writes it: which quantization it means, and the file it names
once downloaded (the command line and the picker both need it)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from mixtral_tui.errors import UserError

if TYPE_CHECKING:
    from mixtral_tui.models.hub import QuantChoice

REPO_SPEC = re.compile(r"^(?P<repo>[\w.-]+/[\w.-]+)(?::(?P<quant>[\w.-]+))?$")


def pick_quant(repo: str, wanted: str | None) -> QuantChoice:
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


def resolve_model(spec: str, allow_download: bool = False, models_dir: str = "") -> str:
    """A path stays a path; `owner/repo[:QUANT]` becomes the downloaded file (or a hint)."""
    if not spec or Path(spec).expanduser().exists():
        return spec
    match = REPO_SPEC.match(spec)
    if not match or spec.endswith(".gguf"):
        return spec
    from mixtral_tui.models.download import download_root, hub_cache, repo_folder
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
