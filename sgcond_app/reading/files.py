"""The folder `read` and `edit` write, and reading it back so that an edit can continue later.

`inversion.safetensors` holds the whole result: its maps, the picture, the inverted noise and what
was inverted (the backend's state), with the rest (graph, options, seeds) as JSON in the file's
metadata. The PNGs and report.json are for people; only the safetensors file is read back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..backends import wire
from ..backends.base import Result, report
from ..errors import BadInput

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


def load_state(path: str | Path) -> Result:
    from safetensors import safe_open

    given = Path(path)
    path = given / STATE_FILE if given.is_dir() else given
    if not path.is_file():
        where = given if given.is_dir() or given.suffix != ".safetensors" else given.parent
        raise BadInput(f"no {STATE_FILE} in {str(where)[:200]}: give a folder `read` or `edit` wrote")
    try:
        with safe_open(str(path), framework="numpy") as f:
            header = json.loads((f.metadata() or {})["sgcond"])
            arrays = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
    except (KeyError, ValueError, OSError, json.JSONDecodeError) as e:
        raise BadInput(f"{path.name} is not a file this app wrote ({type(e).__name__})") from None
    return wire.from_arrays(header, arrays)


def write_folder(folder: str | Path, result: Result, picture: np.ndarray, extra: dict | None = None,
                 reconstruction: np.ndarray | None = None) -> Path:
    """picture.png (the picture as read, before any edit), image.png (the result's picture),
    segmentation.png, depth.png, sketch.png, graph.json, report.json, inversion.safetensors and,
    when given, reconstruction.png."""
    from PIL import Image

    from ..world import io

    folder = Path(folder)
    io.save_maps(folder, result.image, result.segmentation, result.depth, result.sketch)
    Image.fromarray(picture).save(folder / "picture.png")
    if reconstruction is not None:
        Image.fromarray(reconstruction).save(folder / "reconstruction.png")
    io.write_json(folder / "graph.json", result.graph.to_sg2im())
    io.write_json(folder / "report.json", {**report(result), **(extra or {})})
    save_state(folder / STATE_FILE, result)
    return folder
