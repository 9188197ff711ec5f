"""Reading weight files without running code from them: .pth/.pt/.ckpt through torch's weights-only
unpickler, .safetensors through safetensors, TorchScript archives for their tensors only.

`read_state_dict(path)` returns a flat {name: tensor} dict, unwrapped from the usual training containers
('params_ema', 'state_dict', 'generator', ...) and stripped of DataParallel's 'module.' prefix. Anything
else raises a CheckpointError whose message says what the file is and what was expected.
"""

from __future__ import annotations

import json
import pickle
import re
import stat
import struct
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import torch

from core.errors import CheckpointError  # noqa: F401  (re-exported: callers catch it from here)
from core.kinds import CHECKPOINT_SUFFIXES

# Where training code keeps the weights inside a checkpoint, best choice first: EMA weights are the ones
# released models are evaluated with ('params_ema' over 'params', 'g_ema' over 'generator').
CONTAINER_KEYS = ("params_ema", "params-ema", "g_ema", "params", "state_dict", "model_state_dict",
                  "generator", "netG", "net_g", "model", "net", "module", "weights")
STRIP_PREFIXES = ("module.", "_orig_mod.")
EXPECTED = ("a PyTorch checkpoint (.pth, .pt, .ckpt) or a .safetensors file holding a network's weights")


class UnsafeCheckpointError(CheckpointError):
    """The file is a pickle that needs Python code to be run to load it."""


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a weight file as a flat state dict on the CPU. Never executes pickled code."""
    path = Path(path)
    size = _regular_file_size(path)
    if size == 0:
        raise CheckpointError(f"{path.name} is empty (0 bytes); expected {EXPECTED}. A download may have failed.")
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError as e:
        raise CheckpointError(f"{path.name} cannot be read: {e.strerror or e}.") from None

    kind = sniff(head, size, suffix=path.suffix)
    if kind == "safetensors":
        raw: Any = _load_safetensors(path)
    elif kind == "zip":
        raw = _load_zip(path)
    elif kind == "pickle":
        raw = _torch_load(path)
    elif kind == DAMAGED_SAFETENSORS:
        declared = struct.unpack("<Q", head[:8])[0] if len(head) >= 8 else 0
        raise CheckpointError(f"{path.name} is not a readable .safetensors file: its header is damaged or of an "
                              f"unsupported kind (it declares {declared:,} header bytes in a file of {size:,} "
                              f"bytes). Download or export it again.")
    else:
        raise CheckpointError(f"{path.name} is {kind}, not a checkpoint; expected {EXPECTED}.")
    return unwrap_state_dict(raw, path.name)


def _regular_file_size(path: Path) -> int:
    """The size of a regular file; CheckpointError for a missing path, a folder, a pipe or a device."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such file.") from None
    except OSError as e:
        raise CheckpointError(f"{path} cannot be read: {e.strerror or e}.") from None
    if stat.S_ISDIR(st.st_mode):
        raise CheckpointError(f"{path} is a folder, not a weight file; expected {EXPECTED}.")
    if not stat.S_ISREG(st.st_mode):
        raise CheckpointError(f"{path} is not a regular file (a pipe, socket or device); expected {EXPECTED}.")
    return st.st_size


DAMAGED_SAFETENSORS = "a damaged .safetensors file"


