"""The folder `read` and `edit` write (and the state `generate` writes beside its pictures), and
reading it back so that an edit can continue later.

`inversion.safetensors` holds the whole result: its maps, the picture, the inverted noise and what
was inverted (the backend's state), with the rest (graph, options, seeds) as JSON in the file's
metadata. The PNGs and report.json are for people; only the safetensors file is read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .backends import wire
from .backends.base import Result, report
from .errors import BadInput
from .inputs import load_json

STATE_FILE = "inversion.safetensors"


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio of two uint8 pictures, dB (100 for identical ones)."""
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10 * np.log10(255.0 ** 2 / mse))


def save_state(path: str | Path, result: Result) -> None:
    from safetensors.numpy import save_file

    header, arrays = wire.to_arrays(result)
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    save_file(arrays, str(path), metadata={"sgcond": json.dumps(header)})


# safetensors' dtype names, as the numpy dtypes this app writes
_SAFETENSORS_DTYPES = {"BOOL": "|b1", "U8": "|u1", "I8": "|i1", "I16": "<i2", "U16": "<u2", "I32": "<i4",
                       "U32": "<u4", "I64": "<i8", "F16": "<f2", "F32": "<f4", "F64": "<f8"}


def _checked_header(path: Path) -> dict:
    """The JSON header of a safetensors file, read and checked against the file before any tensor
    is: its length within the file, each tensor's dtype one this app writes, its bytes those its
    shape declares, inside the file, within wire's limits."""
    size = path.stat().st_size
    if size > wire.MAX_BYTES + wire.MAX_UNPACKED_BYTES:
        raise BadInput(f"{path.name} is {size / 2**20:.0f} MiB; this app never writes one that large")
    with path.open("rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise BadInput(f"{path.name} is empty or cut short: not a file this app wrote")
        n = int.from_bytes(head, "little")
        if n > min(size - 8, wire.MAX_HEADER_BYTES):
            raise BadInput(f"{path.name} declares a header of {n} bytes in a file of {size}: not a file this app wrote")
        header = load_json(f.read(n).decode("utf-8", "strict"), f"{path.name}'s header")
    if not isinstance(header, dict):
        raise BadInput(f"{path.name}'s header is not a table of tensors")
    total = 0
    for name, t in header.items():
        if name == "__metadata__":
            continue
        dtype = _SAFETENSORS_DTYPES.get(t.get("dtype")) if isinstance(t, dict) else None
        shape, offsets = (t.get("shape"), t.get("data_offsets")) if isinstance(t, dict) else (None, None)
        if (dtype is None or not isinstance(shape, list) or len(shape) > 6
                or not all(isinstance(k, int) and 0 <= k <= wire.MAX_SIDE for k in shape)
                or not isinstance(offsets, list) or len(offsets) != 2
                or not all(isinstance(k, int) and 0 <= k <= size - 8 - n for k in offsets)):
            raise BadInput(f"{path.name}: tensor {name!r}"[:120] + " is not one this app writes")
        nbytes = int(np.prod(shape, dtype=np.float64)) * np.dtype(dtype).itemsize
        total += nbytes
        if offsets[1] - offsets[0] != nbytes or nbytes > wire.MAX_ARRAY_BYTES or total > wire.MAX_UNPACKED_BYTES:
            raise BadInput(f"{path.name}: tensor {name!r}"[:120] + " declares more than it holds or than this "
                           "app writes")
    return header


def load_state(path: str | Path) -> Result:
    from safetensors import safe_open

    given = Path(path)
    try:
        path = given / STATE_FILE if given.is_dir() else given
        found = path.is_file()  # a link to a regular file is read as that file; to anything else, refused
    except OSError as e:  # a name too long, a folder that cannot be listed
        raise BadInput(f"{str(given)[:200]}: cannot read it ({e.strerror or type(e).__name__})") from None
    if not found:
        where = given if given.is_dir() or given.suffix != ".safetensors" else given.parent
        raise BadInput(f"no {STATE_FILE} in {str(where)[:200]}: give a folder `generate`, `read` or `edit` wrote")
    try:
        _checked_header(path)
        with safe_open(str(path), framework="numpy") as f:
            header = load_json((f.metadata() or {})["sgcond"], f"{path.name}'s metadata")
            arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except BadInput:
        raise
    except OSError as e:
        raise BadInput(f"{path.name}: cannot read it ({e.strerror or type(e).__name__})") from None
    except Exception as e:  # safetensors' own error, a missing key, bytes that are not UTF-8: the file's fault
        raise BadInput(f"{path.name} is not a file this app wrote ({type(e).__name__})") from None
    return wire.from_arrays(header, arrays)


def write_folder(folder: str | Path, result: Result, picture: np.ndarray, extra: dict | None = None,
                 reconstruction: np.ndarray | None = None) -> Path:
    """picture.png (the picture as read, before any edit), image.png (the result's picture),
    segmentation.png, depth.png, sketch.png, graph.json, report.json, inversion.safetensors and,
    when given, reconstruction.png."""
    from PIL import Image

    from .world import io

    folder = Path(folder)
    io.save_maps(folder, result.image, result.segmentation, result.depth, result.sketch, vocabulary=result.vocab)
    Image.fromarray(picture).save(folder / "picture.png")
    if reconstruction is not None:
        Image.fromarray(reconstruction).save(folder / "reconstruction.png")
    io.write_json(folder / "graph.json", result.graph.to_sg2im())
    io.write_json(folder / "report.json", {**report(result), **(extra or {})})
    save_state(folder / STATE_FILE, result)
    return folder
