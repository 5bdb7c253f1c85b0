"""What this machine has: RAM, CPU cores and GPUs (as llama.cpp sees them).

GPU facts come from a probe the caller passes in (the llama.cpp engine's
`backend_devices`), so this module stays free of llama_cpp and testable with
any machine described as data.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

GIB = 1024**3
MIB = 1024**2


def gib(size: float, digits: int = 1) -> str:
    """A size as the app says every size: in GiB, as llama.cpp and the quantizations' sizes do
    (a `GB` here and a `GiB` there made the same RAM read as two amounts)."""
    return f"{size / GIB:.{digits}f} GiB"


@dataclass(frozen=True)
class Gpu:
    name: str
    description: str
    free: int
    total: int


@dataclass(frozen=True)
class Hardware:
    ram_total: int
    ram_available: int
    cpu_cores: int
    gpu_offload: bool = False  # whether this llama.cpp build can use a GPU at all
    gpus: tuple[Gpu, ...] = field(default_factory=tuple)
    probe_error: str | None = None  # why the GPUs could not be asked: then planned as for no GPU, and said

    @property
    def vram_free(self) -> int:
        return sum(g.free for g in self.gpus)

    @property
    def vram_total(self) -> int:
        return sum(g.total for g in self.gpus)


def _meminfo() -> tuple[int, int]:
    """(total, available) RAM in bytes, from /proc/meminfo where there is one."""
    try:
        values = {}
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                key, _, rest = line.partition(":")
                values[key] = int(rest.split()[0]) * 1024
        return values["MemTotal"], values.get("MemAvailable", values.get("MemFree", 0))
    except (OSError, KeyError, ValueError, IndexError):
        pages = os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else 0
        size = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 0
        return pages * size, pages * size // 2


def _nvidia_smi_gpus() -> list[Gpu]:
    """A fallback when the llama.cpp build cannot see GPUs: tells the user what they are missing."""
    import shutil
    import subprocess

    if not shutil.which("nvidia-smi"):
        return []
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.free,memory.total", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.strip().splitlines():
        try:
            name, free, total = (part.strip() for part in line.split(","))
            gpus.append(Gpu(name, "seen by nvidia-smi", int(free) * 1024**2, int(total) * 1024**2))
        except ValueError:
            continue
    return gpus


DeviceProbe = Callable[[], tuple[bool, list[tuple[str, str, int, int]]]]


class ProbeFailed(Exception):
    """The probe could not learn the GPUs (a broken driver, a crash); the text says what happened."""


def detect(probe: DeviceProbe | None = None) -> Hardware:
    """This machine. `probe` returns (GPU offload supported, [(name, description, free, total)]).

    A probe that fails leaves the plan CPU-only, but the reason is kept: a machine whose GPU
    went unseen must not look like a machine without one."""
    total, available = _meminfo()
    error = None
    try:
        offload, devices = probe() if probe else (False, [])
    except ProbeFailed as exc:
        offload, devices, error = False, [], str(exc)
    return Hardware(
        ram_total=total,
        ram_available=available,
        cpu_cores=os.cpu_count() or 1,
        gpu_offload=offload,
        gpus=tuple(Gpu(*d) for d in devices),
        probe_error=error,
    )


def missing_gpu_hint(hardware: Hardware) -> str | None:
    """A CPU-only llama-cpp-python on a machine with an NVIDIA GPU is a common mistake: say how to fix it."""
    if hardware.gpu_offload or hardware.probe_error:  # a failed probe says nothing about the build
        return None
    gpus = _nvidia_smi_gpus()
    if not gpus:
        return None
    return (
        f"this machine has {gpus[0].name} but llama-cpp-python was built without GPU support; reinstall with "
        'CMAKE_ARGS="-DGGML_CUDA=on -DLLAVA_BUILD=OFF" pip install --force-reinstall --no-cache-dir llama-cpp-python'
    )


def hardware_line(hw: Hardware) -> str:
    gpus = ", ".join(f"{g.description or g.name} {g.free / GIB:.1f}/{gib(g.total)} free" for g in hw.gpus)
    if hw.probe_error:
        gpus = f"GPUs unknown ({hw.probe_error}; planned for CPU only, `mixtral-tui doctor` says more)"
    return f"{gpus or 'no GPU in use'}; RAM {hw.ram_available / GIB:.1f}/{gib(hw.ram_total)} free"
