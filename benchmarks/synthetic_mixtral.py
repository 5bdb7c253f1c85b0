"""A GGUF with Mixtral 8x7B's exact shapes and random Q4_K weights, for speed measurements.

Decode speed depends on the tensors' shapes and types, not on their values, so this file
decodes like Mixtral 8x7B Q4_K (32 layers, 8 experts of 14,336, 2 used per token, a 32,000-token
vocabulary; 24.5 GiB at full size) without a 26 GB download. It is written one tensor at a
time, so memory stays at one tensor (an expert tensor is 264 MB).

Every Q4_K block gets small, equal scales (random scale bytes could be NaN or infinite), and the
end-of-sequence row of the output layer is zero: the other 31,999 logits are random, one of them
wins, and a greedy reply runs to its token budget as the benchmarks need.
"""

from __future__ import annotations

import sys
from pathlib import Path

import gguf
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.fixtures.gguf_models import Shape, add_llama_metadata

MIXTRAL_8X7B = Shape(n_embd=4096, n_ff=14336, n_layer=32, n_head=32, n_head_kv=8, context=32768)
VOCAB = 32_000
BLOCK_WEIGHTS, BLOCK_BYTES = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q4_K]
SCALES = np.frombuffer(np.array([2e-3, 1e-3], dtype=np.float16).tobytes(), dtype=np.uint8)  # d, dmin
EOS = 2


def q4_k(rng: np.random.Generator, *dims: int, zero_row: int | None = None) -> np.ndarray:
    """Random Q4_K blocks for a weight of `dims` (the last dimension is a row: a multiple of 256)."""
    *outer, row = dims
    data = rng.integers(0, 256, size=(*outer, row // BLOCK_WEIGHTS, BLOCK_BYTES), dtype=np.uint8)
    data[..., : SCALES.size] = SCALES
    if zero_row is not None:
        data[zero_row, :, : SCALES.size] = 0
    return data.reshape(*outer, row // BLOCK_WEIGHTS * BLOCK_BYTES)


def tensors(shape: Shape) -> list[tuple[str, tuple[int, ...], str]]:
    """(name, dims, kind) in file order; kind is "norm" (F32 ones), "router" (F32) or "q4_k"."""
    s = shape
    kv = s.n_head_kv * (s.n_embd // s.n_head)
    out = [("token_embd.weight", (VOCAB, s.n_embd), "q4_k"), ("output_norm.weight", (s.n_embd,), "norm"),
           ("output.weight", (VOCAB, s.n_embd), "output")]
    for i in range(s.n_layer):
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", (s.n_embd,), "norm"),
            (p + "attn_q.weight", (s.n_embd, s.n_embd), "q4_k"),
            (p + "attn_k.weight", (kv, s.n_embd), "q4_k"),
            (p + "attn_v.weight", (kv, s.n_embd), "q4_k"),
            (p + "attn_output.weight", (s.n_embd, s.n_embd), "q4_k"),
            (p + "ffn_norm.weight", (s.n_embd,), "norm"),
            (p + "ffn_gate_inp.weight", (s.n_expert, s.n_embd), "router"),
            (p + "ffn_gate_exps.weight", (s.n_expert, s.n_ff, s.n_embd), "q4_k"),
            (p + "ffn_up_exps.weight", (s.n_expert, s.n_ff, s.n_embd), "q4_k"),
            (p + "ffn_down_exps.weight", (s.n_expert, s.n_embd, s.n_ff), "q4_k"),
        ]
    return out


def data_for(kind: str, dims: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if kind == "norm":
        return np.ones(dims, dtype=np.float32)
    if kind == "router":
        return (rng.standard_normal(dims) * 0.1).astype(np.float32)
    return q4_k(rng, *dims, zero_row=EOS if kind == "output" else None)


def write_q4_k_model(path: Path, shape: Shape = MIXTRAL_8X7B, seed: int = 0) -> Path:
    """Write the model and return its path."""
    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    add_llama_metadata(writer, shape, "Mixtral-8x7B-shaped-Q4_K-random", gguf.LlamaFileType.MOSTLY_Q4_K_M, VOCAB)
    layout = tensors(shape)
    for name, dims, kind in layout:
        if kind in ("norm", "router"):
            writer.add_tensor_info(name, dims, np.dtype(np.float32), int(np.prod(dims)) * 4)
        else:
            byte_dims = (*dims[:-1], dims[-1] // BLOCK_WEIGHTS * BLOCK_BYTES)
            writer.add_tensor_info(name, byte_dims, np.dtype(np.uint8), int(np.prod(byte_dims)),
                                   raw_dtype=gguf.GGMLQuantizationType.Q4_K)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    for _name, dims, kind in layout:
        writer.write_tensor_data(data_for(kind, dims, rng))
    writer.close()
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "mixtral-8x7b-shaped-q4_k.gguf")
    print(write_q4_k_model(target), f"{target.stat().st_size / 2**30:.1f} GiB")
