"""`models`, `download`, `doctor` and `--model owner/repo:QUANT`, run as a user runs them."""

import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.fake_hub import HUB_REPO


def run(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "mixtral_tui", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "PYTHONPATH": os.getcwd()})


def test_models_lists_a_repo_with_sizes_fit_and_download_state(hub):
    done = run("models", HUB_REPO, "--ctx", "512")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith(f"# {HUB_REPO} at context 512")
    assert lines[1].split("\t")[:2] == ["quant", "size"]  # a header line (--no-header leaves it out)
    rows = {line.split("\t")[0]: line for line in lines[2:]}
    assert set(rows) == {"Q4_K_M", "Q8_0"} and "(2 parts)" in rows["Q8_0"]
    assert "CPU only" in rows["Q4_K_M"] or "fits on the GPU" in rows["Q4_K_M"]
    assert rows["Q4_K_M"].endswith("-")
    assert run("download", f"{HUB_REPO}:Q4_K_M").returncode == 0
    again = run("models", HUB_REPO, "--ctx", "512")
    assert next(r for r in again.stdout.splitlines() if r.startswith("Q4_K_M")).endswith("downloaded")


def test_download_prints_progress_then_the_path(hub, tiny_model):
    done = run("download", f"{HUB_REPO}:Q4_K_M")
    assert done.returncode == 0, done.stderr
    path = done.stdout.strip().splitlines()[-1]
    assert Path(path).read_bytes() == tiny_model.read_bytes()
    assert "100.0%" in done.stderr and "verifying" in done.stderr


def test_download_without_quant_takes_q4_k_m(hub):
    done = run("download", HUB_REPO)
    assert done.returncode == 0 and done.stdout.strip().endswith("tiny-mixtral.Q4_K_M.gguf")


def test_download_errors_are_one_line(hub):
    for spec, phrase in ((f"{HUB_REPO}:Q3_K_S", "has no Q3_K_S; it has Q4_K_M, Q8_0"),
                         ("test-org/Gated-GGUF", "is gated"),
                         ("test-org/Missing", "no repository test-org/Missing"),
                         ("not a repo", "is not owner/repo")):
        done = run("download", spec)
        assert done.returncode == 1 and phrase in done.stderr and "Traceback" not in done.stderr, spec


def test_local_models_flag_the_old_mixtral_layout(hub):
    assert run("download", "test-org/Old-Mixtral-GGUF").returncode == 0
    assert run("download", HUB_REPO).returncode == 0
    done = run("models")
    rows = done.stdout.strip().splitlines()
    old = next(r for r in rows if "old-mixtral" in r).split("\t")
    assert old[2] == "llama" and old[4] == "MoE 8x" and old[5].startswith("no: old Mixtral layout")
    new = next(r for r in rows if "tiny-mixtral.Q4_K_M" in r).split("\t")
    assert new[5] == "yes"


def test_ask_with_a_repo_spec(hub):
    refused = run("ask", "--model", f"{HUB_REPO}:Q4_K_M", "--max-tokens", "3", "hi")
    assert refused.returncode == 1 and "mixtral-tui download" in refused.stderr
    done = run("ask", "--model", f"{HUB_REPO}:Q4_K_M", "--download", "--max-tokens", "3", "--no-save", "hi")
    assert done.returncode == 0, done.stderr
    assert "reply 3 tok" in done.stderr
    again = run("ask", "--model", f"{HUB_REPO}:Q4_K_M", "--max-tokens", "3", "--no-save", "hi")
    assert again.returncode == 0, again.stderr


def test_doctor(hub):
    done = run("doctor")
    assert done.returncode == 0
    for label in ("CPU cores", "RAM", "GPU offload", "history", "Hub endpoint", "Hub token", "offline mode"):
        assert label in done.stdout
    assert hub.url in done.stdout and "not set" in done.stdout


def test_models_dir_is_the_download_target_when_set(hub, home, tmp_path):
    folder = tmp_path / "my-models"
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text(f'[model]\nmodels_dir = "{folder}"\n')
    done = run("download", f"{HUB_REPO}:Q4_K_M")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith(str(folder))
    assert str(folder) in run("models").stdout
    asked = run("ask", "--model", f"{HUB_REPO}:Q4_K_M", "--max-tokens", "2", "--no-save", "hi")
    assert asked.returncode == 0, asked.stderr


def test_models_offline_falls_back_to_the_catalog_and_says_so(home):
    env = {**os.environ, "PYTHONPATH": os.getcwd(), "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "mixtral_tui", "models", "mradermacher/Mixtral-8x7B-Instruct-v0.1-GGUF"],
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "offline" in done.stderr and "Sizes below are the catalog's." in done.stderr
    rows = {line.split("\t")[0] for line in done.stdout.splitlines()[1:]}
    assert {"Q4_K_M", "Q8_0"} <= rows
    unknown = subprocess.run([sys.executable, "-m", "mixtral_tui", "models", "someone/Not-In-Catalog-GGUF"],
                             capture_output=True, text=True, timeout=120, env=env)
    assert unknown.returncode == 1 and "offline" in unknown.stderr  # no catalog to fall back on


def test_local_models_list_the_configured_and_recently_loaded_files_outside_the_cache(home, tmp_path, tiny_model):
    from mixtral_tui.models.recent import RecentModels

    elsewhere = tmp_path / "elsewhere" / "mine.gguf"
    elsewhere.parent.mkdir()
    elsewhere.write_bytes(tiny_model.read_bytes())
    RecentModels(home / "data" / "recent_models.json").remember(str(elsewhere))
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "config.toml").write_text(f'[model]\npath = "{tiny_model}"\n')
    rows = [line.split("\t") for line in run("models", "--no-header").stdout.strip().splitlines()]
    assert [(r[0], r[-1]) for r in rows[:2]] == [(str(tiny_model), "in config"), (str(elsewhere), "recent")]
