"""MoE expert offload and the planner's estimates, checked against llama.cpp's own log."""

import re

from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, Turn
from mixtral_tui.engine.llama import LlamaEngine, backend_devices
from mixtral_tui.models.gguf_info import read_info
from mixtral_tui.models.hardware import detect
from mixtral_tui.models.planner import kv_cache_bytes, plan
from tests.fixtures.streaming import reply


def load_with_log(path, **spec):
    lines: list[str] = []
    engine = LlamaEngine(log_sink=lambda text, level: lines.append(text))
    engine.load(LoadSpec(str(path), **spec))
    return engine, "".join(lines)


def test_experts_of_the_first_layers_stay_on_the_cpu(tiny_model):
    engine, log = load_with_log(tiny_model, context_size=256, cpu_moe_layers=1)
    overridden = re.findall(r"tensor (blk\.\d+\.ffn_\w+_exps)\.weight .* buffer type overridden to CPU", log)
    assert sorted(overridden) == ["blk.0.ffn_down_exps", "blk.0.ffn_gate_exps", "blk.0.ffn_up_exps"]
    engine.unload()


def test_without_the_setting_nothing_is_overridden_and_the_patch_is_undone(tiny_model):
    import llama_cpp

    original = llama_cpp.llama_cpp.llama_model_default_params
    load_with_log(tiny_model, context_size=256, cpu_moe_layers=2)[0].unload()
    assert llama_cpp.llama_cpp.llama_model_default_params is original
    engine, log = load_with_log(tiny_model, context_size=256)
    assert "overridden" not in log
    engine.unload()


def test_planner_kv_estimate_matches_llama_cpp(tiny_model):
    info = read_info(tiny_model)
    engine, log = load_with_log(tiny_model, context_size=512)
    reported = float(re.search(r"llama_kv_cache: size = +([\d.]+) MiB", log).group(1))
    assert abs(kv_cache_bytes(info.shape(), 512) / 1024**2 - reported) < 0.01
    model_mib = float(re.search(r"model buffer size = +([\d.]+) MiB", log).group(1))
    assert abs(info.expected_size / 1024**2 - model_mib) < 0.05
    engine.unload()


def test_plan_for_this_machine_loads(tiny_model):
    info = read_info(tiny_model)
    hardware = detect(backend_devices)
    chosen = plan(info.shape(), info.size, 512, hardware)
    assert chosen.fits
    engine, _ = load_with_log(tiny_model, context_size=512, offload="manual", gpu_layers=chosen.gpu_layers,
                              cpu_moe_layers=chosen.cpu_moe_layers)
    # loaded as planned, and it answers
    assert (engine.info.gpu_layers, engine.info.cpu_moe_layers) == (chosen.gpu_layers, chosen.cpu_moe_layers)
    text, _, stats = reply(engine, [Turn("user", "hello")], Sampling(temperature=0.0, max_tokens=3, seed=1))
    assert stats.completion_tokens == 3 and text
    engine.unload()


def test_auto_offload_plans_at_load_time(tiny_model):
    engine, _ = load_with_log(tiny_model, context_size=512, offload="auto")
    # the planner's plan for this machine, made when the model loads (not the manual numbers' defaults)
    info = read_info(tiny_model)
    expected = plan(info.shape(), info.size, 512, detect(backend_devices))
    assert engine.info.plan_summary == expected.summary
    assert (engine.info.gpu_layers, engine.info.cpu_moe_layers) == (expected.gpu_layers, expected.cpu_moe_layers)
    engine.unload()


def test_quantized_kv_cache(gemma_model):
    engine, log = load_with_log(gemma_model, context_size=512, kv_cache_type="q8_0")
    assert re.search(r"K \(q8_0\)", log) and re.search(r"V \(q8_0\)", log)
    engine.unload()


def test_kv_cache_type_the_model_cannot_use_is_explained(tiny_model):
    import pytest

    from mixtral_tui.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="does not divide"):
        load_with_log(tiny_model, context_size=512, kv_cache_type="q8_0")  # head size 16 < q8_0 block of 32
