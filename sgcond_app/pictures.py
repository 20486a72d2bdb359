"""Pictures of maps for people: depth through a colour map, the sketch in grey, the segmentation's
colours over the image, and the contact sheet. Shared by the page, the CLI and the benches; numpy
and Pillow only (no torch, no Gradio)."""

from __future__ import annotations

import numpy as np

from .graph import vocabularies

# Magma-like anchors from far (0) to near (1): near things come out bright and warm.
_DEPTH_ANCHORS = np.array(
    [(0, 0, 4), (59, 15, 112), (140, 41, 129), (222, 73, 104), (254, 159, 109), (252, 253, 191)],
    dtype=np.float64,
)
_DEPTH_LUT = np.stack(
    [np.interp(np.linspace(0, 1, 256), np.linspace(0, 1, len(_DEPTH_ANCHORS)), _DEPTH_ANCHORS[:, c])
     for c in range(3)],
    axis=1,
).round().astype(np.uint8)

SHEET_CELL = 128
SHEET_TEXT_WIDTH = 300


def depth_to_rgb(depth: np.ndarray) -> np.ndarray:
    """(H, W) float depth in [0, 1], near = 1 -> (H, W, 3) uint8 through a colour map."""
    idx = np.clip(np.nan_to_num(depth, nan=0.0) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return _DEPTH_LUT[idx]


def gray_to_rgb(image: np.ndarray) -> np.ndarray:
    return np.repeat(image[..., None], 3, axis=2) if image.ndim == 2 else image


def map_rgb(name: str, arr: np.ndarray, vocabulary=None) -> np.ndarray:
    """A factor's map as a picture: class colours (`vocabulary`'s, default the tiny world's), a colour
    map for depth, the sketch in grey; the image as it is."""
    colorize = vocabularies.or_tiny(vocabulary).colorize
    return {"segmentation": colorize, "depth": depth_to_rgb, "sketch": gray_to_rgb}.get(name, np.asarray)(arr)


def blocks(picture: np.ndarray, k: int) -> np.ndarray:
    """Each pixel a k x k block (nearest-neighbour enlargement)."""
    return np.repeat(np.repeat(picture, k, axis=0), k, axis=1) if k > 1 else picture


def overlay(image: np.ndarray, seg: np.ndarray, outline: np.ndarray | None = None, vocabulary=None) -> np.ndarray:
    """The image with the segmentation's colours over it, at the image's size (a 128 px picture over
    a 64 px map: each map pixel a 2x2 block); `outline`, a mask at the map's size, drawn in white."""
    from scipy import ndimage

    k = max(1, image.shape[0] // seg.shape[0])
    colours = vocabularies.or_tiny(vocabulary).colorize(seg)
    out = (0.55 * image.astype(np.float32) + 0.45 * blocks(colours, k).astype(np.float32))
    out = out.round().astype(np.uint8)
    if outline is not None and outline.any():
        mask = blocks(outline, k)
        out[mask & ~ndimage.binary_erosion(mask)] = (255, 255, 255)
    return out


def contact_sheet(rows) -> object:
    """A PIL image: one row per (graph text, result) with the scores, the segmentation, depth,
    sketch and image. `result` is any value with those maps and a `verdict`."""
    from PIL import Image, ImageDraw, ImageFont

    def cell(rgb: np.ndarray) -> Image.Image:
        return Image.fromarray(np.asarray(rgb, dtype=np.uint8)).resize((SHEET_CELL, SHEET_CELL), Image.NEAREST)

    heads = ["graph (chosen of N by SBPC)", "segmentation", "depth (32 px)", "sketch", "image"]
    width = SHEET_TEXT_WIDTH + 4 * (SHEET_CELL + 4)
    sheet = Image.new("RGB", (width, 20 + len(rows) * (SHEET_CELL + 6)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for k, h in enumerate(heads):
        draw.text((4 if k == 0 else SHEET_TEXT_WIDTH + (k - 1) * (SHEET_CELL + 4), 4), h, fill="black", font=font)
    for r, (text, res) in enumerate(rows):
        y = 20 + r * (SHEET_CELL + 6)
        lines = text.split("\n")[:9]
        score = f"recall {res.verdict.object_recall:.2f}, relations {res.verdict.relation_accuracy or 0:.2f}"
        for i, line in enumerate(lines + [score]):
            draw.text((4, y + 2 + 12 * i), line[:48], fill="black" if i < len(lines) else (0, 90, 0), font=font)
        maps = [map_rgb(name, getattr(res, name)) for name in ("segmentation", "depth", "sketch", "image")]
        for k, m in enumerate(maps):
            sheet.paste(cell(m), (SHEET_TEXT_WIDTH + k * (SHEET_CELL + 4), y))
    return sheet
