"""`mixtral-tui web` in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium): the page with its token, a message typed and its reply, a reload that finds the
conversation without a second model load, two pages at once, and the page refused without the
token. `.ci/run` installs Chromium; elsewhere these skip and say why.

The page draws the terminal on a canvas, so what the app shows is read where it lands: the shared
history (what the page's app saved) and the web server's log (model loads); the screenshot is kept
(screenshots/web.png when MIXTRAL_TUI_SCREENSHOTS is set)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.fixtures.llama_server import free_port

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"


@pytest.fixture
def web_server(tiny_model, tmp_path):
    """`mixtral-tui web --model TINY` on a free port; (page URL with its token, home folder)."""
    home = tmp_path / "home"
    port = free_port()
    env = {**os.environ, "MIXTRAL_TUI_HOME": str(home)}
    out = (tmp_path / "web.out").open("w")
    process = subprocess.Popen([sys.executable, "-m", "mixtral_tui", "web", "--model", str(tiny_model), "--ctx", "512",
                                "--port", str(port)], stdout=out, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        deadline = time.monotonic() + 60
        while "?token=" not in (tmp_path / "web.out").read_text():
            assert process.poll() is None, (tmp_path / "web.out").read_text()
            assert time.monotonic() < deadline, "the web server did not start"
            time.sleep(0.1)
        url = next(w for w in (tmp_path / "web.out").read_text().split() if "?token=" in w)
        while True:
            try:
                httpx.get(url, timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url, home
    finally:
        process.terminate()
        process.wait(10)
        out.close()


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--window-size=1200,800", f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def wait(condition, seconds: float = 60, what: str = "condition"):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def type_in_the_message_box(driver, text: str) -> None:
    """Click the message box (near the bottom of the page, over the footer and status line), then type."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    terminal = wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#terminal.-connected"), what="the app's page")[0]
    time.sleep(1.5)  # the app draws its first screen
    ActionChains(driver).move_to_element_with_offset(terminal, 0, terminal.rect["height"] // 2 - 75).click().perform()
    time.sleep(0.3)
    driver.switch_to.active_element.send_keys(text)


def saved(home: Path) -> list[tuple[str, str, str]]:
    path = home / "data" / "history.sqlite3"
    candidates = [path] if path.exists() else list(home.rglob("*.sqlite3"))
    if not candidates:
        return []
    with sqlite3.connect(candidates[0]) as db:
        return db.execute("SELECT role, content, status FROM messages ORDER BY id").fetchall()


def decode_speed(home: Path) -> float:
    import json

    [path] = list(home.rglob("history.sqlite3"))
    with sqlite3.connect(path) as db:
        stats = db.execute("SELECT stats_json FROM messages WHERE role = 'assistant' ORDER BY id LIMIT 1").fetchone()[0]
    return float(json.loads(stats)["decode_tps"])


def loads(home: Path) -> int:
    logs = list(home.rglob("web.log"))
    return sum(line.count("model load ") for line in logs[0].read_text().splitlines()) if logs else 0


def test_the_app_in_a_browser_chats_reloads_without_a_second_load_and_serves_two_pages(web_server, browser):
    url, home = web_server
    browser.get(url)
    type_in_the_message_box(browser, "hello from the browser\n")
    wait(lambda: [m for m in saved(home) if m[0] == "assistant" and m[2] == "done" and m[1]], what="the reply")
    assert ("user", "hello from the browser", "done") in saved(home)
    assert decode_speed(home) > 0  # the reply's figures (tok/s), as its line in the page shows them
    time.sleep(0.5)
    if os.environ.get("MIXTRAL_TUI_SCREENSHOTS"):
        browser.save_screenshot(str(SCREENSHOTS / "web.png"))

    started = time.monotonic()
    browser.refresh()  # a reload: a new app process, the same model, the conversation where it was
    type_in_the_message_box(browser, "and after a reload\n")
    reloaded = time.monotonic() - started
    wait(lambda: len([m for m in saved(home) if m[0] == "assistant" and m[2] == "done"]) == 2, what="the second reply")
    assert loads(home) == 1, "a reload loaded the model again"
    assert reloaded < 20

    browser.execute_script("window.open(arguments[0])", url)  # a second page, while the first stays open
    assert len(browser.window_handles) == 2
    browser.switch_to.window(browser.window_handles[-1])
    type_in_the_message_box(browser, "from a second page\n")
    wait(lambda: len([m for m in saved(home) if m[0] == "assistant" and m[2] == "done"]) == 3, what="the third reply")
    assert loads(home) == 1


def test_the_page_is_refused_without_the_token(web_server, browser):
    url, _home = web_server
    bare = url.split("?")[0]
    assert httpx.get(bare).status_code == 403
    assert httpx.get(bare + "ws").status_code == 403
    browser.get(bare)
    assert "needs the link with ?token=" in browser.find_element("tag name", "body").text
