"""Benchmark 9: the app in a browser (`mixtral-tui web`) against the app in a terminal, same model.

Interleaved in one run, A/B/A/B:
- **page**: the web server with the model, a page in headless Chromium. A script in the page
  records when each websocket frame (a screen update) arrives, by the browser's own clock. The
  decode rate seen in the page is the reply's tokens over the time from the first screen update
  after its first token to the last update of the reply.
- **terminal**: the app headless (Pilot) on the same model in its own process, as `mixtral-tui`
  runs it: the decode rate its reply records (first token to last).
Then reloads: how long from `location.reload()` to a page whose app has drawn its first screen
(its websocket's first frame), without a second model load.

    python benchmarks/web.py [--rounds N] [--tokens N] [--gguf PATH]

Needs Debian's chromium and chromium-driver.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROMPT = "Write a long story about a terminal that learned to chat."

RECORD_FRAMES = """
window.__frames = [];
const Original = window.WebSocket;
window.WebSocket = function (...args) {
  const socket = new Original(...args);
  socket.addEventListener("message", () => window.__frames.push(performance.timeOrigin + performance.now()));
  return socket;
};
window.WebSocket.prototype = Original.prototype;
"""


def start_web(model: Path, home: Path, port: int, tokens: int) -> tuple[subprocess.Popen, str]:
    config = home / "config" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(f"[sampling]\nmax_tokens = {tokens}\ntemperature = 0.0\nseed = 1\n\n[chat]\nsystem_prompt = \"\"\n")
    out = home / "web.out"
    process = subprocess.Popen([sys.executable, "-m", "mixtral_tui", "web", "--model", str(model), "--ctx", "2048",
                                "--port", str(port)], stdout=out.open("w"), stderr=subprocess.STDOUT,
                               env={**os.environ, "MIXTRAL_TUI_HOME": str(home)})
    deadline = time.monotonic() + 120
    while "?token=" not in out.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(out.read_text())
        time.sleep(0.1)
    return process, next(w for w in out.read_text().split() if "?token=" in w)


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,800"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_FRAMES})
    return driver


def replies(home: Path) -> list[dict]:
    [path] = list(home.rglob("history.sqlite3"))
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT stats_json FROM messages WHERE role = 'assistant' AND status != 'streaming' "
                          "AND stats_json IS NOT NULL ORDER BY id").fetchall()
    return [json.loads(row[0]) for row in rows]


def click_the_message_box(driver) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    terminal = driver.find_element(By.ID, "terminal")
    ActionChains(driver).move_to_element_with_offset(terminal, 0, terminal.rect["height"] // 2 - 75).click().perform()


def in_the_page(driver, home: Path) -> tuple[float, float]:
    """Decode tok/s seen in the page, from the browser's timestamps of its screen updates; and as
    the page's app measured it (the web server's engine, over loopback)."""
    done = len(replies(home))
    click_the_message_box(driver)
    driver.execute_script("window.__frames = []")
    sent = driver.execute_script("return performance.timeOrigin + performance.now()")
    driver.switch_to.active_element.send_keys(PROMPT + "\n")
    while len(replies(home)) == done:
        time.sleep(0.05)
    stats = replies(home)[-1]
    time.sleep(0.5)  # the reply's last screen updates reach the page
    frames = driver.execute_script("return window.__frames")
    first_token = sent + stats["ttft_seconds"] * 1000
    during = [t for t in frames if t >= first_token]
    end = first_token + stats["decode_seconds"] * 1000 + 300  # the reply's own frames, not later ones
    during = [t for t in during if t <= end]
    seen = (stats["completion_tokens"] - 1) / ((during[-1] - during[0]) / 1000) if len(during) > 1 else 0.0
    return seen, float(stats["decode_tps"])


async def in_a_terminal(model: Path, tokens: int) -> float:
    from mixtral_tui.config import ChatSettings, Config, Sampling
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.store.history import History
    from mixtral_tui.ui.app import MixtralApp

    config = Config(chat=ChatSettings(system_prompt=""),
                    sampling=Sampling(temperature=0.0, max_tokens=tokens, seed=1))
    with tempfile.TemporaryDirectory() as home:
        os.environ["MIXTRAL_TUI_HOME"] = home
        app = MixtralApp(config, LoadSpec(str(model), context_size=2048), history=History(Path(home) / "h.sqlite3"))
        async with app.run_test(size=(120, 40)) as pilot:
            while app.model_info is None:
                await asyncio.sleep(0.05)
            app.active_view().composer.text = PROMPT
            app.active_view().composer.focus()
            await pilot.press("enter")
            while True:
                done = [m for m in app.history.messages(1) if m.role == "assistant" and m.status != "streaming"]
                if done and app.generation is None:
                    return float(done[-1].stats["decode_tps"])
                await asyncio.sleep(0.05)


def reload_time(driver) -> float:
    """From reload to the first frame of the new page's app (its first screen)."""
    started = time.perf_counter()
    driver.refresh()
    while not driver.execute_script("return window.__frames && window.__frames.length > 0"):
        time.sleep(0.02)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=768)
    parser.add_argument("--gguf", type=Path, help="the model (default: the tiny MoE the tests write)")
    args = parser.parse_args()
    from tests.fixtures.gguf_models import write_model
    from tests.fixtures.llama_server import free_port

    with tempfile.TemporaryDirectory() as folder:
        model = args.gguf or write_model(Path(folder) / "tiny-mixtral.gguf")
        home = Path(folder) / "web-home"
        process, url = start_web(model, home, free_port(), args.tokens)
        driver = browser()
        try:
            driver.get(url)
            while not driver.execute_script("return window.__frames.length > 3"):
                time.sleep(0.1)
            time.sleep(1)
            page, page_app, terminal, reloads = [], [], [], []
            for _ in range(args.rounds):
                seen, measured = in_the_page(driver, home)
                page.append(seen)
                page_app.append(measured)
                terminal.append(asyncio.run(in_a_terminal(model, args.tokens)))
                reloads.append(reload_time(driver))
                time.sleep(1.5)  # the reloaded page's app draws its first screens
            web_log = next(home.rglob("web.log")).read_text()
        finally:
            driver.quit()
            process.terminate()
            process.wait(10)
    loads = web_log.count("model load ")
    base = statistics.median(terminal)
    print(f"decode tok/s   on the page's screen {statistics.median(page):8.1f} (ratio {statistics.median(page) / base:.3f})"
          f"   the page's app {statistics.median(page_app):8.1f} (ratio {statistics.median(page_app) / base:.3f})"
          f"   a terminal app {base:8.1f}")
    print(f"reload to the first screen   median {statistics.median(reloads) * 1000:.0f} ms "
          f"(max {max(reloads) * 1000:.0f} ms); model loads in the web server: {loads}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
