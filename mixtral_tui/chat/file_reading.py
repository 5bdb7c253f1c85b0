"""Reading the files and directories a user attaches into the texts a message carries.

Attaching is always the user's act; this module only reads what they named, and refuses, before
anything is sent, what cannot go: a file that is not there or cannot be read, a binary (NUL bytes,
or text in neither UTF-8 nor the locale's encoding, said which), a FIFO, socket or device (reading
one would wait, or never end), a file larger than any context. A directory gives its text files:
what git ignores is left out when it is in a repository (and `.git/` always), so are binaries,
files over a size and files that commonly hold keys (`.env`, `*.pem`, `id_rsa*`…), each listed
with why; a file of that kind named on its own is attached, as asked. Runs in a worker: it reads
the disk.
"""

from __future__ import annotations

import codecs
import fnmatch
import locale
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mixtral_tui.errors import UserError
from mixtral_tui.store.attachments import Attachment
from mixtral_tui.vocabulary import AttachmentKind

SECRET_NAMES = (".env", ".env.*", "*.env", "*.pem", "*.key", "*.p12", "*.pfx", "*.jks", "*.kdbx", "id_rsa*", "id_dsa*",
                "id_ecdsa*", "id_ed25519*", ".netrc", ".npmrc", ".pypirc", ".htpasswd", "credentials", "credentials.*",
                "*.tfvars", "secrets.*", ".git-credentials")
"""Names of files that commonly hold keys and tokens: a directory leaves them out."""
NOT_SECRET = ("*.example", "*.sample", "*.template", "*.dist")
"""…unless they are the committed example of one (`.env.example`)."""


@dataclass(frozen=True)
class FolderLimits:
    file_bytes: int = 512 * 1024  # a directory's file over this is skipped (named on its own, it goes)
    files: int = 300  # files one directory gives at most
    total_bytes: int = 4 * 1024 * 1024  # bytes one directory gives at most


DEFAULT_LIMITS = FolderLimits()


class AttachError(UserError):
    """A file or directory that cannot be attached; the message names it and says what to do."""


def size_words(size: int) -> str:
    """`74 B`, `12.3 KB`, `4.1 MB` (decimal, as `ls -h --si` and file managers show sizes)."""
    if size < 1000:
        return f"{size} B"
    for unit in ("KB", "MB", "GB"):
        size /= 1000  # type: ignore[assignment]
        if size < 1000 or unit == "GB":
            return f"{size:.1f} {unit}"
    raise AssertionError("unreachable")


def is_secret(name: str) -> bool:
    base = os.path.basename(name)
    return any(fnmatch.fnmatch(base, p) for p in SECRET_NAMES) and not any(fnmatch.fnmatch(base, p) for p in NOT_SECRET)


def _kind_of(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO (a named pipe): reading it waits for whatever writes to it"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device: reading it may never end"
    return "not a regular file"


def decode(data: bytes, shown: str) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped), else the locale's encoding when that is
    another; a binary raises AttachError saying how it was told."""
    if b"\x00" in data:
        raise AttachError(f"{shown} is a binary file (it holds NUL bytes), not text: attach text files only")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{data[exc.start]:02x} at offset {exc.start:,}"
    preferred = locale.getpreferredencoding(False)
    if codecs.lookup(preferred).name != "utf-8":
        try:
            return data.decode(preferred)
        except UnicodeDecodeError:
            pass
        tried = f"UTF-8 ({where}) nor {preferred}, this locale's encoding"
    else:
        tried = f"UTF-8 ({where}), this locale's encoding"
    raise AttachError(f"{shown} is not text in {tried}: a binary file, or text in another encoding; "
                      f"convert it (iconv -f ITS-ENCODING -t UTF-8 {shown}) and attach that")


def read_file(path: Path, shown: str, max_bytes: int) -> Attachment:
    """One file named by the user (on its own: secrets and sizes below `max_bytes` go)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise AttachError(f"{shown}: there is no such file or directory; check the path") from None
    except OSError as exc:
        raise AttachError(f"{shown} cannot be read ({exc.strerror}); check its permissions") from None
    if not stat.S_ISREG(info.st_mode):
        raise AttachError(f"{shown} is {_kind_of(info.st_mode)}, not a file to attach; save what you want from "
                          "it to a file and attach that")
    if info.st_size > max_bytes:
        raise AttachError(f"{shown} is {size_words(info.st_size)}, more than the whole context holds; attach a part "
                          "of it (head, tail or grep into a file) or start with a larger --ctx")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise AttachError(f"{shown} cannot be read ({exc.strerror}); check its permissions") from None
    return Attachment(shown, decode(data, shown), AttachmentKind.FILE, str(path.resolve()), mtime=info.st_mtime)


