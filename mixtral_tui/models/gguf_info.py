"""What a GGUF file is, read from its header with the `gguf` package.

llama-cpp-python reports almost every load failure as a bare
"Failed to load model from file". Reading the header ourselves lets the app
say *why*: not a GGUF, truncated, or a Mixtral converted before llama.cpp
merged the experts into one tensor per layer.
"""

from __future__ import annotations

import mmap
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mixtral_tui.text_safety import displayable_line

Header = bytes | memoryview | mmap.mmap
"""A GGUF's first bytes: read from a Range request, or a local file mapped into memory."""

if TYPE_CHECKING:
    from mixtral_tui.models.catalog import Shape

GGUF_MAGIC = b"GGUF"
EXPERT_TENSOR = re.compile(r"^blk\.\d+\.ffn_(gate|up|down)(_exps|\.\d+)\.weight$")
OLD_EXPERT_TENSOR = re.compile(r"^blk\.\d+\.ffn_(gate|up|down)\.\d+\.weight$")
NEWER_MIXTRAL = "a newer conversion, e.g. mradermacher/Mixtral-8x7B-Instruct-v0.1-GGUF"


@dataclass
class GgufInfo:
    path: Path
    size: int
    architecture: str = "unknown"
    name: str = ""
    quant: str | None = None
    chat_template: str | None = None
    train_context: int = 0
    expert_count: int = 0
    old_expert_layout: bool = False
    expected_size: int = 0
    n_layer: int = 0
    n_embd: int = 0
    n_head_kv: int = 0
    head_dim: int = 0
    expert_used: int = 0
    expert_bytes: int = 0  # all expert tensors together
    params: int = 0

    def shape(self) -> Shape:
        """The planner's view of this file."""
        from mixtral_tui.models.catalog import Shape

        weights = max(self.expected_size or self.size, 1)
        fraction = self.expert_bytes / weights if self.is_moe else 0.0  # of the file; per layer about the same
        active = self.params * (1 - fraction + fraction * self.expert_used / max(self.expert_count, 1))
        return Shape(
            params=float(self.params or weights),
            n_layer=max(self.n_layer, 1),
            n_embd=self.n_embd,
            n_head_kv=self.n_head_kv,
            head_dim=self.head_dim,
            n_expert=self.expert_count,
            n_expert_used=self.expert_used,
            expert_fraction=min(fraction, 0.99),
            active_params=active,
        )

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 1

    @property
    def truncated(self) -> bool:
        return self.expected_size > self.size


def quant_name(file_type: int | None) -> str | None:
    import gguf

    if file_type is None:
        return None
    try:
        name = gguf.LlamaFileType(file_type).name
    except ValueError:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
ARCH_KEYS = ("context_length", "expert_count", "expert_used_count", "block_count", "embedding_length",
             "attention.head_count", "attention.head_count_kv", "attention.key_length")
WANTED_KEYS = ("general.architecture", "general.name", "general.file_type", "general.alignment", "tokenizer.chat_template")


class _Cursor:
    """Walks a GGUF header in a memory map. Much faster than gguf.GGUFReader, which
    builds every field (Gemma's 262k-token vocabulary took 16 s, holding the GIL)."""

    def __init__(self, data: Header) -> None:
        self.data = data
        self.pos = 0

    def scalar(self, fmt: str) -> Any:
        value = struct.unpack_from(fmt, self.data, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return value

    def string(self) -> str:
        size = self.scalar("<Q")
        raw = bytes(self.data[self.pos : self.pos + size])
        if len(raw) != size:
            raise ValueError("a header string runs past the end of the file")
        self.pos += size
        return raw.decode("utf-8", errors="replace")

    def value(self, kind: int, keep: bool) -> Any:
        if kind == _STRING:
            if keep:
                return self.string()
            self.pos += 8 + struct.unpack_from("<Q", self.data, self.pos)[0]
            return None
        if kind == _ARRAY:
            item, count = self.scalar("<I"), self.scalar("<Q")
            if item in _SCALAR:
                self.pos += struct.calcsize(_SCALAR[item]) * count
            else:
                for _ in range(count):
                    self.value(item, False)
            return None
        if kind not in _SCALAR:
            raise ValueError(f"unknown value type {kind} in the header")
        return self.scalar(_SCALAR[kind])


def _parse_header(data: Header) -> tuple[dict, list]:
    """The wanted key/values and every tensor's (name, dims, type, absolute offset)."""
    cursor = _Cursor(data)
    cursor.pos = 4
    version = cursor.scalar("<I")
    if version < 2:
        raise ValueError(f"it is GGUF version {version}, too old for current llama.cpp")
    n_tensors, n_kv = cursor.scalar("<Q"), cursor.scalar("<Q")
    fields: dict = {}
    for _ in range(n_kv):
        key = cursor.string()
        kind = cursor.scalar("<I")
        keep = key in WANTED_KEYS or key.split(".", 1)[-1] in ARCH_KEYS
        value = cursor.value(kind, keep)
        if keep:
            fields[key] = value
    tensors = []
    for _ in range(n_tensors):
        name = cursor.string()
        dims = [cursor.scalar("<Q") for _ in range(cursor.scalar("<I"))]
        tensors.append((name, dims, cursor.scalar("<I"), cursor.scalar("<Q")))
    alignment = int(fields.get("general.alignment") or 32)
    data_start = (cursor.pos + alignment - 1) // alignment * alignment
    return fields, [(name, dims, kind, data_start + offset) for name, dims, kind, offset in tensors]


def _count(dims: list[int]) -> int:
    count = 1
    for d in dims:
        count *= d
    return count


def _tensor_bytes(dims: list[int], kind: int) -> int:
    import gguf

    block, size = gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType(kind)]
    return _count(dims) // block * size


