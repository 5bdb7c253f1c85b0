"""`mixtral-tui web` with the played Mixtral conversation as its one engine, for screenshots/web.png:

    python screenshots/played_web.py MODEL_FILE --port N

The same command as `mixtral-tui web --model MODEL_FILE` (the file only has to exist), its engine
the scripted one of played_conversation.py: each page's app is the real app, reaching it over
HTTP as it reaches a real model."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    import mixtral_tui.engine
    from mixtral_tui.cli import main as cli
    from screenshots.played_conversation import PlayedEngine

    mixtral_tui.engine.create_engine = lambda **_options: PlayedEngine(delay=0.02)  # type: ignore[assignment]
    return cli(["web", "--model", *sys.argv[1:]])


if __name__ == "__main__":
    raise SystemExit(main())
