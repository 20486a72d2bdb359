"""The files of a result, written one way for `generate` and for the page's download: the maps
(the segmentation as edited, when it was), the candidates' segmentations, graph.json (the graph as
the person wrote it) and report.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .base import Result, report


def write_result(folder: str | Path, result: Result, mapped=None, segmentation: np.ndarray | None = None) -> Path:
    from ..world import io

    folder = Path(folder)
    seg = result.segmentation if segmentation is None else segmentation
    io.save_maps(folder, result.image, seg, result.depth, result.sketch, vocabulary=result.vocab)
    cands = folder / "candidates"
    cands.mkdir(exist_ok=True)
    for j, c in enumerate(result.candidates):
        io.save_segmentation(cands / f"{j:02d}_segmentation.png", c.segmentation, result.vocab)
    graph = mapped.source if mapped is not None else result.graph
    io.write_json(folder / "graph.json", graph.to_sg2im())
    io.write_json(folder / "report.json", report(result, mapped))
    return folder
