"""A contact sheet: one row per graph with its text, the four generated maps and the image."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ..graph import vocab
from ..ui.sample_page import depth_to_rgb
from .chain import Result

CELL = 128
TEXT_WIDTH = 300


def _cell(rgb: np.ndarray) -> Image.Image:
    return Image.fromarray(np.asarray(rgb, dtype=np.uint8)).resize((CELL, CELL), Image.NEAREST)


def contact_sheet(rows: list[tuple[str, Result]]) -> Image.Image:
    heads = ["graph (chosen of N by SBPC)", "segmentation", "depth (32 px)", "sketch", "image"]
    width = TEXT_WIDTH + 4 * (CELL + 4)
    sheet = Image.new("RGB", (width, 20 + len(rows) * (CELL + 6)), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    for k, h in enumerate(heads):
        draw.text((4 if k == 0 else TEXT_WIDTH + (k - 1) * (CELL + 4), 4), h, fill="black", font=font)
    for r, (text, res) in enumerate(rows):
        y = 20 + r * (CELL + 6)
        lines = text.split("\n")[:9]
        score = f"recall {res.verdict.object_recall:.2f}, relations {res.verdict.relation_accuracy or 0:.2f}"
        for i, line in enumerate(lines + [score]):
            draw.text((4, y + 2 + 12 * i), line[:48], fill="black" if i < len(lines) else (0, 90, 0), font=font)
        maps = [vocab.colorize(res.segmentation), depth_to_rgb(res.depth),
                np.repeat(res.sketch[..., None], 3, axis=2), res.image]
        for k, m in enumerate(maps):
            sheet.paste(_cell(m), (TEXT_WIDTH + k * (CELL + 4), y))
    return sheet
