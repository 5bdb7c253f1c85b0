"""Resumable, verified downloads into the Hugging Face cache layout.

huggingface_hub restarts a killed download from zero, so the bytes are
fetched here with HTTP Range: a partial `blobs/<sha256>.incomplete` survives a
dropped connection, a cancel, a crash or kill -9, and the next try continues
where it stopped. A file becomes usable only after its size and the sha256
the Hub publishes both match; then it is linked from `snapshots/<commit>/`
so llama.cpp's `-hf`, transformers and others find it too.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mixtral_tui.cancel import CancelToken
from mixtral_tui.errors import UserError
from mixtral_tui.models import hub
from mixtral_tui.models.hardware import gib
from mixtral_tui.models.hub import QuantChoice, RemoteFile

if TYPE_CHECKING:
    from hashlib import _Hash as Hash

    from mixtral_tui.models.gguf_info import GgufInfo

CHUNK = 1024 * 1024
RETRIES = 5
TIMEOUT = 30


class DownloadCancelled(UserError):
    """The user stopped it; what was fetched is kept for the next try."""


@dataclass
class Progress:
    filename: str
    done: int  # bytes of the whole choice (all parts)
    total: int
    speed: float  # bytes/s over the last few seconds
    resumed_from: int = 0
    verifying: bool = False

    @property
    def fraction(self) -> float:
        return self.done / self.total if self.total else 0.0

    @property
    def eta(self) -> float | None:
        return (self.total - self.done) / self.speed if self.speed > 0 else None


def hub_cache() -> Path:
    """The Hub cache folder, read now (HF_HUB_CACHE, then HF_HOME, then ~/.cache/huggingface)."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return Path(home) / "hub"


def repo_folder(repo: str, cache: Path | None = None) -> Path:
    return (cache or hub_cache()) / ("models--" + repo.replace("/", "--"))


def download_root(models_dir: str = "") -> Path:
    """Where downloads go: the configured models folder (same layout inside), else the Hub cache."""
    return Path(models_dir).expanduser() if models_dir else hub_cache()


def cached_path(repo: str, filename: str, models_dir: str = "") -> Path | None:
    """The local copy of a finished file, if any: in the Hub cache or the models folder, any snapshot."""
    roots = [hub_cache()] + ([download_root(models_dir)] if models_dir else [])
    for root in roots:
        snapshots = repo_folder(repo, root) / "snapshots"
        if snapshots.is_dir():
            for snapshot in sorted(snapshots.iterdir()):
                candidate = snapshot / filename
                if candidate.exists():
                    return candidate
    return None


