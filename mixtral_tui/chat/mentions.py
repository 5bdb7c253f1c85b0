"""`@path` in a message: which words name files to attach, and Tab's completion of them.

An `@` starts a path only at the start of a word (an e-mail address's `@` does not), relative to
the directory the app was started in; `~/` and absolute paths work too. A word that names nothing
(`@alice`, a handle) is left as text. Trailing punctuation (`@notes.txt,`) is tried without it.
The text itself is sent as typed: the files go after it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MENTION = re.compile(r"(?<!\S)@(\S+)")
TRAILING = ".,;:!?)]}'\""


def resolve(word: str, base: Path) -> Path:
    path = Path(os.path.expanduser(word))
    return path if path.is_absolute() else base / path


def mentioned(text: str, base: Path) -> list[tuple[str, Path]]:
    """(the path as written, where it is) for each `@word` that names a file or directory, in
    order, each once. Reads the disk: call it from a worker."""
    found: list[tuple[str, Path]] = []
    seen: set[Path] = set()
    for match in MENTION.finditer(text):
        word = match.group(1)
        for written in dict.fromkeys((word, word.rstrip(TRAILING))):
            if not written:
                continue
            path = resolve(written, base)
            if os.path.lexists(path):
                if path not in seen:
                    seen.add(path)
                    found.append((written.rstrip("/") or written, path))
                break
    return found


@dataclass(frozen=True)
class Completion:
    start: int  # where the `@word` begins in the text (after the `@`)
    end: int  # where it ends (the cursor)
    replacement: str  # what goes there: the one match, or what all the matches share
    matches: tuple[str, ...]  # every match, as written (directories end in /)


def complete(text: str, cursor: int, base: Path, most: int = 200) -> Completion | None:
    """Tab in the message box: the `@word` that ends at the cursor, completed. None when the
    cursor is not at the end of an `@word` (Tab then keeps its usual meaning)."""
    before = text[:cursor]
    match = re.search(r"(?:^|(?<=\s))@(\S*)$", before)
    if match is None or (cursor < len(text) and not text[cursor].isspace()):
        return None
    word = match.group(1)
    if word.startswith("~") and "/" not in word:
        return None  # `~user`: not completed
    cut = word.rfind("/") + 1
    written_dir, prefix = word[:cut], word[cut:]  # "src/", "/", "~/" or "" (the start directory)
    folder = resolve(written_dir, base) if written_dir else base
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return Completion(match.start(1), cursor, word, ())
    matches = []
    for entry in entries:
        if not entry.name.startswith(prefix) or (entry.name.startswith(".") and not prefix.startswith(".")):
            continue
        matches.append(written_dir + entry.name + ("/" if entry.is_dir() else ""))
        if len(matches) >= most:
            break
    if not matches:
        return Completion(match.start(1), cursor, word, ())
    shared = os.path.commonprefix(matches)  # noqa: RUF071 (what every match starts with, letter by letter)
    return Completion(match.start(1), cursor, matches[0] if len(matches) == 1 else max(shared, word, key=len),
                      tuple(matches))
