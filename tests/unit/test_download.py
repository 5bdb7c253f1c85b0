"""Listing and downloading against a real HTTP server on 127.0.0.1 that speaks the Hub's endpoints."""

import hashlib
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from mixtral_tui.cancel import CancelToken
from mixtral_tui.errors import UserError
from mixtral_tui.models import download as dl
from mixtral_tui.models.hub import QuantChoice, RemoteFile, list_quants, quant_of
from tests.fixtures.fake_hub import COMMIT
from tests.fixtures.fake_hub import HUB_REPO as REPO


def choice(quant="Q4_K_M"):
    return next(q for q in list_quants(REPO) if q.quant == quant)


def test_quant_names_from_file_names():
    assert quant_of("Mixtral-8x7B-Instruct-v0.1.Q4_K_M.gguf") == "Q4_K_M"
    assert quant_of("mixtral-8x7b-instruct-v0.1.IQ3_XXS.gguf") == "IQ3_XXS"
    assert quant_of("model-Q8_0-00002-of-00003.gguf") == "Q8_0"
    assert quant_of("gemma-3-270m-f16.gguf") == "F16"


def test_listing_groups_split_parts(hub, tiny_model):
    quants = {q.quant: q for q in list_quants(REPO)}
    assert set(quants) == {"Q4_K_M", "Q8_0"}
    assert quants["Q8_0"].size == tiny_model.stat().st_size and len(quants["Q8_0"].files) == 2
    assert quants["Q4_K_M"].first.sha256 == hashlib.sha256(tiny_model.read_bytes()).hexdigest()


def test_complete_download_lands_in_the_hub_cache(hub, tiny_model):
    seen = []
    path = dl.download(REPO, choice(), progress=seen.append)
    assert path.read_bytes() == tiny_model.read_bytes()
    assert path.is_symlink() and path.parent.name == COMMIT
    assert (dl.repo_folder(REPO) / "refs" / "main").read_text() == COMMIT
    assert seen[-1].verifying and seen[-1].done == seen[-1].total
    assert [p.done for p in seen] == sorted(p.done for p in seen)
    from huggingface_hub import try_to_load_from_cache

    assert try_to_load_from_cache(REPO, "tiny-mixtral.Q4_K_M.gguf", cache_dir=os.environ["HF_HUB_CACHE"]) == str(path)
    again = dl.download(REPO, choice())  # already there: nothing fetched
    assert again == path and len(hub.ranges()) == 1


def test_split_choice_downloads_every_part_and_returns_part_one(hub):
    path = dl.download(REPO, choice("Q8_0"))
    assert path.name.endswith("00001-of-00002.gguf")
    assert (path.parent / "tiny-mixtral.Q8_0-00002-of-00002.gguf").exists()


def test_resumes_after_the_connection_drops(hub, tiny_model):
    hub.drop_after = 400_000
    path = dl.download(REPO, choice())
    assert path.read_bytes() == tiny_model.read_bytes()
    starts = [int(r.split("=")[1].split("-")[0]) for r in hub.ranges()]
    assert starts[0] == 0 and len(starts) == 2 and starts[1] > 0


def test_cancel_keeps_the_partial_file_and_the_next_try_resumes(hub, tiny_model):
    hub.throttle = 2_000_000
    cancel = CancelToken()

    def stop_midway(progress):
        if progress.done > 300_000:
            cancel.cancel()

    with pytest.raises(dl.DownloadCancelled, match="run it again to resume"):
        dl.download(REPO, choice(), progress=stop_midway, cancel=cancel)
    partial = list((dl.repo_folder(REPO) / "blobs").glob("*.incomplete"))
    assert partial and partial[0].stat().st_size > 0
    hub.throttle = None
    path = dl.download(REPO, choice())
    assert path.read_bytes() == tiny_model.read_bytes()
    assert int(hub.ranges()[-1].split("=")[1].split("-")[0]) > 0


CHILD = """
import sys
from mixtral_tui.models import download as dl
from mixtral_tui.models.hub import list_quants
choice = next(q for q in list_quants(sys.argv[1]) if q.quant == "Q4_K_M")
dl.download(sys.argv[1], choice)
"""


def test_resumes_after_the_process_is_killed(hub, tiny_model):
    hub.throttle = 500_000
    child = subprocess.Popen([sys.executable, "-c", CHILD, REPO], env={**os.environ, "PYTHONPATH": os.getcwd()})
    blobs = dl.repo_folder(REPO) / "blobs"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        partial = list(blobs.glob("*.incomplete")) if blobs.exists() else []
        if partial and partial[0].stat().st_size > 200_000:
            break
        time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    kept = partial[0].stat().st_size
    assert 0 < kept < tiny_model.stat().st_size
    hub.throttle = None
    path = dl.download(REPO, choice())
    assert path.read_bytes() == tiny_model.read_bytes()
    assert int(hub.ranges()[-1].split("=")[1].split("-")[0]) >= kept


def test_checksum_mismatch_is_refused_and_deleted(hub):
    hub.corrupt = True
    with pytest.raises(UserError, match="did not match the checksum"):
        dl.download(REPO, choice())
    blobs = dl.repo_folder(REPO) / "blobs"
    assert not list(blobs.glob("*"))


def test_not_enough_disk_space(hub, monkeypatch):
    monkeypatch.setattr(dl, "_free_space", lambda folder: 1000)
    with pytest.raises(UserError, match="not enough disk space"):
        dl.download(REPO, choice())
    assert hub.ranges() == []  # refused before a byte was fetched


def test_gated_repo_needs_a_token(hub, monkeypatch):
    with pytest.raises(UserError, match=r"is gated.*HF_TOKEN"):
        list_quants("test-org/Gated-GGUF")
    monkeypatch.setenv("HF_TOKEN", hub.token)
    [gated] = list_quants("test-org/Gated-GGUF")
    assert dl.download("test-org/Gated-GGUF", gated).stat().st_size == 1000


def test_missing_repo_and_file(hub):
    with pytest.raises(UserError, match="no repository test-org/Nope"):
        list_quants("test-org/Nope")
    ghost = QuantChoice("Q4_K_M", [RemoteFile("ghost.Q4_K_M.gguf", 10, None)])
    with pytest.raises(UserError, match="has no such file"):
        dl.download(REPO, ghost)


def test_offline_mode_refuses_politely(hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(UserError, match="offline"):
        list_quants(REPO)
    with pytest.raises(UserError, match="offline"):
        dl.download(REPO, QuantChoice("Q4_K_M", [RemoteFile("x.gguf", 1, None)]))


def test_network_down(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    with pytest.raises(UserError, match=re.escape("cannot reach http://127.0.0.1:9")):
        list_quants(REPO)


def test_remote_header_flags_the_old_layout_before_downloading(hub):
    [old] = list_quants("test-org/Old-Mixtral-GGUF")
    info = dl.remote_info("test-org/Old-Mixtral-GGUF", old.first)
    assert info.old_expert_layout and info.expert_count == 8
    fine = dl.remote_info(REPO, choice().first)
    assert not fine.old_expert_layout and fine.n_layer == 2
    assert not (dl.repo_folder("test-org/Old-Mixtral-GGUF") / "blobs").exists()  # nothing downloaded


def test_header_check_asks_for_one_mebibyte_first(hub):
    dl.remote_info(REPO, choice().first)
    assert hub.ranges() == [f"bytes=0-{1024 * 1024 - 1}"]
