"""A picture file, safely, as the chain sees it: decoded (PNG, JPEG, WebP, BMP, GIF's first frame),
turned upright by its EXIF orientation, flattened to RGB (transparency over white; greyscale and
palette pictures expanded), centre-cropped to a square and resized to the chain's picture size.

What a person can get wrong is refused with one line (`BadInput`) before anything else happens:
not a picture, a truncated file, a file over MAX_BYTES, a picture over MAX_PIXELS (read from the
header, before decoding, so a decompression bomb is never expanded)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from ..errors import BadInput

MAX_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF")
MIN_SIDE = 8


def _bytes(source: str | Path | bytes) -> tuple[bytes, str]:
    if isinstance(source, bytes | bytearray):
        data, name = bytes(source), "the picture"
        if len(data) > MAX_BYTES:
            raise BadInput(f"the picture is {len(data) / 2**20:.1f} MB; at most {MAX_BYTES // 2**20} MB")
        return data, name
    path = Path(source)
    if not path.is_file():
        raise BadInput(f"no picture at {str(path)[:200]}")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise BadInput(f"{path.name[:80]} is {size / 2**20:.1f} MB; a picture may be at most "
                       f"{MAX_BYTES // 2**20} MB")
    return path.read_bytes(), path.name[:80]


def decode(source: str | Path | bytes) -> np.ndarray:
    """The picture at its own size, upright, as uint8 (H, W, 3)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    data, name = _bytes(source)
    if not data:
        raise BadInput(f"{name} is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=FORMATS)
        except UnidentifiedImageError:
            raise BadInput(f"{name} is not a picture this reads (PNG, JPEG, WebP, BMP or GIF)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise BadInput(f"{name} is too large: at most {MAX_PIXELS // 1_000_000} megapixels") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise BadInput(f"{name} could not be read: {str(exc)[:120]}") from None
        w, h = im.size
        if w * h > MAX_PIXELS:
            raise BadInput(f"{name} is {w}x{h} ({w * h / 1e6:.0f} megapixels); at most "
                           f"{MAX_PIXELS // 1_000_000} megapixels")
        if min(w, h) < MIN_SIDE:
            raise BadInput(f"{name} is {w}x{h}; a picture must be at least {MIN_SIDE} pixels on each side")
        try:
            im.seek(0)  # a GIF's (or an animated WebP's) first frame
            im.load()
            im = ImageOps.exif_transpose(im)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise BadInput(f"{name} is too large: at most {MAX_PIXELS // 1_000_000} megapixels") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise BadInput(f"{name} is damaged or truncated and could not be read ({str(exc)[:80]})") from None
    return _rgb(im)


def _rgb(im) -> np.ndarray:
    from PIL import Image

    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "RGB" and "transparency" in im.info):
        im = im.convert("RGBA")
        white = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(white, im)
    if im.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale: to 8 bits, not clipped
        arr = np.asarray(im, dtype=np.float64)
        top = 65535.0 if arr.max() > 255 else 255.0
        return np.repeat((arr / top * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    if im.mode == "F":
        arr = np.clip(np.asarray(im, dtype=np.float64), 0, 255)
        return np.repeat(arr.round().astype(np.uint8)[..., None], 3, axis=2)
    return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()


def fit(picture: np.ndarray, size: int) -> np.ndarray:
    """Centre crop to a square, then resize to size x size (Lanczos; area-like when shrinking)."""
    from PIL import Image

    h, w = picture.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    square = picture[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(square)
    im = Image.fromarray(square)
    return np.array(im.resize((size, size), Image.Resampling.LANCZOS, reducing_gap=3.0 if side > 3 * size else None))


def small_jpeg(picture: np.ndarray, size: int, quality: int) -> np.ndarray:
    """A picture (s, s, 3) uint8 saved as a JPEG of `quality` and fitted to size x size as `read` fits it."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(picture).save(buf, format="JPEG", quality=int(quality))
    return fit(decode(buf.getvalue()), size)


def load_picture(source: str | Path | bytes, size: int) -> np.ndarray:
    """A picture file as the chain sees it: uint8 (size, size, 3)."""
    return fit(decode(source), size)


def from_array(picture: np.ndarray, size: int) -> np.ndarray:
    """A picture already in memory (an upload the page decoded): checked, RGB, fitted."""
    arr = np.asarray(picture)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise BadInput(f"a picture must be (height, width, 3); this one is {tuple(arr.shape)}"[:120])
    if arr.shape[0] * arr.shape[1] > MAX_PIXELS:
        raise BadInput(f"the picture has {arr.shape[0] * arr.shape[1] / 1e6:.0f} megapixels; at most "
                       f"{MAX_PIXELS // 1_000_000}")
    if min(arr.shape[:2]) < MIN_SIDE:
        raise BadInput(f"the picture is {arr.shape[1]}x{arr.shape[0]}; at least {MIN_SIDE} pixels on each side")
    if arr.dtype != np.uint8:
        arr = np.clip(arr.astype(np.float64), 0, 255).round().astype(np.uint8)
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    if arr.shape[2] == 4:
        alpha = arr[..., 3:4].astype(np.float64) / 255
        arr = (arr[..., :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return fit(arr, size)
