"""What a GGUF file is, read from its header with the `gguf` package.

llama-cpp-python reports almost every load failure as a bare
"Failed to load model from file". Reading the header ourselves lets the app
say *why*: not a GGUF, truncated, or a Mixtral converted before llama.cpp
merged the experts into one tensor per layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

GGUF_MAGIC = b"GGUF"
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

    @property
    def is_moe(self) -> bool:
        return self.expert_count > 1

    @property
    def truncated(self) -> bool:
        return self.expected_size > self.size


def _field(reader, key: str):
    field = reader.fields.get(key)
    if field is None or not field.data:
        return None
    value = field.parts[field.data[0]]
    if field.types and field.types[0].name == "STRING":
        return bytes(value).decode("utf-8", errors="replace")
    return value.tolist()[0] if hasattr(value, "tolist") else value


def quant_name(file_type: int | None) -> str | None:
    import gguf

    if file_type is None:
        return None
    try:
        name = gguf.LlamaFileType(file_type).name
    except ValueError:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def read_info(path: Path | str) -> GgufInfo:
    """Read the header. Raises ValueError with a plain reason when the file is not a usable GGUF."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic != GGUF_MAGIC:
        raise ValueError("it is not a GGUF file (it does not start with the GGUF signature)")
    import gguf

    try:
        reader = gguf.GGUFReader(str(path), "r")
    except Exception as exc:  # the reader raises many kinds on damaged files
        raise ValueError(f"its header cannot be read ({exc.__class__.__name__}); the file is truncated or damaged") from None
    arch = _field(reader, "general.architecture") or "unknown"
    info = GgufInfo(
        path=path,
        size=size,
        architecture=arch,
        name=_field(reader, "general.name") or path.stem,
        quant=quant_name(_field(reader, "general.file_type")),
        chat_template=_field(reader, "tokenizer.chat_template"),
        train_context=int(_field(reader, f"{arch}.context_length") or 0),
        expert_count=int(_field(reader, f"{arch}.expert_count") or 0),
    )
    names = [t.name for t in reader.tensors]
    info.old_expert_layout = any(OLD_EXPERT_TENSOR.match(n) for n in names)
    if reader.tensors:
        last = max(reader.tensors, key=lambda t: t.data_offset)
        info.expected_size = int(last.data_offset + last.n_bytes)
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
    return f"llama.cpp could not load {path.name}.{detail} See the log (F12) for details."