def read_info(path: Path | str) -> GgufInfo:
    """Read the header. Raises ValueError with a plain reason when the file is not a usable GGUF."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        if handle.read(4) != GGUF_MAGIC:
            raise ValueError("it is not a GGUF file (it does not start with the GGUF signature)")
        with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return info_from_header(data, size, path)


def info_from_header(data: Header, size: int, path: Path) -> GgufInfo:
    """Parse a header held in memory: a whole file's map, or the first megabytes of a remote file."""
    if bytes(data[:4]) != GGUF_MAGIC:
        raise ValueError("it is not a GGUF file (it does not start with the GGUF signature)")
    try:
        fields, tensors = _parse_header(data)
    except (struct.error, ValueError, OverflowError) as exc:
        reason = str(exc) if isinstance(exc, ValueError) and str(exc) else "the header is cut short"
        raise ValueError(f"its header cannot be read ({reason}); the file is truncated or damaged") from None
    arch = fields.get("general.architecture") or "unknown"
    info = GgufInfo(
        path=path,
        size=size,
        # Shown in the status line, on every reply and in the picker: anybody's text, made safe here.
        architecture=displayable_line(arch),
        name=displayable_line(fields.get("general.name") or path.stem),
        quant=quant_name(fields.get("general.file_type")),
        chat_template=fields.get("tokenizer.chat_template"),
        train_context=int(fields.get(f"{arch}.context_length") or 0),
        expert_count=int(fields.get(f"{arch}.expert_count") or 0),
    )
    info.old_expert_layout = any(OLD_EXPERT_TENSOR.match(name) for name, *_ in tensors)
    heads = int(fields.get(f"{arch}.attention.head_count") or 1)
    info.n_layer = int(fields.get(f"{arch}.block_count") or 0)
    info.n_embd = int(fields.get(f"{arch}.embedding_length") or 0)
    info.n_head_kv = int(fields.get(f"{arch}.attention.head_count_kv") or heads)
    info.head_dim = int(fields.get(f"{arch}.attention.key_length") or (info.n_embd // max(heads, 1)))
    info.expert_used = int(fields.get(f"{arch}.expert_used_count") or 0)
    info.params = sum(_count(dims) for _, dims, _, _ in tensors)
    try:
        info.expected_size = max((offset + _tensor_bytes(dims, kind) for _, dims, kind, offset in tensors), default=0)
        info.expert_bytes = sum(
            _tensor_bytes(dims, kind) for name, dims, kind, _ in tensors if EXPERT_TENSOR.match(name)
        )
    except (KeyError, ValueError):
        info.expected_size = 0  # a tensor type this gguf package does not know: skip the size check
    return info


def _known_architectures() -> set[str]:
    import gguf

    return set(gguf.MODEL_ARCH_NAMES.values())


def explain_load_failure(path: Path | str, native_log: str = "") -> str:
    """The best one-line reason a model failed to load, and what to do about it."""
    path = Path(path)
    if not path.exists():
        return f"model file not found: {path}. Check the path (or pass --model PATH)."
    if path.is_dir():
        return f"{path} is a folder; pass the .gguf file inside it."
    try:
        info = read_info(path)
    except ValueError as exc:
        return f"cannot load {path.name}: {exc}. Download the model again or pick another file."
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}."
    if info.old_expert_layout:
        return (
            f"{path.name} is a Mixtral GGUF in the old layout (one tensor per expert, as in "
            "TheBloke's December 2023 files); current llama.cpp cannot load it. "
            f"Download {NEWER_MIXTRAL}."
        )
    if info.truncated:
        return (
            f"{path.name} is truncated ({info.size:,} of {info.expected_size:,} bytes); "
            "the download did not finish. Download it again."
        )
    match = re.search(r"unknown model architecture: '([^']+)'", native_log)
    if match or info.architecture not in _known_architectures():
        arch = match.group(1) if match else info.architecture
        return (
            f"{path.name} has architecture '{arch}', which this llama.cpp build does not "
            "know; upgrade llama-cpp-python or pick another model."
        )
    errors = [line.strip() for line in native_log.splitlines() if "error" in line.lower() or "failed" in line.lower()]
    detail = f" llama.cpp said: {errors[-1]}" if errors else ""
    return f"llama.cpp could not load {path.name}.{detail} llama.cpp's log has the details."


def loadable_header(path: str) -> GgufInfo:
    """The header of a GGUF an engine is about to load, or ModelLoadError saying why it cannot be
    (missing, not GGUF, truncated, the old one-tensor-per-expert Mixtral layout): every local
    engine checks this before handing the file to llama.cpp."""
    import os

    from mixtral_tui.errors import ModelLoadError

    if not path or not os.path.isfile(path):
        raise ModelLoadError(explain_load_failure(path or "(none)"))
    try:
        header = read_info(path)
    except (ValueError, OSError):
        raise ModelLoadError(explain_load_failure(path)) from None
    if header.old_expert_layout or header.truncated:
        raise ModelLoadError(explain_load_failure(path))
    return header