class _Meter:
    """Speed over a sliding window, so the ETA does not jump with every chunk."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int]] = []

    def speed(self, done: int) -> float:
        now = time.monotonic()
        self.samples.append((now, done))
        self.samples = [s for s in self.samples if now - s[0] <= 5.0]
        first_time, first_done = self.samples[0]
        return (done - first_done) / (now - first_time) if now > first_time else 0.0


def _free_space(folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(folder).free


def _fetch(url: str, target: Path, size: int, digest: Hash, headers: dict[str, str], cancel: CancelToken,
           report: Callable[[int], None]) -> Hash:
    """Append bytes to `target` from where it ends, retrying with Range on dropped connections;
    returns the digest of the whole file (a new one if the server made it start over)."""
    failures = 0
    while True:
        have = target.stat().st_size if target.exists() else 0
        if have >= size:
            return digest
        request = urllib.request.Request(url, headers={**headers, "Range": f"bytes={have}-"})
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                if response.status == 200 and have:  # the server ignored Range: start over
                    target.unlink()
                    digest = hashlib.sha256()
                    have = 0
                with target.open("ab") as out:
                    while True:
                        if cancel.cancelled:
                            raise DownloadCancelled("download stopped; run it again to resume where it left off.")
                        block = response.read1(CHUNK)  # what has arrived: cancel and progress stay prompt
                        if not block:
                            break
                        out.write(block)
                        digest.update(block)
                        have += len(block)
                        report(have)
            if have < size:
                raise ConnectionError("the connection closed early")
            return digest
        except DownloadCancelled:
            raise
        except OSError as exc:
            if getattr(exc, "errno", None) == 28:  # ENOSPC
                raise UserError(f"the disk filled up while writing {target}; free some space and run again to resume.") from None
            if isinstance(exc, urllib.error.HTTPError) and exc.code in (401, 403, 404):
                raise UserError(f"the download was refused ({exc.code}); check HF_TOKEN and the repo.") from None
            failures += 1
            if failures > RETRIES:
                raise UserError(
                    f"the network keeps dropping ({exc}); {have:,} of {size:,} bytes are kept, run again to resume."
                ) from None
            time.sleep(min(0.2 * 2**failures, 5))


def _hash_existing(path: Path) -> Hash:
    digest = hashlib.sha256()
    if path.exists():
        with path.open("rb") as handle:
            while block := handle.read(CHUNK):
                digest.update(block)
    return digest


def download(
    repo: str,
    choice: QuantChoice,
    progress: Callable[[Progress], None] | None = None,
    cancel: CancelToken | None = None,
    cache: Path | None = None,
) -> Path:
    """Download every part of `choice`; return the local path of the first part."""
    if hub.offline():
        raise UserError("offline (HF_HUB_OFFLINE is set): unset it to download, or pick a file already downloaded.")
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import build_hf_headers

    cancel = cancel or CancelToken()
    hub.check_reachable()
    folder = repo_folder(repo, cache)
    token = hub.token()
    total = choice.size
    done_before = 0
    meter = _Meter()
    paths = []
    for remote in choice.files:
        url = hf_hub_url(repo, remote.path, revision="main", endpoint=hub.endpoint())
        try:
            meta = get_hf_file_metadata(url, token=token, endpoint=hub.endpoint())
        except Exception as exc:
            raise hub.explain_hub_error(exc, repo) from None
        size = meta.size if meta.size is not None else remote.size
        sha = remote.sha256 or (meta.etag if meta.etag and len(meta.etag) == 64 else None)
        blob = folder / "blobs" / (sha or meta.etag or remote.path.replace("/", "_"))
        partial = blob.with_name(blob.name + ".incomplete")
        if not blob.exists():
            already = partial.stat().st_size if partial.exists() else 0
            if _free_space(blob.parent) < size - already:
                raise UserError(
                    f"not enough disk space for {remote.path}: needs {gib(size - already)} more in "
                    f"{blob.parent}, {gib(_free_space(blob.parent))} free. Free some space or set HF_HUB_CACHE."
                )
            digest = _hash_existing(partial)

            def report(have: int, name: str = remote.path, start: int = already, base: int = done_before) -> None:
                if progress:
                    progress(Progress(name, base + have, total, meter.speed(base + have), start))

            report(already)
            digest = _fetch(meta.location, partial, size, digest, build_hf_headers(token=token), cancel, report)
            if progress:
                progress(Progress(remote.path, done_before + size, total, 0.0, already, verifying=True))
            if partial.stat().st_size != size or (sha and digest.hexdigest() != sha):
                partial.unlink()
                raise UserError(
                    f"{remote.path} did not match the checksum the Hub publishes; the broken copy was deleted, "
                    "run again to download it afresh."
                )
            partial.replace(blob)
        paths.append(_link(folder, blob, meta.commit_hash or "main", remote.path))
        done_before += size
    return paths[0]


def remote_info(repo: str, remote: RemoteFile, max_bytes: int = 32 * 1024 * 1024) -> GgufInfo:
    """Read a remote GGUF's header with small Range requests: its layout and shape, before any download.

    Old one-tensor-per-expert Mixtral files are caught here, not after 24.6 GiB. It asks for 1 MiB
    (Mixtral's header fits) and doubles only while the header runs past what arrived.
    """
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.utils import build_hf_headers

    from mixtral_tui.models.gguf_info import info_from_header

    url = hf_hub_url(repo, remote.path, revision="main", endpoint=hub.endpoint())
    try:
        meta = get_hf_file_metadata(url, token=hub.token(), endpoint=hub.endpoint())
    except Exception as exc:
        raise hub.explain_hub_error(exc, repo) from None
    wanted = 1024 * 1024
    while True:
        headers = {**build_hf_headers(token=hub.token()), "Range": f"bytes=0-{wanted - 1}"}
        try:
            request = urllib.request.Request(meta.location, headers=headers)
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                data = response.read(wanted)
        except OSError as exc:
            raise UserError(f"cannot read the header of {remote.path} ({exc}).") from None
        try:
            return info_from_header(data, remote.size, Path(remote.path))
        except ValueError:
            if len(data) < wanted or wanted >= max_bytes:
                raise  # the whole file, or more than any header needs: it really is damaged
            wanted *= 2


def _link(folder: Path, blob: Path, commit: str, filename: str) -> Path:
    """snapshots/<commit>/<filename> -> ../../blobs/<sha>, and refs/main, as huggingface_hub lays them out."""
    target = folder / "snapshots" / commit / filename
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        relative = os.path.relpath(blob, target.parent)
        try:
            target.symlink_to(relative)
        except OSError:  # no symlinks (some Windows setups): keep a copy instead
            shutil.copyfile(blob, target)
    refs = folder / "refs"
    refs.mkdir(exist_ok=True)
    (refs / "main").write_text(commit)
    return target
