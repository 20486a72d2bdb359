"""Training the segmenter (`python -m sgcond_app train segmenter`): cross-entropy plus a soft Dice
term (so small classes such as birds and kites count), on renders that are sometimes degraded
(noise, blur, brightness) because the segmenter must also read generated images."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..models.graph_encoder import image_tensor
from ..models.segmenter import Segmenter
from .data import RenderStream

DICE_WEIGHT = 0.5


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
        ce = F.cross_entropy(logits, labels)
        prob = logits.softmax(1)
        onehot = F.one_hot(labels, logits.size(1)).permute(0, 3, 1, 2).float()
        inter = (prob * onehot).sum((0, 2, 3))
        denom = prob.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
        present = onehot.sum((0, 2, 3)) > 0
        dice = 1 - ((2 * inter + 1) / (denom + 1))[present].mean()
        loss = ce + DICE_WEIGHT * dice
        with torch.no_grad():
            acc = (logits.argmax(1) == labels).float().mean()
        return loss, {"loss": loss.detach(), "ce": ce.detach(), "dice": dice.detach(), "pix_acc": acc}


def to_inputs(batch: dict, device: torch.device) -> dict:
    return {"images": image_tensor(batch["image"]).to(device, non_blocking=True),
            "labels": batch["segmentation"].to(device, non_blocking=True)}


def make_dataset_factory(size: int, reuse: int):
    def make(start: int, rank: int, world: int) -> RenderStream:
        return RenderStream(size=size, start=start, graphs=False, reuse=reuse, rank=rank, world=world)
    return make