def sniff(head: bytes, size: int, *, suffix: str = "") -> str:
    """'safetensors', 'zip', 'pickle', DAMAGED_SAFETENSORS, or a description of what else the bytes look like.
    `suffix` (the file's) only tells a damaged .safetensors header from other unknown content."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return "zip"
    if len(head) >= 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        if head[8:9] == b"{":
            return "safetensors" if 0 < header_len <= size - 8 else DAMAGED_SAFETENSORS
    if head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5:  # pickle PROTO opcode: torch's legacy format
        return "pickle"
    text = head.lstrip()[:20].lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")):
        return "a web page (HTML), probably an error page saved instead of the file"
    if text.startswith((b"version https://git-lfs", b"version http")):
        return "a Git LFS pointer (the real file was never fetched)"
    if head.startswith(b"\x89PNG") or head.startswith(b"\xff\xd8\xff") or head[:4] in (b"GIF8", b"RIFF"):
        return "an image"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip archive"
    if suffix.lower() == ".safetensors":
        return DAMAGED_SAFETENSORS
    try:
        text_head = head.decode("utf-8")
    except UnicodeDecodeError:
        return "an unknown binary file"
    if text_head and all(c.isprintable() or c in "\r\n\t" for c in text_head):
        shown = text_head[:24].splitlines()[0] if text_head[:24].strip() else text_head[:24]
        return f"a text file (it starts with \"{shown.strip()}\")"
    return "an unknown binary file"


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # noqa: BLE001  SafetensorError, and whatever torch raises building the tensors
        raise CheckpointError(f"{path.name} looks like a .safetensors file but is damaged or truncated "
                              f"({_first_line(e)}). Download or export it again.") from None


def _load_zip(path: Path) -> Any:
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
    except Exception as e:  # noqa: BLE001  zipfile raises BadZipFile, but also UnicodeDecodeError, NotImplementedError...
        raise CheckpointError(f"{path.name} is a damaged zip archive ({_first_line(e)}); expected {EXPECTED}.") \
            from None
    if any(n.endswith("/data.pkl") or n == "data.pkl" for n in names):
        if any(n.endswith("/constants.pkl") for n in names) and any("/code/" in n for n in names):
            return _load_torchscript(path)
        return _torch_load(path)
    inner = [n for n in names if n.lower().endswith(CHECKPOINT_SUFFIXES)]
    listing = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    hint = f" It contains {', '.join(inner[:3])}: unpack it and import that file." if inner else ""
    raise CheckpointError(f"{path.name} is a zip archive of something else ({listing or 'empty'}), not a PyTorch "
                          f"checkpoint; expected {EXPECTED}.{hint}")


def _load_torchscript(path: Path) -> dict[str, torch.Tensor]:
    """Only the tensors of a TorchScript archive: its TorchScript code is compiled, never run, and it holds no
    Python pickles that could execute."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # TorchScript's deprecation notice
            module = torch.jit.load(str(path), map_location="cpu")
    except Exception as e:  # noqa: BLE001  (torch raises many kinds here)
        raise CheckpointError(f"{path.name} is a TorchScript archive that cannot be read: {_first_line(e)}") from None
    return dict(module.state_dict())


