"""The offload planner: (model, context, hardware) -> how to load it, and why.

A pure function with table tests. In order of preference:
1. everything on the GPU;
2. for MoE models, attention and shared weights on the GPU and the experts of
   the first N layers in RAM (llama.cpp's --n-cpu-moe): at equal GPU memory it
   decodes ~25% faster than a layer split (measured on an H100, Mixtral Q4_K);
3. the first L layers on the GPU, the rest on the CPU;
4. CPU only;
5. too large.
Estimates: memory = weights + KV cache + compute buffers (+ GPU runtime).
Speed: decode is memory-bound, so tok/s ≈ efficiency × bandwidth / bytes read
per token; efficiency 0.47 is what llama-bench reached on the H100.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixtral_tui.models.catalog import Shape
from mixtral_tui.models.hardware import GIB, Hardware, gib

KV_BYTES = {"f16": 2.0, "q8_0": 1.0625, "q4_0": 0.5625}
GPU_RUNTIME = int(0.45 * GIB)  # CUDA context and cuBLAS workspaces
GPU_HEADROOM = 0.95  # never plan to the last byte of free VRAM
RAM_HEADROOM = 0.90
EFFICIENCY = 0.47
CPU_BANDWIDTH = 60e9  # bytes/s; a typical dual-channel DDR5 desktop
GPU_BANDWIDTH = {"H200": 4.8e12, "H100": 3.35e12, "A100": 1.9e12, "4090": 1.0e12, "3090": 0.94e12, "L40": 0.86e12,
                 "A6000": 0.77e12, "4080": 0.72e12, "T4": 0.32e12}
DEFAULT_GPU_BANDWIDTH = 0.5e12


@dataclass(frozen=True)
class Plan:
    verdict: str  # gpu | gpu+cpu-experts | split | cpu | too-large
    gpu_layers: int  # for llama.cpp: -1 = all
    cpu_moe_layers: int
    gpu_bytes: int
    ram_bytes: int
    est_decode_tps: float
    summary: str

    @property
    def fits(self) -> bool:
        return self.verdict != "too-large"


def kv_cache_bytes(shape: Shape, context: int, kv_type: str = "f16", layers: int | None = None) -> int:
    n = shape.n_layer if layers is None else layers
    return int(context * n * shape.n_head_kv * shape.head_dim * 2 * KV_BYTES[kv_type])


def compute_buffer_bytes(shape: Shape, context: int) -> int:
    return int(256 * 1024**2 + context * shape.n_embd * 4 * 2)


def _gpu_bandwidth(hardware: Hardware) -> float:
    for gpu in hardware.gpus:
        for key, bandwidth in GPU_BANDWIDTH.items():
            if key in f"{gpu.name} {gpu.description}":
                return bandwidth
    return DEFAULT_GPU_BANDWIDTH


def _speed(shape: Shape, size: int, gpu_share: float, hardware: Hardware) -> float:
    """Tokens/s from the bytes read per token, split between GPU and CPU memory."""
    active = shape.active_params / shape.params if shape.active_params else 1.0
    per_token = size * active
    seconds = per_token * gpu_share / _gpu_bandwidth(hardware) + per_token * (1 - gpu_share) / CPU_BANDWIDTH
    return EFFICIENCY / seconds if seconds > 0 else 0.0




def plan(shape: Shape, size: int, context: int, hardware: Hardware, kv_type: str = "f16") -> Plan:
    """Decide where the weights, the KV cache and the experts go."""
    kv = kv_cache_bytes(shape, context, kv_type)
    compute = compute_buffer_bytes(shape, context)
    ram_budget = int(hardware.ram_available * RAM_HEADROOM)
    gpu_budget = int(hardware.vram_free * GPU_HEADROOM) - GPU_RUNTIME if hardware.gpu_offload else 0
    layer = size / shape.n_layer
    cpu_need = size + kv + compute

    def cpu_or_too_large(reason: str) -> Plan:
        if cpu_need <= ram_budget:
            return Plan("cpu", 0, 0, 0, cpu_need, _speed(shape, size, 0.0, hardware),
                        f"CPU only ({reason}): needs {gib(cpu_need)} of RAM")
        return Plan("too-large", 0, 0, 0, cpu_need, 0.0,
                    f"too large: needs {gib(cpu_need)} of RAM, {gib(hardware.ram_available)} is free and "
                    f"{gib(ram_budget)} of it usable ({1 - RAM_HEADROOM:.0%} kept for the rest of the machine; {reason})")

    if gpu_budget <= 0:
        return cpu_or_too_large("no GPU this build can use" if not hardware.gpu_offload or not hardware.gpus
                                else "no free GPU memory")

    full = size + kv + compute
    if full <= gpu_budget:
        return Plan("gpu", -1, 0, full + GPU_RUNTIME, 0, _speed(shape, size, 1.0, hardware),
                    f"fits on the GPU: {gib(full + GPU_RUNTIME)} of {gib(hardware.vram_free)} free")

    if shape.is_moe:
        experts = layer * shape.expert_fraction
        for n in range(1, shape.n_layer + 1):
            gpu = full - n * experts
            ram = n * experts
            if gpu <= gpu_budget and ram <= ram_budget:
                share = 1 - ram / size
                return Plan("gpu+cpu-experts", -1, n, int(gpu) + GPU_RUNTIME, int(ram),
                            _speed(shape, size, share, hardware),
                            f"GPU with the experts of {n} of {shape.n_layer} layers in RAM: "
                            f"{gib(gpu + GPU_RUNTIME)} on the GPU, {gib(ram)} in RAM")
            if ram > ram_budget:
                break

    kv_layer = kv / shape.n_layer
    layers = int((gpu_budget - compute) // (layer + kv_layer))
    layers = max(0, min(layers, shape.n_layer - 1))
    if layers >= 1:
        gpu = layers * (layer + kv_layer) + compute
        ram = (shape.n_layer - layers) * (layer + kv_layer) + compute
        if ram <= ram_budget:
            share = layers / shape.n_layer
            return Plan("split", layers, 0, int(gpu) + GPU_RUNTIME, int(ram), _speed(shape, size, share, hardware),
                        f"{layers} of {shape.n_layer} layers on the GPU ({gib(gpu + GPU_RUNTIME)}), "
                        f"the rest in RAM ({gib(ram)})")
    return cpu_or_too_large("it does not fit the GPU")
