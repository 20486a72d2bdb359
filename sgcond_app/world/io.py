"""Reading and writing the maps as PNG files (the on-disk contract of `synth`, `check`, `generate`),
and `open_picture`, the one way to decode a picture a person supplied."""

from __future__ import annotations

import io
import json
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import BadInput
from ..graph import vocab
from ..inputs import read_file
from . import classes

MAX_IMAGE_SIDE = 4096
MAX_IMAGE_PIXELS = MAX_IMAGE_SIDE * MAX_IMAGE_SIDE
# The largest uncompressed picture within the pixel limit (4 bytes a pixel), and room for metadata.
MAX_IMAGE_BYTES = 4 * MAX_IMAGE_PIXELS + 2**20
PICTURE_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")  # what a person uploads
MAP_FORMATS = (*PICTURE_FORMATS, "TIFF")  # and maps: a 16-bit or float depth map may be a TIFF

# What Pillow raises on bytes that are not a picture, are cut short, or whose header lies: each
# decoder fails in its own way (SyntaxError from a plugin's header check, struct.error and
# EOFError on a short read, OSError "truncated"/"broken data stream", zlib.error, ValueError, ...).
_UNREADABLE = (UnidentifiedImageError, SyntaxError, struct.error, EOFError, ValueError, OSError,
               zlib.error, IndexError, KeyError, TypeError, ZeroDivisionError)


def save_maps(folder: str | Path, image: np.ndarray, segmentation: np.ndarray, depth: np.ndarray,
              sketch: np.ndarray, instances: np.ndarray | None = None, vocabulary=None) -> None:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(folder / "image.png")
    save_segmentation(folder / "segmentation.png", segmentation, vocabulary)
    Image.fromarray((np.clip(depth, 0, 1) * 255).round().astype(np.uint8)).save(folder / "depth.png")
    Image.fromarray(sketch).save(folder / "sketch.png")
    if instances is not None:
        Image.fromarray(instances.astype(np.uint8)).save(folder / "instances.png")


def save_segmentation(path: str | Path, segmentation: np.ndarray, vocabulary=None) -> None:
    """The class map in its vocabulary's palette (`graph/vocabularies`; default the tiny world's)."""
    colours = classes.colorize(segmentation) if vocabulary is None else vocabulary.colorize(segmentation)
    Image.fromarray(colours).save(path)


def write_json(path: str | Path, data: object) -> None:
    Path(path).write_text(json.dumps(data, indent=1) + "\n")


def open_picture(source: str | Path | bytes, *, max_side: int = MAX_IMAGE_SIDE,
                 max_pixels: int = MAX_IMAGE_PIXELS, max_bytes: int = MAX_IMAGE_BYTES,
                 formats: tuple[str, ...] = PICTURE_FORMATS, name: str | None = None) -> Image.Image:
    """Decode a picture a person supplied (a file, or the bytes of an upload): the decoded first
    frame, or `BadInput` naming the picture (`name`, else the path) and what is wrong.

    Checks run cheapest first, so that a refusal costs no more than the little it reads:
    1. the file exists and holds 1 to `max_bytes` bytes;
    2. Pillow reads the header only: the format must be one of `formats` (Pillow names: "PNG",
       "JPEG", "WEBP", "BMP", "GIF", "TIFF", ...), and the declared width and height at most
       `max_side` each and `max_pixels` together. A 100-byte PNG can declare 20000x20000 pixels,
       and a real 9000x9000 PNG of one colour is a few kB; both are refused here, before decoding;
    3. the pixels are decoded; a truncated or corrupt file is refused then.
    The whole file is read into memory first (it is at most `max_bytes`), so no file stays open.
    EXIF orientation is not applied: a caller that shows photos may want `ImageOps.exif_transpose`.
    """
    where = name or (str(source) if isinstance(source, (str, Path)) else "the picture")
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    else:
        data = read_file(source, max_bytes, "a picture is", where)
    if len(data) > max_bytes:
        raise BadInput(f"{where}: {len(data)} bytes; a picture is at most {max_bytes} bytes")
    if not data:
        raise BadInput(f"{where}: the file is empty")
    kinds = "/".join(formats)
    # Pillow warns of what it can read past (corrupt EXIF, huge sizes: the limits here are far
    # lower); a warning would only be a second, unclear line on the command line's stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            img = Image.open(io.BytesIO(data), formats=formats)
        except Image.DecompressionBombError:
            raise BadInput(f"{where}: its header declares hundreds of millions of pixels; "
                           f"at most {max_side}x{max_side}") from None
        except _UNREADABLE:
            raise BadInput(f"{where}: not a picture ({kinds}), or a damaged one") from None
        w, h = img.size
        if not (1 <= w <= max_side and 1 <= h <= max_side) or w * h > max_pixels:
            raise BadInput(f"{where}: {w}x{h} pixels; at most {max_side} a side and {max_pixels} in all")
        try:
            img.load()
        except _UNREADABLE as e:
            raise BadInput(f"{where}: the {img.format} picture is damaged or cut short "
                           f"({e.__class__.__name__})") from None
    return img