def _torch_load(path: Path) -> Any:
    """torch's weights-only unpickler on an open file: the content decides the format, never the name (given a
    path, torch would read any '.safetensors' name as safetensors)."""
    try:
        with warnings.catch_warnings(), path.open("rb") as fh:
            warnings.simplefilter("ignore")  # pickle-protocol notices: not the user's concern
            return torch.load(fh, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        message = str(e)
        if "GLOBAL" in message or "Unsupported global" in message:
            found = _unsafe_globals(path, message)
            raise UnsafeCheckpointError(
                f"{path.name} is a pickle that needs Python code to load ({found}); Restora will not run code "
                f"from a weight file. Save just the state dict (torch.save(model.state_dict(), ...)) or convert "
                f"it to .safetensors with a tool you trust, then import that.") from None
        if "Unsupported operand" in message:
            raise CheckpointError(f"{path.name} is a Python pickle but not a PyTorch checkpoint; "
                                  f"expected {EXPECTED}.") from None
        raise CheckpointError(f"{path.name} is damaged or not a PyTorch checkpoint ({_unpickler_detail(message)}); "
                              f"expected {EXPECTED}.") from None
    except Exception as e:  # noqa: BLE001  the unpickler raises anything at all on damaged bytes (IndexError, ...)
        if "magic number" in str(e).lower():
            raise CheckpointError(f"{path.name} is a Python pickle but not a PyTorch checkpoint; "
                                  f"expected {EXPECTED}.") from None
        raise CheckpointError(f"{path.name} is damaged or truncated ({_first_line(e)}); expected {EXPECTED}. "
                              f"Download it again.") from None


def _unsafe_globals(path: Path, message: str) -> str:
    """The Python objects the pickle would have to build, as best we can tell."""
    names: list[str] = []
    try:
        names = list(torch.serialization.get_unsafe_globals_in_checkpoint(str(path)))
    except Exception:  # noqa: BLE001  (older torch, or a legacy-format file)
        names = re.findall(r"(?:Unsupported global: GLOBAL|global) ([\w.]+)", message)
    names = sorted(set(names))
    if not names:
        return "it refers to Python objects that are not plain tensors"
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"it refers to {shown}"


def unwrap_state_dict(obj: Any, source: str = "the file") -> dict[str, torch.Tensor]:
    """Find the state dict inside a checkpoint's containers, keep only its tensors, strip wrapper prefixes."""
    found = _find_tensors(obj, depth=0)
    if found is None:
        raise CheckpointError(f"{source} holds no tensors ({_describe(obj)}); expected {EXPECTED}.")
    tensors = {str(k): v for k, v in found.items() if isinstance(v, torch.Tensor)}
    return strip_prefixes(tensors)


def _find_tensors(obj: Any, depth: int) -> Mapping[str, Any] | None:
    if isinstance(obj, torch.nn.Module):
        return obj.state_dict()
    if not isinstance(obj, Mapping) or depth > 4:
        return None
    for key in CONTAINER_KEYS:
        inner = obj.get(key)
        if isinstance(inner, (Mapping, torch.nn.Module)):
            found = _find_tensors(inner, depth + 1)
            if found:
                return found
    if any(isinstance(v, torch.Tensor) for v in obj.values()):
        return obj
    dicts = [v for v in obj.values() if isinstance(v, Mapping)]
    if len(dicts) == 1:  # a single unnamed wrapper, e.g. {'ema': {...}}
        return _find_tensors(dicts[0], depth + 1)
    return None


def strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove 'module.' (DataParallel) and '_orig_mod.' (torch.compile) when every key carries it."""
    changed = True
    while changed and state_dict:
        changed = False
        for prefix in STRIP_PREFIXES:
            if all(k.startswith(prefix) for k in state_dict):
                state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
                changed = True
    return state_dict


def _describe(obj: Any) -> str:
    if isinstance(obj, Mapping):
        if not obj:
            return "an empty dictionary"
        keys = [str(k) for k in list(obj)[:6]]
        more = f" and {len(obj) - 6} more" if len(obj) > 6 else ""
        return f"a dictionary with keys {', '.join(keys)}{more}"
    if isinstance(obj, (list, tuple)):
        return f"a {type(obj).__name__} of {len(obj)} items"
    return f"a {type(obj).__name__}"


def _first_line(e: BaseException) -> str:
    """An exception's first line for a message: no Python reprs, never empty."""
    text = str(e).strip().splitlines()
    line = _CLASS_REPR.sub(r"\1", _OBJECT_REPR.sub("the data", text[0]))[:200] if text else ""
    if isinstance(e, KeyError):
        return f"an entry it needs is missing: {line}" if line else "an entry it needs is missing"
    return line or "its data is inconsistent"


_OBJECT_REPR = re.compile(r"<[^<>]*? object at 0x[0-9a-fA-F]+>")
_CLASS_REPR = re.compile(r"<class '([\w.]+)'>")


def _unpickler_detail(message: str) -> str:
    """The line of torch's weights-only complaint that says what was wrong (it wraps it in advice)."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if "WeightsUnpickler error:" in line:
            rest = line.split("WeightsUnpickler error:", 1)[1].strip()
            if rest or i + 1 < len(lines):
                return _CLASS_REPR.sub(r"\1", rest or lines[i + 1])[:200]
    return _CLASS_REPR.sub(r"\1", lines[0])[:200] if lines else "it cannot be unpickled"


EXPORT_FORMAT = "restora-train-export"  # the `format` metadata of a training run's best.safetensors


@dataclass(frozen=True)
class ExportInfo:
    """What a Restora training export declares about its network beyond the weights. The model store checks
    it against the architecture's spec at import (core.archs.identify)."""

    architecture: str
    options: dict[str, Any] = field(default_factory=dict)  # the network's constructor arguments
    input_range: tuple[float, float] | None = None
    output_range: tuple[float, float] | None = None
    task: str | None = None
    preset: str | None = None


def read_export_info(path: str | Path) -> ExportInfo | None:
    """The metadata of a training export; None for any other weight file."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            head = f.read(64)
        if sniff(head, path.stat().st_size) != "safetensors":
            return None
        from safetensors import safe_open

        with safe_open(str(path), "pt") as f:
            meta = f.metadata() or {}
    except Exception as e:  # noqa: BLE001  (OSError, SafetensorError: the header cannot be read)
        raise CheckpointError(f"{path.name}: the .safetensors header cannot be read ({_first_line(e)}).") from None
    if meta.get("format") != EXPORT_FORMAT:
        return None
    damaged = CheckpointError(f"{path.name} is a Restora training export with damaged metadata; export it again "
                              f"from its run folder.")
    architecture = meta.get("architecture", "").strip()
    try:
        options = json.loads(meta.get("options") or "{}")
        ranges = [_json_range(meta.get(key)) for key in ("input_range", "output_range")]
    except (ValueError, TypeError):
        raise damaged from None
    if not architecture or not isinstance(options, dict):
        raise damaged
    return ExportInfo(architecture, options, ranges[0], ranges[1], meta.get("task") or None,
                      meta.get("preset") or None)


def _json_range(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    lo, hi = json.loads(text)
    return float(lo), float(hi)


def tensor_summary(state_dict: Mapping[str, torch.Tensor], limit: int = 4) -> str:
    """A few 'key shape' pairs, for messages about checkpoints nobody recognised."""
    items = list(state_dict.items())[:limit]
    return ", ".join(f"{k} {tuple(v.shape)}" for k, v in items) + (" ..." if len(state_dict) > limit else "")


__all__ = ["CheckpointError", "UnsafeCheckpointError", "read_state_dict", "unwrap_state_dict", "strip_prefixes",
           "sniff", "tensor_summary", "CHECKPOINT_SUFFIXES", "EXPORT_FORMAT", "ExportInfo", "read_export_info"]