def _git_files(folder: Path) -> list[str] | None:
    """The files git keeps or would keep under `folder` (tracked and untracked, not ignored);
    None when it is in no repository (or git is not installed)."""
    try:
        done = subprocess.run(["git", "-C", str(folder), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                              capture_output=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return sorted({name for name in done.stdout.decode("utf-8", errors="surrogateescape").split("\0") if name})


def _walked_files(folder: Path) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        found += [os.path.relpath(os.path.join(root, f), folder) for f in files]
    return sorted(found)


def read_folder(folder: Path, shown: str, limits: FolderLimits = DEFAULT_LIMITS) -> list[Attachment]:
    """A directory's text files, then its note of what it gave and what it skipped (and why)."""
    listed = _git_files(folder)
    in_git = listed is not None
    names = listed if listed is not None else _walked_files(folder)
    files: list[Attachment] = []
    skipped: list[tuple[str, str]] = []
    total, limit = 0, ""
    for name in names:
        inside = f"{shown.rstrip('/')}/{name}"
        full = folder / name
        if is_secret(name):
            skipped.append((inside, "may hold keys or tokens; name it on its own to attach it"))
            continue
        try:
            info = full.lstat()
        except OSError:
            skipped.append((inside, "gone (git still lists it)" if in_git else "cannot be read"))
            continue
        if stat.S_ISLNK(info.st_mode):
            skipped.append((inside, "a link"))
            continue
        if not stat.S_ISREG(info.st_mode):
            skipped.append((inside, _kind_of(info.st_mode)))
            continue
        if info.st_size > limits.file_bytes:
            skipped.append((inside, f"{size_words(info.st_size)}, over {size_words(limits.file_bytes)}; "
                                    "name it on its own to attach it"))
            continue
        if limit or len(files) >= limits.files or total + info.st_size > limits.total_bytes:
            limit = (f"the limit of {limits.files:,} files or {size_words(limits.total_bytes)} a directory gives "
                     "was reached; attach its subdirectories one by one for the rest")
            skipped.append((inside, "past the directory's limit"))
            continue
        try:
            text = decode(full.read_bytes(), inside)
        except AttachError:
            skipped.append((inside, "binary, or not UTF-8 text"))
            continue
        except OSError as exc:
            skipped.append((inside, f"cannot be read ({exc.strerror})"))
            continue
        total += info.st_size
        files.append(Attachment(inside, text, AttachmentKind.FILE, str(full.resolve()), shown, info.st_mtime))
    note = Attachment(shown, kind=AttachmentKind.FOLDER, source=str(folder.resolve()), skipped=tuple(skipped),
                      limit=limit)
    return files + [note]


def read_path(path: Path, shown: str, max_bytes: int, limits: FolderLimits = DEFAULT_LIMITS) -> list[Attachment]:
    """What a named path gives: a file, or a directory's files and its note."""
    if path.is_dir():
        try:
            return read_folder(path, shown, limits)
        except OSError as exc:
            raise AttachError(f"{shown} cannot be read ({exc.strerror}); check its permissions") from None
    return [read_file(path, shown, max_bytes)]


def since_sent(attachment: Attachment) -> str:
    """What became of the file it was read from: "" (as sent), "changed on disk since" or "gone from
    disk since"; the message says so. The text sent is what is kept and sent again, whatever the
    disk holds. Its time is looked at first; its text is read only when the time changed."""
    if attachment.kind != AttachmentKind.FILE or not attachment.source or attachment.mtime is None:
        return ""
    source = Path(attachment.source)
    try:
        if source.stat().st_mtime == attachment.mtime:
            return ""
        now = source.read_bytes()
    except OSError:
        return "gone from disk since"
    try:
        same = decode(now, attachment.name) == attachment.text
    except AttachError:
        same = False
    return "" if same else "changed on disk since"
