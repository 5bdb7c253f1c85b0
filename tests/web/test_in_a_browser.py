"""`mixtral-tui web` in a real headless Chromium (Debian's chromium + chromium-driver, driven by
Selenium): the page with its token, a message typed and its reply, a reload that finds the
conversation without a second model load, two pages at once, and the page refused without the
token. `.ci/run` installs Chromium; elsewhere these skip and say why.

The page draws the terminal on a canvas, so what the app shows is read where it lands: the shared
history (what the page's app saved) and the web server's log (model loads). screenshots/web.png
is made by screenshots/make_screenshots.py."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.fixtures.llama_server import free_port
from tests.fixtures.reverse_proxy import reverse_proxy

CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and DRIVER),
                                reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")


@contextmanager
def web(model: Path | None, folder: Path, port: int, *extra: str) -> Iterator[tuple[str, Path]]:
    """`mixtral-tui web --model MODEL` on `port`; (the page URL it printed, with its token; home)."""
    home = folder / "home"
    env = {**os.environ, "MIXTRAL_TUI_HOME": str(home)}
    printed = folder / "web.out"
    model_options = ("--model", str(model), "--ctx", "512") if model else ()
    with printed.open("w") as out:
        process = subprocess.Popen([sys.executable, "-m", "mixtral_tui", "web", *model_options, "--port", str(port),
                                    *extra], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + 60
            while "?token=" not in printed.read_text():
                assert process.poll() is None, printed.read_text()
                assert time.monotonic() < deadline, "the web server did not start"
                time.sleep(0.1)
            url = next(w for w in printed.read_text().split() if "?token=" in w)
            local = f"http://127.0.0.1:{port}/"
            while True:
                try:
                    httpx.get(local, timeout=2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            yield url, home
        finally:
            process.terminate()
            process.wait(10)


@pytest.fixture
def web_server(tiny_model, tmp_path):
    with web(tiny_model, tmp_path, free_port()) as started:
        yield started


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
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                              "download.prompt_for_download": False})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})
    driver.downloads = downloads
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


def page_apps(home: Path) -> list[int]:
    """The pids of the pages' app processes of the web server whose home is `home` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
            if b"--api-key-env" not in command or b"mixtral_tui" not in command:  # (not the shell before it)
                continue
            if f"MIXTRAL_TUI_HOME={home}".encode() in (entry / "environ").read_bytes().split(b"\0") and \
                    (entry / "stat").read_text().split()[2] != "Z":
                found.append(int(entry.name))
        except OSError:  # gone meanwhile
            continue
    return found


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

    from selenium.webdriver.common.keys import Keys

    browser.switch_to.active_element.send_keys(Keys.F9)  # export: in a browser, a download
    time.sleep(1)
    browser.switch_to.active_element.send_keys(Keys.ENTER)
    [exported] = wait(lambda: [p for p in browser.downloads.glob("*.md")], what="the exported file in the browser's downloads")
    assert "hello from the browser" in exported.read_text(encoding="utf-8")

    # c on a picked message: into the browser's clipboard (OSC 52, which the page's terminal hands to it)
    browser.execute_cdp_cmd("Browser.grantPermissions", {"origin": url.split("/?")[0],
                                                         "permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    browser.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
    time.sleep(0.5)
    browser.switch_to.active_element.send_keys(Keys.UP, "c")
    reply_text = next(m[1] for m in saved(home) if m[0] == "assistant")
    copied = wait(lambda: browser.execute_async_script(
        "const done = arguments[0]; navigator.clipboard.readText().then(done, () => done(''))"), what="the copied text")
    assert copied in (reply_text, "hello from the browser")
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)

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


def test_a_paste_into_the_page_is_text(web_server, browser):
    """As in a terminal (issue 15): colour codes and a title-setting sequence in a paste are text
    for the message box, never keys or commands (a paste event, as the browser makes one)."""
    url, home = web_server
    browser.get(url)
    type_in_the_message_box(browser, "")
    pasted = "AAA \x1b[31mRED\x1b[0m BBB\x1b]0;PWNED\x07 CCC"
    browser.execute_script("""
        const box = document.querySelector('.xterm-helper-textarea');
        const data = new DataTransfer();
        data.setData('text/plain', arguments[0]);
        box.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true, cancelable: true}));
    """, pasted)
    time.sleep(1)
    browser.switch_to.active_element.send_keys("\n")
    wait(lambda: [m for m in saved(home) if m[0] == "user"], what="the pasted message, sent")
    [(_role, content, _status)] = [m for m in saved(home) if m[0] == "user"]
    assert content == "AAA RED BBB CCC" and "\x1b" not in content


def test_the_page_is_refused_without_the_token(web_server, browser):
    url, _home = web_server
    bare = url.split("?")[0]
    assert httpx.get(bare).status_code == 403
    assert httpx.get(bare + "ws").status_code == 403
    browser.get(bare)
    assert "needs the link with ?token=" in browser.find_element("tag name", "body").text


@pytest.mark.parametrize("told", ["forwarded headers", "--public-url"])
def test_the_app_works_through_a_reverse_proxy_on_another_port(tiny_model, tmp_path, browser, told):
    """As a notebook's port proxy: another port, a path prefix; the page's own URLs (its websocket)
    from the proxy's headers, or from --public-url when the proxy sends none."""
    port = free_port()
    with reverse_proxy(f"http://127.0.0.1:{port}", forward_headers=told == "forwarded headers") as proxied:
        extra = ("--public-url", proxied) if told == "--public-url" else ()
        with web(tiny_model, tmp_path, port, *extra) as (url, home):
            token = url.split("?token=")[1]
            page = httpx.get(f"{proxied}/?token={token}")
            assert page.status_code == 200 and f"{proxied.replace('http', 'ws', 1)}/ws/{token}" in page.text
            assert httpx.get(f"{proxied}/").status_code == 403  # the token, through the proxy too
            browser.get(f"{proxied}/?token={token}")
            type_in_the_message_box(browser, "through the proxy\n")
            wait(lambda: [m for m in saved(home) if m[0] == "assistant" and m[2] == "done" and m[1]],
                 what="the reply through the proxy")
            assert ("user", "through the proxy", "done") in saved(home)


def test_web_on_a_server_gives_every_page_that_server(tmp_path, browser):
    """`web --server URL`: no model here; each page's app talks to the server itself."""
    from tests.fixtures.fake_openai import FakeOpenAI

    fake = FakeOpenAI().start()
    try:
        with web(None, tmp_path, free_port(), "--server", fake.url) as (url, home):
            browser.get(url)
            type_in_the_message_box(browser, "to the server\n")
            wait(lambda: fake.chat_requests(), what="the page's request at the server")
            wait(lambda: [m for m in saved(home) if m[0] == "assistant" and m[2] == "done"], what="the server's reply")
            assert fake.chat_requests()[-1].body["messages"][-1]["content"] == "to the server"
            assert not list(home.rglob("web.log"))  # no model of its own was loaded
    finally:
        fake.stop()


@pytest.mark.parametrize("how", ["navigated away", "tab closed"])
def test_a_page_closed_mid_reply_stops_its_reply(gemma_model, tmp_path, browser, how):
    """textual-serve's app process kept writing after its page closed; here the page's replies stop
    on the engine when its websocket ends, and the page's app quits and keeps the reply, marked
    stopped. Waited for: the page's app process ending (then its rows are final)."""
    import json

    with web(gemma_model, tmp_path, free_port()) as (url, home):
        first_tab = browser.current_window_handle
        if how == "tab closed":
            browser.switch_to.new_window("tab")
        browser.get(url)
        type_in_the_message_box(browser, "Tell me a very long story about the sea.\n")
        wait(lambda: [m for m in saved(home) if m[0] == "assistant" and m[1]], what="the reply, streaming")
        [app] = wait(lambda: page_apps(home), what="the page's app process")
        if how == "tab closed":  # the page goes away mid-reply
            browser.close()
            browser.switch_to.window(first_tab)
        else:
            browser.get("about:blank")
        wait(lambda: app not in page_apps(home), seconds=30, what="the page's app to quit")
        assert [m[2] for m in saved(home) if m[0] == "assistant"] == ["stopped"]
        [path] = list(home.rglob("history.sqlite3"))
        with sqlite3.connect(path) as db:
            stats = json.loads(db.execute("SELECT stats_json FROM messages WHERE role = 'assistant'").fetchone()[0])
        assert stats["finish_reason"] == "cancelled" and stats["completion_tokens"] < 300


def test_a_click_in_the_conversation_then_typing_sends_what_was_typed(web_server, browser):
    """As the README says: click the page, type. A click in the middle of the conversation picked a
    message, and the letters typed then were keys (`f` forked it); now they are the message."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, home = web_server
    browser.get(url)
    type_in_the_message_box(browser, "hello\n")
    wait(lambda: [m for m in saved(home) if m[0] == "assistant" and m[2] == "done"], what="the first reply")
    terminal = browser.find_element(By.CSS_SELECTOR, "#terminal")
    ActionChains(browser).move_to_element_with_offset(terminal, 0, -terminal.rect["height"] // 2 + 60).click().perform()
    time.sleep(0.3)
    browser.switch_to.active_element.send_keys("Hello from the browser, tell me a joke\n")
    wait(lambda: len([m for m in saved(home) if m[0] == "user"]) == 2, what="the second message")
    assert [m[1] for m in saved(home) if m[0] == "user"] == ["hello", "Hello from the browser, tell me a joke"]
    [path] = list(home.rglob("history.sqlite3"))
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM conversations").fetchone()[0] == 1  # no fork
