"""Planner table tests with Mixtral's real quant sizes against common GPUs and RAM sizes."""

import pytest

from mixtral_tui.models.catalog import MISTRAL_7B, MIXTRAL_8X7B, entry
from mixtral_tui.models.hardware import GIB, Gpu, Hardware
from mixtral_tui.models.planner import kv_cache_bytes, plan

MIXTRAL = {q.name: q.size for q in entry("mixtral-8x7b-instruct").quants}


def machine(gpu_gib: int | None, ram_gib: int, name: str = "NVIDIA GPU") -> Hardware:
    gpus = () if gpu_gib is None else (Gpu(name, name, int((gpu_gib - 0.5) * GIB), gpu_gib * GIB),)
    return Hardware(ram_gib * GIB, int(ram_gib * 0.9 * GIB), 16, gpu_offload=gpu_gib is not None, gpus=gpus)


@pytest.mark.parametrize(
    "quant, gpu, ram, verdict, cpu_moe",
    [
        ("Q8_0", 80, 128, "gpu", 0),
        ("Q4_K_M", 80, 64, "gpu", 0),
        ("Q6_K", 48, 64, "gpu", 0),
        ("Q8_0", 48, 64, "gpu+cpu-experts", 2),
        ("Q2_K", 24, 32, "gpu", 0),
        ("Q4_K_M", 24, 32, "gpu+cpu-experts", 5),  # the measured 24 GB case: experts of 5 layers in RAM
        ("Q2_K", 16, 32, "gpu+cpu-experts", 3),
        ("Q4_K_M", 16, 32, "gpu+cpu-experts", 16),
        ("Q4_K_M", 8, 32, "gpu+cpu-experts", 26),
        ("Q4_K_M", 8, 16, "too-large", 0),
        ("Q8_0", 8, 16, "too-large", 0),
        ("Q4_K_M", None, 32, "cpu", 0),
        ("Q4_K_M", None, 16, "too-large", 0),
        ("Q2_K", None, 24, "cpu", 0),
        ("Q8_0", None, 128, "cpu", 0),
    ],
)
def test_mixtral_plans(quant, gpu, ram, verdict, cpu_moe):
    result = plan(MIXTRAL_8X7B, MIXTRAL[quant], 4096, machine(gpu, ram))
    assert (result.verdict, result.cpu_moe_layers) == (verdict, cpu_moe), result.summary
    if verdict == "gpu+cpu-experts":
        assert result.gpu_bytes <= (gpu - 0.5) * GIB and result.gpu_layers == -1


def test_plans_never_exceed_the_budgets():
    for quant, size in MIXTRAL.items():
        for gpu in (None, 8, 16, 24, 48, 80):
            for ram in (16, 32, 64, 128):
                hw = machine(gpu, ram)
                result = plan(MIXTRAL_8X7B, size, 4096, hw)
                if result.fits:
                    assert result.gpu_bytes <= hw.vram_free and result.ram_bytes <= hw.ram_available, (quant, gpu, ram)


def test_dense_model_splits_layers_when_it_does_not_fit():
    size = next(q.size for q in entry("mistral-7b-instruct").quants if q.name == "Q8_0")
    result = plan(MISTRAL_7B, size, 4096, machine(6, 32))
    assert result.verdict == "split" and 0 < result.gpu_layers < 32 and result.cpu_moe_layers == 0


def test_cpu_only_build_on_a_gpu_machine_plans_cpu():
    hw = Hardware(64 * GIB, 60 * GIB, 16, gpu_offload=False, gpus=())
    assert plan(MIXTRAL_8X7B, MIXTRAL["Q4_K_M"], 4096, hw).verdict == "cpu"


def test_longer_context_needs_more_memory():
    small = plan(MIXTRAL_8X7B, MIXTRAL["Q4_K_M"], 4096, machine(24, 64))
    large = plan(MIXTRAL_8X7B, MIXTRAL["Q4_K_M"], 32768, machine(24, 64))
    assert large.cpu_moe_layers > small.cpu_moe_layers


def test_kv_cache_matches_the_published_formula():
    assert kv_cache_bytes(MIXTRAL_8X7B, 4096) == 512 * 1024**2  # 128 KiB per token at f16
    assert kv_cache_bytes(MIXTRAL_8X7B, 32768) == 4 * GIB


def test_speed_estimate_is_in_the_measured_range_on_an_h100():
    result = plan(MIXTRAL_8X7B, MIXTRAL["Q4_K_M"], 4096, machine(80, 128, "NVIDIA H100 80GB HBM3"))
    assert 150 < result.est_decode_tps < 260  # llama-bench measured 200 tok/s


def test_too_large_says_the_free_ram_as_the_header_does_and_the_margin_kept():
    """"RAM 20.8/23.5 GiB free" above, "needs 19.3 GiB of RAM, 18.7 GiB is free" in the row: one
    figure for what is free, and the margin said."""
    hw = machine(None, 16)
    result = plan(MIXTRAL_8X7B, MIXTRAL["Q4_K_M"], 4096, hw)
    assert result.verdict == "too-large" and result.est_decode_tps == 0
    free = f"{hw.ram_available / GIB:.1f} GiB is free"
    assert free in result.summary and "10% kept for the rest of the machine" in result.summary
