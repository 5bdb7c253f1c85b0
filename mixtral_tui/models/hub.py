"""The Hugging Face Hub, as the app needs it: which quantizations a repo has, and the settings.

Endpoint, token and offline mode are read when asked (not at import), so
`HF_ENDPOINT`, `HF_TOKEN` and `HF_HUB_OFFLINE` work however the app started.
Hub errors become UserErrors that say what to do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from mixtral_tui.errors import UserError

DEFAULT_ENDPOINT = "https://huggingface.co"
SPLIT_PART = re.compile(r"^(?P<stem>.+)-(?P<part>\d{5})-of-(?P<total>\d{5})\.gguf$")
QUANT_IN_NAME = re.compile(
    r"(?i)(?<![A-Za-z0-9])(I?Q\d(?:_[A-Z0-9]+)*|F16|BF16|F32)(?=[.\-_]|$)"
)


def endpoint() -> str:
    return (os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT).rstrip("/")


def offline() -> bool:
    return (os.environ.get("HF_HUB_OFFLINE") or "").strip().lower() in ("1", "true", "yes", "on")


def token() -> str | None:
    """HF_TOKEN, else the token saved by `hf auth login`."""
    if os.environ.get("HF_TOKEN"):
        return os.environ["HF_TOKEN"]
    from huggingface_hub import get_token

    return get_token()


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None


@dataclass
class QuantChoice:
    """One quantization: a single .gguf, or all parts of a split one (load part 1)."""

    quant: str
    files: list[RemoteFile] = field(default_factory=list)

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def first(self) -> RemoteFile:
        return self.files[0]


def quant_of(filename: str) -> str:
    """`Mixtral-8x7B-Instruct-v0.1.Q4_K_M.gguf` -> `Q4_K_M`."""
    name = filename.rsplit("/", 1)[-1]
    match = SPLIT_PART.match(name)
    stem = match.group("stem") if match else name.removesuffix(".gguf")
    found = QUANT_IN_NAME.findall(stem)
    return found[-1].upper() if found else stem


def group_quants(files: list[RemoteFile]) -> list[QuantChoice]:
    """Group .gguf files by quantization; split parts become one choice, in part order."""
    groups: dict[str, QuantChoice] = {}
    for f in sorted(files, key=lambda f: f.path):
        if not f.path.endswith(".gguf") or "mmproj" in f.path.lower():
            continue
        key = quant_of(f.path)
        groups.setdefault(key, QuantChoice(key)).files.append(f)
    return sorted(groups.values(), key=lambda q: q.size)


def explain_hub_error(exc: Exception, repo: str) -> UserError:
    """Turn a huggingface_hub or network exception into one line that says what to do."""
    from huggingface_hub.errors import (
        EntryNotFoundError,
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
    )

    if isinstance(exc, GatedRepoError):  # before RepositoryNotFoundError: it is a subclass
        return UserError(
            f"{repo} is gated: accept its terms on the Hub, then set HF_TOKEN or run `hf auth login`."
        )
    if isinstance(exc, RepositoryNotFoundError):
        hint = " (or it is private: set HF_TOKEN or run `hf auth login`)" if not token() else ""
        return UserError(f"no repository {repo} at {endpoint()}: check the name{hint}.")
    if isinstance(exc, EntryNotFoundError):
        return UserError(f"{repo} has no such file; `mixtral-tui models {repo}` lists what it has.")
    if isinstance(exc, LocalEntryNotFoundError):
        return UserError(f"cannot reach {endpoint()} and the file is not downloaded yet; check the network.")
    if isinstance(exc, HfHubHTTPError):
        status = getattr(getattr(exc, "response", None), "status_code", None)
        if status == 401:
            return UserError(f"{endpoint()} refused the token (401): check HF_TOKEN or run `hf auth login` again.")
        return UserError(f"the Hub answered an error for {repo} ({status}): {str(exc).splitlines()[0]}")
    return UserError(f"cannot reach {endpoint()} ({exc.__class__.__name__}: {exc}); check the network and try again.")


def check_reachable(timeout: float = 3.0) -> None:
    """Fail fast when the endpoint cannot be reached (huggingface_hub would retry for ~20 s)."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(endpoint())
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as exc:
        raise UserError(
            f"cannot reach {endpoint()} ({exc.strerror or exc}); check the network, or set HF_HUB_OFFLINE=1 "
            "to use downloaded files only."
        ) from None


def list_quants(repo: str) -> list[QuantChoice]:
    """The repo's GGUF quantizations with sizes and sha256, from the Hub's tree listing."""
    if offline():
        raise UserError("offline (HF_HUB_OFFLINE is set): the Hub cannot be asked; unset it to list a repo.")
    check_reachable()
    from huggingface_hub import HfApi, RepoFile

    try:
        entries = list(HfApi(endpoint=endpoint(), token=token()).list_repo_tree(repo, recursive=True))
    except Exception as exc:
        raise explain_hub_error(exc, repo) from None
    files = [
        RemoteFile(e.path, e.size, e.lfs.sha256 if e.lfs else None)
        for e in entries
        if isinstance(e, RepoFile)
    ]
    return group_quants(files)
