"""Benchmark 7: the terminal parser, Textual's own against the app's paste-safe one, interleaved.

Typed keys (a stream of letters, arrows and Ctrl keys) and one bracketed paste of 1 MB of text
with colour codes in it, fed in 4 KiB reads as the driver feeds them. The app's parser lets
Textual's read every key, so typing should cost the same; a paste it reads itself.

    python benchmarks/paste.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from textual._xterm_parser import XTermParser

from mixtral_tui.ui.terminal_input import PasteSafeParser

TYPED = ("hello world " + "\x1b[A\x1b[B" + "\x0e") * 8_000  # letters, ↑ ↓, Ctrl+N
LINE = "2026-12-01 10:00:00 \x1b[32mINFO\x1b[0m request served in 12 ms from the cache\r\n"
PASTE = "\x1b[200~" + LINE * (1_000_000 // len(LINE)) + "\x1b[201~"


def seconds(parser_class: type[XTermParser], data: str) -> float:
    parser = parser_class()
    start = time.perf_counter()
    for offset in range(0, len(data), 4096):
        for _event in parser.feed(data[offset : offset + 4096]):
            pass
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    for name, data in (("typed keys", TYPED), ("1 MB paste", PASTE)):
        textual, ours = [], []
        for _ in range(rounds):
            textual.append(seconds(XTermParser, data))
            ours.append(seconds(PasteSafeParser, data))
        t, o = statistics.median(textual), statistics.median(ours)
        print(f"{name:<11} Textual {t * 1000:8.1f} ms   paste-safe {o * 1000:8.1f} ms   ratio {o / t:5.2f}"
              f"   ({len(data):,} characters)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
