"""Training the segmenter (`python -m sgcond_app train segmenter`): cross-entropy plus a soft Dice
term (so small classes such as birds and kites count), on renders that are sometimes degraded
(noise, blur, brightness) because the segmenter must also read generated images, and sometimes
given as a small JPEG enlarged to the training size (`--small-jpeg`), as `read` sees a small
picture from outside: the scene drawn at SMALL_SIDE px, saved as a JPEG of a random quality in
JPEG_QUALITY, and fitted back (`reading.load.fit`)."""

from __future__ import annotations

import dataclasses

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import IterableDataset, get_worker_info

from ..models.graph_encoder import image_tensor
from ..models.segmenter import Segmenter
from ..reading.load import small_jpeg
from .data import RenderStream

DICE_WEIGHT = 0.5
IGNORE = 255  # a class map's "no class"
SMALL_SIDE = 64  # px: the side of a small picture (the smallest the benches give, `bench pictures --size 64`)
JPEG_QUALITY = (60, 95)


def degrade(x: torch.Tensor) -> torch.Tensor:
    """Random per-image noise, blur and brightness/contrast changes; x in [-1, 1]."""
    b = x.size(0)
    pick = torch.rand(b, 3, device=x.device)
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    x = torch.where((pick[:, 0] < 0.3).view(b, 1, 1, 1), blurred, x)
    noise = torch.randn_like(x) * torch.rand(b, 1, 1, 1, device=x.device) * 0.15
    x = x + noise * (pick[:, 1] < 0.4).view(b, 1, 1, 1)
    gain = 1 + (torch.rand(b, 1, 1, 1, device=x.device) - 0.5) * 0.3
    shift = (torch.rand(b, 1, 1, 1, device=x.device) - 0.5) * 0.2
    x = torch.where((pick[:, 2] < 0.4).view(b, 1, 1, 1), x * gain + shift, x)
    return x.clamp(-1, 1)


class SegmenterObjective(nn.Module):
    def __init__(self, model: Segmenter) -> None:
        super().__init__()
        self.model = model

    def forward(self, images: torch.Tensor, labels: torch.Tensor):
        logits = self.model(degrade(images)).float()
        valid = labels != IGNORE  # a dataset's "no class" (255) counts in neither loss
        ce = F.cross_entropy(logits, labels, ignore_index=IGNORE) if valid.any() else logits.sum() * 0
        prob = logits.softmax(1) * valid[:, None]
        onehot = F.one_hot(labels.masked_fill(~valid, 0), logits.size(1)).permute(0, 3, 1, 2).float()
        onehot = onehot * valid[:, None]
        inter = (prob * onehot).sum((0, 2, 3))
        denom = prob.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
        present = onehot.sum((0, 2, 3)) > 0
        dice = 1 - ((2 * inter + 1) / (denom + 1))[present].mean() if present.any() else ce.new_zeros(())
        loss = ce + DICE_WEIGHT * dice
        with torch.no_grad():
            acc = (logits.argmax(1) == labels)[valid].float().mean() if valid.any() else ce.new_zeros(())
        return loss, {"loss": loss.detach(), "ce": ce.detach(), "dice": dice.detach(), "pix_acc": acc}


def to_inputs(batch: dict, device: torch.device) -> dict:
    return {"images": image_tensor(batch["image"]).to(device, non_blocking=True),
            "labels": batch["segmentation"].to(device, non_blocking=True)}


class SmallJpegs(IterableDataset):
    """A render stream (drawn at SMALL_SIDE too) whose items' pictures are, with probability `p`, the
    small drawing as a JPEG enlarged to the stream's size; the segmentation stays the full-size one."""

    def __init__(self, stream: RenderStream, p: float, seed: int = 0) -> None:
        super().__init__()
        self.stream, self.p, self.seed = stream, p, seed

    def __iter__(self):
        info = get_worker_info()
        rng = np.random.default_rng([self.seed, self.stream.start, self.stream.rank, info.id if info else 0, 23])
        for item in self.stream:
            if item.picture is not None and rng.random() < self.p:
                quality = rng.integers(JPEG_QUALITY[0], JPEG_QUALITY[1] + 1)
                item = dataclasses.replace(item, image=small_jpeg(item.picture, self.stream.size, quality))
            yield item


def make_dataset_factory(size: int, reuse: int, small: float = 0.0, data: list[str] | None = None,
                         images: str | None = None):
    """The training stream: tiny-world renders, or with `data` the records of those sources."""
    def make(start: int, rank: int, world: int) -> IterableDataset:
        if data:
            from .data import SourceStream

            return SourceStream(data, size, start, rank, world, images)
        if not small:
            return RenderStream(size=size, start=start, graphs=False, reuse=reuse, rank=rank, world=world)
        stream = RenderStream(size=size, start=start, graphs=False, reuse=reuse, rank=rank, world=world,
                              picture_size=SMALL_SIDE)
        return SmallJpegs(stream, small)
    return make
