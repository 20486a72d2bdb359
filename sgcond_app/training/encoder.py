"""Pretraining the graph encoder (`python -m sgcond_app train encoder`).

Losses, as SGDiff and Structure-CLIP do it:
- contrastive (InfoNCE both ways) between graph and image embeddings; for the image-to-graph
  direction every batch also holds hard negatives: its graphs with one relation reversed or two
  objects' attributes swapped;
- masked reconstruction: the image tokens inside one object's box are hidden and their pixels
  reconstructed from the visible tokens and the graph's object embeddings;
- layout: L1 between the predicted boxes and disparities and the rendered objects'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models.graph_encoder import GraphBatch, SceneGraphEncoder, image_tensor, pad_objects, tensorize
from ..models.words import WordTable
from ..world import classes
from .data import Item, RenderStream, SourceStream, collate

RECON_WEIGHT = 1.0
LAYOUT_WEIGHT = 4.0


def hidden_cells(items: list[Item], grid: int, rng: np.random.Generator, is_stuff=classes.is_stuff) -> torch.Tensor:
    """(B, grid*grid) bool: the cells covered by one object per image (a thing where there is one);
    `is_stuff` of a label (default the tiny world's classes)."""
    out = torch.zeros(len(items), grid, grid, dtype=torch.bool)
    for k, it in enumerate(items):
        things = [i for i, label in enumerate(it.labels) if not is_stuff(label)] or list(range(len(it.labels)))
        x0, y0, x1, y1 = it.boxes[int(rng.choice(things))]
        c0, r0 = int(x0 * grid), int(y0 * grid)
        c1, r1 = max(int(np.ceil(x1 * grid)), c0 + 1), max(int(np.ceil(y1 * grid)), r0 + 1)
        out[k, r0:r1, c0:c1] = True
    return out.flatten(1)


class EncoderCollate:
    """Runs in the DataLoader workers: renders -> tensors, graphs embedded with the word table."""

    def __init__(self, words_path: str | Path, grid: int, seed: int | None = None, vocabulary=None) -> None:
        """`seed`: of the cells hidden from the layout loss (None: fresh each run; tests fix it);
        `vocabulary`: the classes of the items' labels (default the tiny world's)."""
        self.words_path, self.grid = str(words_path), grid
        self.is_stuff = vocabulary.is_stuff if vocabulary is not None else classes.is_stuff
        self._words: WordTable | None = None
        self._rng = np.random.default_rng(seed)

    def __call__(self, items: list[Item]) -> dict:
        if self._words is None:
            self._words = WordTable.load(self.words_path)
        batch = collate(items)
        twins = batch.pop("twins")
        batch["graphs"] = tensorize(batch["graphs"], self._words)
        batch["twins"] = tensorize([t for _, t in twins], self._words) if twins else None
        batch["hidden"] = hidden_cells(items, self.grid, self._rng, self.is_stuff)
        return batch


def patchify(images: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, 3, H, W) -> (B, cells, patch*patch*3), each patch normalised to zero mean, unit variance."""
    b, c, h, w = images.shape
    x = images.reshape(b, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 3, 5, 1)
    x = x.reshape(b, (h // patch) * (w // patch), patch * patch * c)
    return (x - x.mean(-1, keepdim=True)) / (x.std(-1, keepdim=True) + 1e-2)


class EncoderObjective(nn.Module):
    def __init__(self, model: SceneGraphEncoder) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, graphs: GraphBatch, twins: GraphBatch | None,
                boxes: torch.Tensor, disparity: torch.Tensor, hidden: torch.Tensor):
        m = self.model
        out = m.graph(graphs)
        tokens, img = m.image(images)
        g = F.normalize(out.global_.float(), dim=-1)
        i = F.normalize(img.float(), dim=-1)
        scale = m.logit_scale.clamp(max=4.6).exp()
        target = torch.arange(g.size(0), device=g.device)
        cols = g
        if twins is not None:
            cols = torch.cat([g, F.normalize(m.graph(twins).global_.float(), dim=-1)])
        g2i, i2g = scale * g @ i.T, scale * i @ cols.T
        contrastive = (F.cross_entropy(g2i, target) + F.cross_entropy(i2g, target)) / 2

        objects, pad = pad_objects(out.objects, graphs.obj_graph, graphs.num_graphs)
        pred = m.decoder(tokens, hidden, objects.to(tokens.dtype), pad).float()
        recon = ((pred - patchify(images.float(), m.patch)) ** 2).mean(-1)[hidden].mean()

        layout = F.l1_loss(out.boxes, boxes) + F.l1_loss(out.disparity, disparity)
        loss = contrastive + RECON_WEIGHT * recon + LAYOUT_WEIGHT * layout
        with torch.no_grad():
            logs = {"loss": loss.detach(), "con": contrastive, "rec": recon, "box": layout,
                    "acc": (g2i.argmax(1) == target).float().mean()}
        return loss, logs


def to_inputs(batch: dict, device: torch.device) -> dict:
    return {"images": image_tensor(batch["image"]).to(device, non_blocking=True),
            "graphs": batch["graphs"].to(device),
            "twins": batch["twins"].to(device) if batch["twins"] is not None else None,
            "boxes": batch["boxes"].to(device), "disparity": batch["disparity"].to(device),
            "hidden": batch["hidden"].to(device)}


P_DROP_STUFF = 0.3  # each stuff object of a training graph left out (its pixels stay): `without_stuff`


def make_dataset_factory(size: int, reuse: int, drop_stuff: float = P_DROP_STUFF, data: list[str] | None = None,
                         images: str | None = None):
    """Renders of the tiny world; `data`: dataset sources instead (`SourceStream` with graphs)."""
    def make(start: int, rank: int, world: int):
        if data:
            return SourceStream(data, size, start, rank, world, images, graphs=True, drop_stuff=drop_stuff)
        return RenderStream(size=size, start=start, graphs=True, reuse=reuse, rank=rank, world=world,
                            drop_stuff=drop_stuff)
    return make
