"""The four factors of the chain: what each one samples, at what size, from which conditions, and
how maps are turned into tensors and back.

| factor       | samples              | size | spatial conditions                               | tokens            |
| segmentation | 27 class logits      | 64   | the encoder's layout, drawn (27)                 | object embeddings |
| depth        | disparity (1)        | 32   | segmentation (27), downsampled                   |                   |
| sketch       | edge logit (1)       | 64   | segmentation (27), depth (1, upsampled)          |                   |
| image        | RGB (3)              | 128  | segmentation (27), depth (1), sketch (1), all upsampled |            |

Depth, which is smooth, runs at half the image's resolution and fewer steps (FG-DM runs its
conditions at lower resolutions). The segmentation runs at the image's size: an image factor
conditioned on a 32 px class map drew smooth shapes inside blocky ones, and the segmenter's
reading of its images agreed with the map it was given at only 0.57 mIoU. The picture is drawn at
twice the maps' size: the maps (64 px) say what is where, the image factor draws the shapes'
outlines finer than the maps' blocks (it learnt from the same scene drawn at both sizes). The image
factor's size is its config's (`picture_conditions`), so a 64 px one still loads. Maps in tensors
are in [-1, 1]; a class map is one-hot scaled to {-1, 1} (`vocab.VOID` pixels are -1 everywhere).
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import torch
import torch.nn.functional as F

from ..graph.vocab import VOID
from ..models.denoiser import FactorDenoiser
from ..world import classes

FACTORS = ("segmentation", "depth", "sketch", "image")
SEG_SIZE = 64
DEPTH_SIZE = 32
MAP_SIZE = 64  # the sketch, and every map a result gives out or the judge reads
PICTURE_SIZE = 128  # the image factor's
NUM_CLASSES = classes.NUM_CLASSES
TOKEN_DIM = 128  # the graph encoder's width


def default_config(name: str, classes: int = NUM_CLASSES) -> FactorDenoiser.Config:
    """A factor's shipped shape; `classes`: its vocabulary's (a model trained on a dataset)."""
    if name == "segmentation":
        return FactorDenoiser.Config("segmentation", SEG_SIZE, classes, (classes,), (24, 48, 96, 128),
                                     (False, False, True, True), TOKEN_DIM)
    if name == "depth":
        return FactorDenoiser.Config("depth", DEPTH_SIZE, 1, (classes,), (32, 48, 64))
    if name == "sketch":
        return FactorDenoiser.Config("sketch", MAP_SIZE, 1, (classes, 1), (24, 48, 64, 96))
    if name == "image":
        # Five levels, the first narrow: at 128 px it costs about what (32, 64, 96, 128) cost at 64.
        return FactorDenoiser.Config("image", PICTURE_SIZE, 3, (classes, 1, 1), (16, 32, 64, 96, 128),
                                     (False,) * 5)
    raise ValueError(f"unknown factor {name!r}")


def tiny_config(name: str, classes: int = NUM_CLASSES) -> FactorDenoiser.Config:
    c = default_config(name, classes)
    return FactorDenoiser.Config(c.factor, c.size, c.out_channels, c.cond_channels,
                                 tuple(8 for _ in c.channels), c.attention, c.context_dim, 2, 32)


@functools.lru_cache(maxsize=1)
def scheduler_config() -> dict:
    """One noise schedule for every factor, in training and sampling (diffusers' DDIM)."""
    return {"num_train_timesteps": 1000, "beta_schedule": "squaredcos_cap_v2", "prediction_type": "sample",
            "clip_sample": False, "timestep_spacing": "trailing", "set_alpha_to_one": True}


_IMPORT_LOCK = threading.Lock()


def make_scheduler(kind: str = "ddim"):
    with _IMPORT_LOCK:  # diffusers' lazy first import is not thread-safe (seen with concurrent requests)
        from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

    if kind == "ddim":
        return DDIMScheduler(**scheduler_config())
    if kind == "dpm":
        cfg = {k: v for k, v in scheduler_config().items() if k not in ("clip_sample", "set_alpha_to_one")}
        return DPMSolverMultistepScheduler(**cfg, algorithm_type="dpmsolver++", solver_order=2)
    raise ValueError(f"unknown scheduler {kind!r}")


@functools.lru_cache(maxsize=1)
def alphas_cumprod() -> torch.Tensor:
    return make_scheduler().alphas_cumprod.float()


# --- maps <-> tensors ----------------------------------------------------------------------------


def onehot(classes: torch.Tensor, n: int | None = None) -> torch.Tensor:
    """(B, H, W) class ids (VOID allowed) -> (B, n, H, W) in {-1, 1}; n: the vocabulary's classes (a
    factor's `cond_channels[0]`; default the tiny world's 27)."""
    n = n or NUM_CLASSES
    valid = classes < n
    oh = F.one_hot(torch.where(valid, classes, 0).long(), n).permute(0, 3, 1, 2).float()
    return (oh * valid.unsqueeze(1)) * 2 - 1


def downsample_classes(classes: torch.Tensor, factor: int = 2, n: int | None = None) -> torch.Tensor:
    """Class map to a lower resolution by the most common class of each block (n: as `onehot`)."""
    oh = (onehot(classes, n) + 1) / 2
    return F.avg_pool2d(oh, factor).argmax(1)


def upsample_classes(classes: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(classes.unsqueeze(1).float(), size=size, mode="nearest").squeeze(1).long()


def depth_tensor(depth: torch.Tensor, size: int) -> torch.Tensor:
    """(B, H, W) disparity in [0, 1] -> (B, 1, size, size) in [-1, 1] (area average or bilinear)."""
    d = depth.unsqueeze(1).float() * 2 - 1
    if d.shape[-1] > size:
        return F.adaptive_avg_pool2d(d, size)
    if d.shape[-1] < size:
        return F.interpolate(d, size=size, mode="bilinear", align_corners=False)
    return d


def sketch_tensor(sketch: torch.Tensor) -> torch.Tensor:
    """(B, H, W) uint8 (255 = edge) -> (B, 1, H, W) in {-1, 1}."""
    return (sketch.unsqueeze(1).float() > 127).float() * 2 - 1


def picture_conditions(seg: torch.Tensor, depth32: torch.Tensor | None, edges: torch.Tensor | None,
                       size: int, n: int | None = None) -> list[torch.Tensor | None]:
    """The image factor's conditions at its size, the same in training and sampling: the class map
    (B, 64, 64) one-hot, upsampled by nearest neighbours; the disparity (B, 32, 32) in [0, 1]
    bilinear; the sketch (B, 64, 64) uint8 as {-1, 1}, bilinear. None stays None (a null condition).
    n: the classes of the map (as `onehot`)."""
    classes = upsample_classes(seg, size) if seg.shape[-1] != size else seg
    depth = depth_tensor(depth32, size) if depth32 is not None else None
    sk = None
    if edges is not None:
        sk = sketch_tensor(edges)
        if sk.shape[-1] != size:
            sk = F.interpolate(sk, size=size, mode="bilinear", align_corners=False)
    return [onehot(classes, n), depth, sk]


def image_from_tensor(x: torch.Tensor) -> np.ndarray:
    """(B, 3, H, W) in [-1, 1] -> uint8 (B, H, W, 3)."""
    return ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def to_x0(name: str, out: torch.Tensor) -> torch.Tensor:
    """The denoiser's output -> the clean-sample estimate in [-1, 1] the scheduler steps towards."""
    if name == "segmentation":
        return out.float().softmax(1) * 2 - 1
    if name == "sketch":
        return torch.sigmoid(out.float()) * 2 - 1
    return out.float().clamp(-1, 1)


def factor_loss(name: str, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """target: class ids (B, H, W) for the segmentation (`vocab.VOID` pixels, of no class in a dataset's
    map, are left out of the loss), else the clean sample in [-1, 1]."""
    out = out.float()
    if name == "segmentation":
        return F.cross_entropy(out, target, ignore_index=VOID)
    if name == "sketch":
        weight = torch.tensor(2.0, device=out.device)  # edges are few: count them twice
        return F.binary_cross_entropy_with_logits(out, (target > 0).float(), pos_weight=weight)
    if name == "depth":
        return F.l1_loss(out, target) + F.mse_loss(out, target)
    return F.mse_loss(out, target) + 0.5 * F.l1_loss(out, target)
