"""The GPU benchmark's model: Mixtral 8x7B's shapes with random Q4_K weights. Written here at small
dimensions and run on the real llama.cpp (the benchmark writes the full 24.5 GiB one on a GPU machine)."""

from benchmarks.gpu import decode_tps_from_llama_bench
from benchmarks.synthetic_mixtral import BLOCK_BYTES, BLOCK_WEIGHTS, MIXTRAL_8X7B, tensors, write_q4_k_model
from mixtral_tui.cancel import CancelToken
from mixtral_tui.config import Sampling
from mixtral_tui.engine.base import LoadSpec, ReplyStats, Turn
from mixtral_tui.engine.llama import LlamaEngine
from mixtral_tui.models.gguf_info import read_info
from tests.fixtures.gguf_models import Shape


def nbytes(dims: tuple[int, ...], kind: str) -> int:
    count = 1
    for dim in dims:
        count *= dim
    return count * 4 if kind in ("norm", "router") else count // BLOCK_WEIGHTS * BLOCK_BYTES


def test_the_full_size_layout_is_mixtral_8x7b_q4_k():
    layout = tensors(MIXTRAL_8X7B)
    total = sum(nbytes(dims, kind) for _, dims, kind in layout)
    assert 24.3 < total / 2**30 < 24.7  # what llama-bench's Mixtral-shaped Q4_K model weighed on the H100
    assert sum(name.endswith("_exps.weight") for name, _, _ in layout) == 3 * 32
    assert ("blk.31.ffn_down_exps.weight", (8, 4096, 14336), "q4_k") in layout


def test_a_small_one_loads_as_a_moe_model_and_replies_to_its_token_budget(tmp_path):
    shape = Shape(n_embd=256, n_ff=512, n_layer=2, n_head=4, n_head_kv=2, context=1024)
    path = write_q4_k_model(tmp_path / "small-q4_k.gguf", shape)
    info = read_info(path)
    assert info.expert_count == 8 and info.expert_used == 2 and info.quant == "Q4_K_M" and not info.old_expert_layout
    assert path.stat().st_size == info.expected_size or info.expected_size == 0

    engine = LlamaEngine()
    engine.load(LoadSpec(str(path), context_size=512))
    try:
        stats = ReplyStats()
        chunks = list(engine.stream_reply(
            [Turn("user", "hello world")], Sampling(temperature=0.0, max_tokens=48, seed=1), CancelToken(), stats
        ))
    finally:
        engine.unload()
    assert stats.completion_tokens == 48 and stats.finish_reason == "length"  # end-of-sequence never wins
    assert "".join(chunk.text for chunk in chunks).strip()


def test_llama_bench_json_gives_the_generation_test():
    output = (
        "ggml_cuda_init: found 1 CUDA devices:\n"
        '[\n  {"model_type": "llama 8x7B Q4_K - Medium", "n_prompt": 0, "n_gen": 256, "avg_ts": 200.13, "stddev_ts": 0.4}\n]\n'
    )
    assert decode_tps_from_llama_bench(output) == 200.13
