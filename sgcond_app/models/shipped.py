"""The shipped weights in `weights/` and how to load them (once per process)."""

from __future__ import annotations

import functools
from pathlib import Path

from ..errors import BadInput
from .pretrained import CONFIG_FILE, from_pretrained

WEIGHTS = Path(__file__).resolve().parents[2] / "weights"
ENCODER_DIR = WEIGHTS / "encoder"
SEGMENTER_DIR = WEIGHTS / "segmenter"


def _check(directory: Path, what: str) -> Path:
    if not (directory / CONFIG_FILE).is_file():
        raise BadInput(f"no {what} weights in {directory}: train them with "
                       f"`python -m sgcond_app train {what} --export {directory}`")
    return directory


def load_encoder(directory: str | Path | None = None, device: str = "cpu"):
    """(SceneGraphEncoder, WordTable) from a weights folder (the shipped one by default)."""
    from .graph_encoder import SceneGraphEncoder
    from .words import WordTable

    d = _check(Path(directory) if directory else ENCODER_DIR, "encoder")
    return from_pretrained(d, SceneGraphEncoder, device), WordTable.load(d)


def load_segmenter(directory: str | Path | None = None, device: str = "cpu"):
    from .segmenter import Segmenter

    return from_pretrained(_check(Path(directory) if directory else SEGMENTER_DIR, "segmenter"), Segmenter, device)


@functools.lru_cache(maxsize=2)
def shipped_encoder():
    return load_encoder()


@functools.lru_cache(maxsize=1)
def shipped_segmenter():
    return load_segmenter()
