"""The rows the model picker shows: each quantization with its size, memory, fit and state.

Pure: given the choices, a shape, a context size and the hardware, it says
everything the picker needs, and which row to preselect.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixtral_tui.models.catalog import CatalogEntry, Shape
from mixtral_tui.models.hardware import Hardware
from mixtral_tui.models.hub import QuantChoice, RemoteFile
from mixtral_tui.models.planner import Plan, compute_buffer_bytes, kv_cache_bytes, plan

FIT_SHORT = {
    "gpu": "GPU",
    "gpu+cpu-experts": "GPU+CPU experts",
    "split": "{l} layers GPU",
    "cpu": "CPU only",
    "too-large": "too large",
}
"""Where the picker is narrow (below 110 columns); the line under the table says it whole."""

FIT_LABELS = {
    "gpu": "fits on the GPU",
    "gpu+cpu-experts": "GPU, experts of {n} layers on CPU",
    "split": "{l} layers on the GPU, the rest on CPU",
    "cpu": "CPU only",
    "too-large": "too large",
}


@dataclass
class QuantRow:
    choice: QuantChoice
    plan: Plan
    memory: int  # weights + KV cache + buffers at the planned context
    bits_per_weight: float | None
    downloaded: bool = False
    old_layout: bool = False  # learnt from the remote header, when read

    @property
    def fit(self) -> str:
        if self.old_layout:
            return "old layout: will not load"
        return FIT_LABELS[self.plan.verdict].format(n=self.plan.cpu_moe_layers, l=self.plan.gpu_layers)

    @property
    def short_fit(self) -> str:
        if self.old_layout:
            return "old layout"
        return FIT_SHORT[self.plan.verdict].format(n=self.plan.cpu_moe_layers, l=self.plan.gpu_layers)


def rows_for(
    choices: list[QuantChoice], shape: Shape, context: int, hardware: Hardware, downloaded: set[str]
) -> list[QuantRow]:
    rows = []
    for choice in choices:
        chosen = plan(shape, choice.size, context, hardware)
        memory = choice.size + kv_cache_bytes(shape, context) + compute_buffer_bytes(shape, context)
        bpw = choice.size * 8 / shape.params if shape.params else None
        rows.append(QuantRow(choice, chosen, memory, bpw, choice.first.path in downloaded))
    return rows


def catalog_choices(entry: CatalogEntry) -> list[QuantChoice]:
    """Offline: the catalog's sizes (file names are filled in by a live listing)."""
    return [QuantChoice(q.name, [RemoteFile(f"{q.name}.gguf", q.size, None)]) for q in entry.quants]


def best_row(rows: list[QuantRow]) -> int:
    """Q4_K_M when it fits; else the largest quant that fits; else the smallest."""
    usable = [i for i, r in enumerate(rows) if r.plan.fits and not r.old_layout]
    for i in usable:
        if rows[i].choice.quant == "Q4_K_M":
            return i
    if usable:
        return max(usable, key=lambda i: rows[i].choice.size)
    return min(range(len(rows)), key=lambda i: rows[i].choice.size) if rows else 0


