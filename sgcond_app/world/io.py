"""Reading and writing the maps as PNG files (the on-disk contract of `synth`, `check`, `generate`)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import BadInput
from ..graph import vocab

MAX_IMAGE_SIDE = 4096


def save_maps(folder: str | Path, image: np.ndarray, segmentation: np.ndarray, depth: np.ndarray,
              sketch: np.ndarray, instances: np.ndarray | None = None) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(folder / "image.png")
    save_segmentation(folder / "segmentation.png", segmentation)
    Image.fromarray((np.clip(depth, 0, 1) * 255).round().astype(np.uint8)).save(folder / "depth.png")
    Image.fromarray(sketch).save(folder / "sketch.png")
    if instances is not None:
        Image.fromarray(instances.astype(np.uint8)).save(folder / "instances.png")


def save_segmentation(path: str | Path, segmentation: np.ndarray) -> None:
    Image.fromarray(vocab.colorize(segmentation)).save(path)


def write_json(path: str | Path, data: object) -> None:
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def _open(path: str | Path) -> Image.Image:
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"{path}: no such file")
    try:
        img = Image.open(path)
        img.load()
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise BadInput(f"{path}: not a readable image ({e.__class__.__name__})") from None
    if max(img.size) > MAX_IMAGE_SIDE:
        raise BadInput(f"{path}: {img.size[0]}x{img.size[1]} pixels; at most {MAX_IMAGE_SIDE} a side")
    return img


def read_segmentation(path: str | Path) -> np.ndarray:
    """A palette PNG -> (H, W) class ids. Exact colours first; if many pixels are off-palette
    (a resized or JPEG-compressed map) they take the nearest class colour within 24 levels."""
    rgb = np.asarray(_open(path).convert("RGB"))
    seg = vocab.decolorize(rgb)
    if (seg == vocab.VOID).mean() > 0.01:
        seg = vocab.decolorize(rgb, tolerance=24)
    if (seg == vocab.VOID).mean() > 0.5:
        raise BadInput(f"{path}: most pixels are not class colours of the palette "
                       "(see `python -m sgcond_app palette`)")
    return seg


def read_depth(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """An 8- or 16-bit greyscale PNG (near = bright) -> (H, W) float32 in [0, 1]."""
    img = _open(path)
    if img.mode in ("I;16", "I;16B", "I"):
        arr = np.asarray(img).astype(np.float32)
        depth = arr / (65535.0 if arr.max() > 255 else 255.0)
    else:
        depth = np.asarray(img.convert("L")).astype(np.float32) / 255.0
    if shape is not None and depth.shape != shape:
        raise BadInput(f"{path}: the depth map is {depth.shape[1]}x{depth.shape[0]}, the segmentation "
                       f"{shape[1]}x{shape[0]}; they must be the same size")
    return depth


def read_instances(path: str | Path) -> np.ndarray:
    return np.asarray(_open(path).convert("L")).astype(np.int32)
