from mixtral_tui.models.gguf_info import explain_load_failure, read_info


def test_tiny_model_header(tiny_model):
    info = read_info(tiny_model)
    assert info.architecture == "llama" and info.expert_count == 8 and info.is_moe
    assert not info.old_expert_layout and not info.truncated and info.quant == "F32"
    assert "[INST]" in info.chat_template


def test_gemma_header(gemma_model):
    info = read_info(gemma_model)
    assert info.architecture == "gemma3" and info.quant == "Q4_K_M" and not info.is_moe
    assert info.expected_size == info.size


def test_old_layout_is_named(old_layout_model):
    assert read_info(old_layout_model).old_expert_layout
    text = explain_load_failure(old_layout_model)
    assert "old layout" in text and "newer conversion" in text


def test_truncated_file(truncated_model):
    assert "truncated" in explain_load_failure(truncated_model)


def test_not_gguf(not_gguf_file):
    assert "not a GGUF file" in explain_load_failure(not_gguf_file)


def test_missing_file(tmp_path):
    assert "model file not found" in explain_load_failure(tmp_path / "nope.gguf")


def test_unknown_architecture(unknown_arch_model):
    assert "architecture 'frobnicator'" in explain_load_failure(unknown_arch_model)


def test_folder(tmp_path):
    assert "is a folder" in explain_load_failure(tmp_path)


def test_header_text_is_made_safe_to_show(tmp_path):
    """The name and architecture go on screen (status line, every reply's label, the picker)."""
    from tests.fixtures.gguf_models import write_model

    info = read_info(write_model(tmp_path / "m.gguf", name="Evil\x1b]0;pwned\x07\nModel"))
    assert info.name == "Evil␛]0;pwned␇ Model"
    assert info.architecture == "llama" and info.n_layer > 0  # the raw key prefix still finds the fields
