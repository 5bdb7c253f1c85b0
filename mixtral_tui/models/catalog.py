"""Curated models and their quantizations, with sizes known offline.

Sizes are the published file sizes (GB = 10^9 bytes) of the common GGUF
quantizations; a live Hub listing replaces them when online. The shapes feed
the memory planner.
"""

from __future__ import annotations

from dataclasses import dataclass

GB = 10**9


@dataclass(frozen=True)
class Shape:
    """What the planner needs to know about a model's architecture."""

    params: float  # total parameters
    n_layer: int
    n_embd: int
    n_head_kv: int
    head_dim: int
    n_expert: int = 0
    n_expert_used: int = 0
    expert_fraction: float = 0.0  # share of a layer's bytes that are expert weights
    active_params: float = 0.0  # parameters read per token (MoE reads only the chosen experts)

    @property
    def is_moe(self) -> bool:
        return self.n_expert > 1


@dataclass(frozen=True)
class Quant:
    name: str
    size: int  # bytes, all parts together

    def bits_per_weight(self, shape: Shape) -> float:
        return self.size * 8 / shape.params


@dataclass(frozen=True)
class CatalogEntry:
    key: str
    title: str
    repo: str
    shape: Shape
    quants: tuple[Quant, ...]
    note: str = ""


MIXTRAL_8X7B = Shape(46.7e9, 32, 4096, 8, 128, 8, 2, 0.963, 12.9e9)
MIXTRAL_8X22B = Shape(140.6e9, 56, 6144, 8, 128, 8, 2, 0.97, 39.1e9)
MISTRAL_7B = Shape(7.24e9, 32, 4096, 8, 128, active_params=7.24e9)


def _quants(*pairs: tuple[str, float]) -> tuple[Quant, ...]:
    return tuple(Quant(name, int(size * GB)) for name, size in pairs)


CATALOG: tuple[CatalogEntry, ...] = (
    CatalogEntry(
        "mixtral-8x7b-instruct",
        "Mixtral 8x7B Instruct v0.1",
        "mradermacher/Mixtral-8x7B-Instruct-v0.1-GGUF",
        MIXTRAL_8X7B,
        _quants(("Q2_K", 15.64), ("Q3_K_M", 20.36), ("Q4_0", 26.44), ("Q4_K_M", 26.44), ("Q5_0", 32.23),
                ("Q5_K_M", 32.23), ("Q6_K", 38.38), ("Q8_0", 49.62)),
        "merged-expert layout (current llama.cpp); TheBloke's 2023 files use the old layout and will not load",
    ),
    CatalogEntry(
        "mixtral-8x22b-instruct",
        "Mixtral 8x22B Instruct v0.1",
        "mradermacher/Mixtral-8x22B-Instruct-v0.1-GGUF",
        MIXTRAL_8X22B,
        _quants(("Q2_K", 52.1), ("Q3_K_M", 67.8), ("Q4_K_M", 85.6), ("Q5_K_M", 100.0), ("Q6_K", 115.5),
                ("Q8_0", 149.4)),
        "sizes approximate until listed from the Hub",
    ),
    CatalogEntry(
        "mistral-7b-instruct",
        "Mistral 7B Instruct v0.2",
        "TheBloke/Mistral-7B-Instruct-v0.2-GGUF",
        MISTRAL_7B,
        _quants(("Q2_K", 3.08), ("Q3_K_M", 3.52), ("Q4_0", 4.11), ("Q4_K_M", 4.37), ("Q5_K_M", 5.13),
                ("Q6_K", 5.94), ("Q8_0", 7.70)),
    ),
)

# How llama.cpp's -hf and Ollama pick when the user names no quant.
PREFERRED_QUANTS = ("Q4_K_M", "Q8_0")


def entry(key_or_repo: str) -> CatalogEntry | None:
    for item in CATALOG:
        if key_or_repo in (item.key, item.repo):
            return item
    return None


def shape_for(repo: str) -> Shape:
    """The catalog's shape for a known repo, else a generic 7B-like dense guess."""
    known = entry(repo)
    if known:
        return known.shape
    from dataclasses import replace

    return replace(MISTRAL_7B, params=0.0, active_params=0.0)
