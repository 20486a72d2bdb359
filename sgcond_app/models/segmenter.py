"""The segmenter: image -> class map at the image's resolution (FG-DM's condition extractor).

A small UNet (residual blocks, GroupNorm, three downsamplings). It judges generated images and
extracts a segmentation from an uploaded one. Any size works: the input is padded to a multiple of
8 and the logits cropped back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..world import classes
from .pretrained import register


class ResBlock(nn.Module):
    def __init__(self, inp: int, out: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.GroupNorm(8, inp), nn.SiLU(), nn.Conv2d(inp, out, 3, padding=1),
                                  nn.GroupNorm(8, out), nn.SiLU(), nn.Conv2d(out, out, 3, padding=1))
        self.skip = nn.Conv2d(inp, out, 1) if inp != out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


@register
class Segmenter(nn.Module):
    @dataclass
    class Config:
        channels: tuple[int, ...] = (32, 64, 96, 128)
        num_classes: int = classes.NUM_CLASSES

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        ch = list(config.channels)
        self.stem = nn.Conv2d(3, ch[0], 3, padding=1)
        self.down = nn.ModuleList()
        self.pool = nn.ModuleList()
        for a, b in zip(ch[:-1], ch[1:]):
            self.down.append(ResBlock(a, a))
            self.pool.append(nn.Conv2d(a, b, 4, stride=2, padding=1))
        self.mid = nn.Sequential(ResBlock(ch[-1], ch[-1]), ResBlock(ch[-1], ch[-1]))
        self.up = nn.ModuleList()
        self.merge = nn.ModuleList()
        for a, b in zip(reversed(ch[1:]), reversed(ch[:-1])):
            self.up.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
            self.merge.append(ResBlock(2 * b, b))
        self.head = nn.Sequential(nn.GroupNorm(8, ch[0]), nn.SiLU(), nn.Conv2d(ch[0], config.num_classes, 1))

    @property
    def multiple(self) -> int:
        return 2 ** (len(self.config.channels) - 1)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image (B, 3, H, W) in [-1, 1] -> logits (B, C, H, W)."""
        h, w = image.shape[-2:]
        m = self.multiple
        ph, pw = (-h) % m, (-w) % m
        x = F.pad(image, (0, pw, 0, ph), mode="replicate") if ph or pw else image
        x = self.stem(x)
        skips = []
        for block, pool in zip(self.down, self.pool):
            x = block(x)
            skips.append(x)
            x = pool(x)
        x = self.mid(x)
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        return self.head(x)[..., :h, :w]

    @torch.no_grad()
    def features(self, image: torch.Tensor) -> torch.Tensor:
        """image (B, 3, H, W) in [-1, 1] -> (B, sum of channels): each encoder level's activations
        and the bottleneck's, averaged over the picture (what the Fréchet distance compares)."""
        x = self.stem(image)
        pooled = []
        for block, pool in zip(self.down, self.pool):
            x = block(x)
            pooled.append(x.mean((2, 3)))
            x = pool(x)
        pooled.append(self.mid(x).mean((2, 3)))
        return torch.cat(pooled, dim=1)

    @torch.no_grad()
    def segment(self, images: np.ndarray, batch: int = 64, size: int | None = None,
                confidence: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """uint8 (H, W, 3) or (B, H, W, 3) -> uint8 class ids (H, W) or (B, H, W), read at the
        pictures' own resolution. `size`: the class map at size x size instead, the class
        probabilities averaged over each block (the chain's 128 px picture against its 64 px maps);
        a smaller picture is enlarged (bilinear) to that size first. `confidence`: also each
        pixel's probability of the class read there (float32, same shape)."""
        from .graph_encoder import image_tensor

        single = images.ndim == 3
        x = image_tensor(images)
        if size is not None and x.shape[-1] < size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
        device = next(self.parameters()).device

        def read(chunk: torch.Tensor):
            logits = self(chunk.to(device)).float()
            if size is not None and logits.shape[-1] != size:
                return F.adaptive_avg_pool2d(logits.softmax(1), size).max(1)
            # The class is the logits' argmax; the probabilities only where they are asked for.
            return (logits.softmax(1) if confidence else logits).max(1)

        reads = [read(x[i:i + batch]) for i in range(0, len(x), batch)]
        labels = torch.cat([r.indices.to(torch.uint8).cpu() for r in reads]).numpy()
        sure = torch.cat([r.values.cpu() for r in reads]).numpy().astype(np.float32)
        if single:
            labels, sure = labels[0], sure[0]
        return (labels, sure) if confidence else labels


def picture_features(segmenter, images: np.ndarray, size: int, batch: int = 64) -> np.ndarray:
    """(B, H, W, 3) uint8 pictures -> (B, D) features of the segmenter (`Segmenter.features`), each
    picture enlarged (bilinear) to size x size first, as a person's screen would show it."""
    from .graph_encoder import image_tensor

    x = image_tensor(images)
    if x.shape[-1] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    device = next(segmenter.parameters()).device
    return torch.cat([segmenter.features(x[i:i + batch].to(device)).float().cpu()
                      for i in range(0, len(x), batch)]).numpy().astype(np.float64)
