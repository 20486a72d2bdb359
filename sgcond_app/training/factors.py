"""Training the chain's four factors (`python -m sgcond_app train factors`).

Each factor is trained on tiny-world renders with its conditions taken from the same render (the
segmentation factor's from the graph: the frozen encoder's object embeddings, and a layout drawn
from boxes that are half the time the encoder's prediction and half the time the render's own,
both jittered). Condition dropout: each condition is hidden from a sample with probability 0.15
and all of them with probability 0.1, so classifier-free guidance works and any subset of
conditions can be null.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..fgdm.factors import (
    DEPTH_SIZE,
    MAP_SIZE,
    SEG_SIZE,
    alphas_cumprod,
    depth_tensor,
    downsample_classes,
    factor_loss,
    onehot,
    picture_conditions,
    sketch_tensor,
)
from ..graph.vocab import VOID
from ..models.denoiser import FactorDenoiser
from ..models.graph_encoder import image_tensor, pad_objects, tensorize
from ..world.boxes import draw_layout, jitter_boxes
from .data import Item, RenderStream, SourceStream

P_DROP = 0.15
P_NULL = 0.10
P_PREDICTED_BOXES = 0.5
JUDGED_SHARE = 4  # consistency: one sample in this many is read by the judge
P_DROP_STUFF = 0.5  # each stuff object of a training graph left out (its pixels stay): `without_stuff`


class FactorCollate:
    """Runs in the DataLoader workers: the frozen encoder embeds the graphs and predicts layouts."""

    def __init__(self, encoder_dir: str | Path, vocabulary=None, predicted_boxes: float = P_PREDICTED_BOXES) -> None:
        """`vocabulary`: the classes of the items' labels and maps (default the tiny world's).
        `predicted_boxes`: the share of layouts drawn from the encoder's boxes rather than the
        render's own (0: the layout always shows where things are, so the factor learns to keep to
        it; the chain mends its layouts to obey the graph, `stages.mend_layout`)."""
        self.encoder_dir, self.vocabulary = str(encoder_dir), vocabulary
        self.predicted_boxes = predicted_boxes
        self._encoder = None
        self._rng = np.random.default_rng()

    def __call__(self, items: list[Item]) -> dict:
        from ..models.shipped import load_encoder

        if self._encoder is None:
            self._encoder = load_encoder(self.encoder_dir)
            self._rng = np.random.default_rng(torch.initial_seed() % 2 ** 32)
        encoder, words = self._encoder
        batch = tensorize([it.graph for it in items], words)
        with torch.no_grad():
            out = encoder.graph(batch)
        tokens, pad = pad_objects(out.objects, batch.obj_graph, batch.num_graphs)
        pred_boxes = out.boxes.split(batch.counts)
        pred_disp = out.disparity.split(batch.counts)
        layouts = []
        for k, it in enumerate(items):
            if self._rng.random() < self.predicted_boxes:
                boxes, disp = pred_boxes[k].numpy(), pred_disp[k].numpy()
            else:
                boxes, disp = it.boxes, it.disparity
            layouts.append(draw_layout(it.labels, jitter_boxes(boxes, self._rng), disp, SEG_SIZE, self.vocabulary)[0])
        pictures = [it.picture if it.picture is not None else it.image for it in items]
        return {
            "image": torch.from_numpy(np.stack(pictures)),
            "segmentation": torch.from_numpy(np.stack([it.segmentation for it in items])).long(),
            "depth": torch.from_numpy(np.stack([it.depth for it in items])),
            "sketch": torch.from_numpy(np.stack([it.sketch for it in items])),
            "layout": torch.from_numpy(np.stack(layouts)).long(),
            "tokens": tokens, "token_pad": pad,
        }


def to_inputs(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) for k, v in batch.items()}


def factor_setup(name: str, image, segmentation, depth, sketch, layout, tokens, n: int | None = None):
    """(clean sample, loss target, spatial conditions, tokens or None) of one factor for a batch:
    the picture (B, P, P, 3), the 64 px maps, the layout drawn from boxes and the graph's tokens;
    n: the classes of the maps (default the tiny world's)."""
    if name == "segmentation":
        return onehot(segmentation, n), segmentation, [onehot(layout, n)], tokens
    depth32 = depth_tensor(depth, DEPTH_SIZE)
    disparity32 = (depth32.squeeze(1) + 1) / 2
    if name == "depth":
        return depth32, depth32, [onehot(downsample_classes(segmentation, MAP_SIZE // DEPTH_SIZE, n), n)], None
    if name == "sketch":
        edges = sketch_tensor(sketch)
        return edges, edges, [onehot(segmentation, n), depth_tensor(disparity32, MAP_SIZE)], None
    rgb = image_tensor(image)
    return rgb, rgb, picture_conditions(segmentation, disparity32, sketch, rgb.shape[-1], n), None


def condition_dropout(b: int, n_conds: int, token_pad, device) -> tuple[list, object]:
    """Which of b samples see each spatial condition (P_DROP each, all hidden with P_NULL), and the
    token padding with the graph's tokens hidden likewise (None where the factor has no tokens)."""
    null = torch.rand(b, device=device) < P_NULL
    keep = [(torch.rand(b, device=device) >= P_DROP) & ~null for _ in range(n_conds)]
    if token_pad is None:
        return keep, None
    keep_tokens = (torch.rand(b, device=device) >= P_DROP) & ~null
    return keep, token_pad | ~keep_tokens.unsqueeze(1)


class FactorsObjective(nn.Module):
    """The denoising losses of the chosen factors, summed (their parameters are disjoint).

    `judge` and `consistency`: the image factor is also asked that a frozen segmenter read its clean
    estimate as the class map it was drawn from (cross-entropy, weighted by `consistency` and by the
    estimate's signal share, alpha-bar(t), and only where the sample saw the map), so that training
    spends its steps on what the chain checks: the picture obeys the map. The judge reads the
    estimate after a random blur or small shift and a little noise, so that the factor learns what
    survives them (the shapes and colours of things), not a pattern only this judge reads.

    `timesteps`: the noise levels trained at (default: all of them); a factor distilled to sample in
    a few steps is fine-tuned at its sampler's timesteps alone (`distill.ddim_timesteps`)."""

    def __init__(self, models: dict[str, FactorDenoiser], judge: nn.Module | None = None,
                 consistency: float = 0.0, timesteps: list[int] | None = None) -> None:
        super().__init__()
        self.models = nn.ModuleDict(models)
        self.register_buffer("alphas_cumprod", alphas_cumprod(), persistent=False)
        self.register_buffer("timesteps", torch.tensor(timesteps if timesteps else [], dtype=torch.long),
                             persistent=False)
        self.consistency = consistency if judge is not None and "image" in models else 0.0
        if self.consistency:  # kept out of the module tree: not trained, saved or averaged
            judge.eval().requires_grad_(False)
            self.__dict__["judge"] = judge

    def consistency_loss(self, x0: torch.Tensor, segmentation: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """x0: the image factor's clean estimate (B, 3, P, P); segmentation: the class map (B, 64, 64);
        weight: (B,) each sample's share of the loss."""
        judge = self.__dict__["judge"]
        if next(judge.parameters()).device != x0.device:
            judge.to(x0.device)
        # The judge costs three times the factor's own step: it reads the quarter of the batch that
        # weighs most (the least noisy samples, where the estimate is sharp enough to be read).
        chosen = weight.topk(max(1, len(weight) // JUDGED_SHARE)).indices
        x, segmentation, weight = x0[chosen].float(), segmentation[chosen], weight[chosen]
        size = x.shape[-1]
        if torch.rand(()) < 0.5:  # the picture as a smaller one enlarged
            x = nn.functional.interpolate(x, scale_factor=0.5, mode="bilinear", align_corners=False,
                                          antialias=True)
            x = nn.functional.interpolate(x, size=size, mode="bilinear", align_corners=False)
        else:  # shifted by up to 2 px
            dy, dx = (int(v) for v in torch.randint(-2, 3, (2,)))
            x = torch.roll(x, (dy, dx), (2, 3))
            segmentation = torch.roll(segmentation, (round(dy * 64 / size), round(dx * 64 / size)), (1, 2))
        x = x + 0.03 * torch.randn_like(x)
        logits = judge(x)
        logits = nn.functional.adaptive_avg_pool2d(logits, segmentation.shape[-1])
        per_pixel = nn.functional.cross_entropy(logits, segmentation, ignore_index=VOID, reduction="none")
        counted = (segmentation != VOID).float()
        per_sample = (per_pixel * counted).sum((1, 2)) / counted.sum((1, 2)).clamp(min=1)
        return (per_sample * weight).mean()

    def forward(self, image, segmentation, depth, sketch, layout, tokens, token_pad):
        """image: the picture (B, P, P, 3) (P = the image factor's size); the maps are at 64 px."""
        b = image.size(0)
        total = 0.0
        logs = {}
        for name, model in self.models.items():
            x0, target, conds, toks = factor_setup(name, image, segmentation, depth, sketch, layout, tokens,
                                                   model.config.cond_channels[0])
            if self.timesteps.numel():
                t = self.timesteps[torch.randint(0, self.timesteps.numel(), (b,), device=image.device)]
            else:
                t = torch.randint(0, self.alphas_cumprod.numel(), (b,), device=image.device)
            ab = self.alphas_cumprod[t].view(b, 1, 1, 1)
            x_t = ab.sqrt() * x0 + (1 - ab).sqrt() * torch.randn_like(x0)
            keep, pad = condition_dropout(b, len(conds), token_pad if toks is not None else None, image.device)
            out = model(x_t, t, conds, toks, pad, keep)
            loss = factor_loss(name, out, target)
            total = total + loss
            logs[name[:5]] = loss.detach()
            if name == "image" and self.consistency:
                seen = keep[0].float() * ab.view(b)
                cons = self.consistency_loss(out, segmentation, seen)
                total = total + self.consistency * cons
                logs["cons"] = cons.detach()
        logs["loss"] = total.detach()
        return total, logs


def make_dataset_factory(reuse: int, picture_size: int = MAP_SIZE, drop_stuff: float = P_DROP_STUFF,
                         data: list[str] | None = None, images: str | None = None):
    """Renders at the maps' size; the same scene drawn again at picture_size when that differs.
    `data`: dataset sources instead (`SourceStream`, with graphs, depth by rule and sketches)."""
    def make(start: int, rank: int, world: int):
        if data:
            return SourceStream(data, MAP_SIZE, start, rank, world, images, graphs=True,
                                picture_size=picture_size, drop_stuff=drop_stuff)
        return RenderStream(size=MAP_SIZE, start=start, graphs=True, alias_p=0.0, reuse=reuse, rank=rank,
                            world=world, picture_size=picture_size if picture_size != MAP_SIZE else None,
                            drop_stuff=drop_stuff)
    return make
