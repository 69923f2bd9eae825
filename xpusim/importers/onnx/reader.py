"""Reading an ONNX file as data: the file's checks, the protobuf, external weights, the
checker. Every problem is one ``OnnxError`` naming the file."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from xpusim.core.errors import XpusimError

if TYPE_CHECKING:
    from onnx import ModelProto, TensorProto

MAX_FILE_BYTES = 2 ** 31 - 1
"""Largest ONNX file (protobuf's limit on one message; larger weights go in external files)."""

INSTALL_HINT = "pip install 'xpusim[onnx]'"


class OnnxError(XpusimError):
    """An ONNX file that cannot be read or imported (the message names the file and why)."""


def require_onnx() -> Any:
    """The ``onnx`` package, or an ``OnnxError`` saying how to install it."""
    try:
        import onnx
    except ImportError:
        raise OnnxError(f"reading ONNX files needs the onnx package: {INSTALL_HINT}") from None
    return onnx


def read_model(path: str | Path) -> tuple[ModelProto, str]:
    """The checked ``ModelProto`` of the file at ``path`` (external weights loaded from beside
    it) and the sha256 of the file."""
    onnx = require_onnx()
    from google.protobuf.message import DecodeError

    p = Path(path)
    if not p.exists():
        raise OnnxError(f"{path}: no such ONNX file")
    if not p.is_file():
        raise OnnxError(f"{path}: not a file (expected an .onnx model file)")
    size = p.stat().st_size
    if size == 0:
        raise OnnxError(f"{path}: the file is empty (expected an ONNX model)")
    if size > MAX_FILE_BYTES:
        raise OnnxError(f"{path}: {size} bytes; an ONNX file holds at most {MAX_FILE_BYTES} "
                        "(larger weights belong in external data files beside it)")
    data = p.read_bytes()
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, ValueError, RuntimeError) as exc:
        raise OnnxError(f"{path}: not an ONNX model (the protobuf does not parse: "
                        f"{_first_line(exc)})") from None
    if model.ir_version <= 0 or not model.graph.node:
        raise OnnxError(f"{path}: not an ONNX model (no IR version or no graph nodes)")
    _load_external(model, p)
    try:
        onnx.checker.check_model(model)
    except (onnx.checker.ValidationError, ValueError, RuntimeError) as exc:
        raise OnnxError(f"{path}: malformed ONNX model: {_first_line(exc)}") from None
    return model, hashlib.sha256(data).hexdigest()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _tensors(model: ModelProto) -> list[TensorProto]:
    """Every tensor the model holds: initializers and attributes, in subgraphs too."""
    from onnx import AttributeProto

    found: list[TensorProto] = []

    def graph(g: Any) -> None:
        found.extend(g.initializer)
        for node in g.node:
            for a in node.attribute:
                if a.type == AttributeProto.TENSOR:
                    found.append(a.t)
                elif a.type == AttributeProto.TENSORS:
                    found.extend(a.tensors)
                elif a.type == AttributeProto.GRAPH:
                    graph(a.g)
                elif a.type == AttributeProto.GRAPHS:
                    for sub in a.graphs:
                        graph(sub)

    graph(model.graph)
    return found


def _load_external(model: ModelProto, path: Path) -> None:
    """Load tensors stored in external data files: each must be a relative path to a file
    inside the model's folder, and the bytes it names must lie within that file."""
    from onnx import TensorProto
    from onnx.external_data_helper import load_external_data_for_model

    folder = path.resolve().parent
    external = [t for t in _tensors(model) if t.data_location == TensorProto.EXTERNAL]
    for t in external:
        info = {e.key: e.value for e in t.external_data}
        where = f"{path}: tensor {t.name!r}"
        location = info.get("location", "")
        if not location:
            raise OnnxError(f"{where}: external data without a location")
        target = (folder / location).resolve()
        if Path(location).is_absolute() or not target.is_relative_to(folder):
            raise OnnxError(f"{where}: external data {location!r} lies outside the model's "
                            f"folder {folder}; only files beside the model are read")
        if not target.is_file():
            raise OnnxError(f"{where}: external data file {location!r} not found in {folder}")
        try:
            offset, length = int(info.get("offset", 0)), int(info.get("length", -1))
        except ValueError:
            raise OnnxError(f"{where}: external data offset/length must be integers, got "
                            f"{info.get('offset')!r}/{info.get('length')!r}") from None
        end = target.stat().st_size if length < 0 else offset + length
        if offset < 0 or end > target.stat().st_size:
            raise OnnxError(f"{where}: external data bytes {offset}..{end} lie beyond the end "
                            f"of {location!r} ({target.stat().st_size} bytes)")
    if external:
        try:
            load_external_data_for_model(model, str(folder))
        except (OSError, ValueError) as exc:
            raise OnnxError(f"{path}: external data: {_first_line(exc)}") from None