# A map given to `check` (a segmentation, depth or instance map): the app writes them at 64 to
# 512 px; one from elsewhere may be larger, not without end (each pixel is judged).
MAX_MAP_SIDE = 2048


def _open(path: str | Path) -> Image.Image:
    return open_picture(path, formats=MAP_FORMATS, max_side=MAX_MAP_SIDE, max_pixels=MAX_MAP_SIDE ** 2)


def read_segmentation(path: str | Path) -> np.ndarray:
    """A palette PNG -> (H, W) class ids. Exact colours first; if many pixels are off-palette
    (a resized or JPEG-compressed map) they take the nearest class colour within 24 levels."""
    rgb = np.asarray(_open(path).convert("RGB"))
    seg = classes.decolorize(rgb)
    if (seg == vocab.VOID).mean() > 0.01:
        seg = classes.decolorize(rgb, tolerance=24)
    if (seg == vocab.VOID).mean() > 0.5:
        raise BadInput(f"{path}: most pixels are not class colours of the palette "
                       "(see `python -m sgcond_app palette`)")
    return seg


def read_depth(path: str | Path, shape: tuple[int, int] | None = None) -> np.ndarray:
    """A greyscale picture (near = bright) -> (H, W) float32 in [0, 1]: 8-bit levels / 255; 16-bit
    levels (mode I;16 or I) / 65535, or / 255 where all fit in 8 bits; floats (mode F, a TIFF) as
    they are. Values outside the format's range (0..65535; 0..1 for floats), NaN and infinities are
    refused: they are no depth."""
    img = _open(path)
    if img.mode == "F":
        depth = np.asarray(img, dtype=np.float32)
        if not np.isfinite(depth).all():
            raise BadInput(f"{path}: the depth map holds NaN or infinite values")
        if depth.min() < 0 or depth.max() > 1:
            raise BadInput(f"{path}: a float depth map holds values in 0..1, this one "
                           f"{depth.min():g}..{depth.max():g}")
    elif img.mode.startswith("I"):
        arr = np.asarray(img).astype(np.int64)
        if arr.min() < 0 or arr.max() > 65535:
            raise BadInput(f"{path}: a 16-bit depth map holds values in 0..65535, this one "
                           f"{arr.min()}..{arr.max()}")
        depth = (arr / (65535.0 if arr.max() > 255 else 255.0)).astype(np.float32)
    else:
        depth = np.asarray(img.convert("L")).astype(np.float32) / 255.0
    if shape is not None and depth.shape != shape:
        raise BadInput(f"{path}: the depth map is {depth.shape[1]}x{depth.shape[0]}, the segmentation "
                       f"{shape[1]}x{shape[0]}; they must be the same size")
    return depth


def read_instances(path: str | Path) -> np.ndarray:
    return np.asarray(_open(path).convert("L")).astype(np.int32)
