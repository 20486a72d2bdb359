"""The sd backend's condition extractors: a picture from outside read into the maps its
ControlNets were trained on, by published models loaded like the rest of the backend (Hub ids in
`settings.EXTRACTORS`, overridable by `SGCOND_SD_READ_SEG`, `_DEPTH`, `_EDGES`; nothing is
downloaded in tests):

- segmentation: an ADE20K-150 semantic segmenter through `transformers` (SegFormer B0 trained on
  ADE20K at 512 px; `SegformerForSemanticSegmentation`), the `ade20k` vocabulary's classes, as the
  segmentation ControlNet (`control_v11p_sd15_seg`) was trained on them;
- depth: Depth Anything V2 (small) through `transformers` (`AutoModelForDepthEstimation`): relative
  inverse depth, scaled to [0, 1] with near = 1, as the depth ControlNet takes it;
- soft edges: HED, as the soft-edge ControlNet was trained on: `HED` below is its network (five VGG
  blocks, each with a one-channel side output; the edge map is the sigmoid of their mean), written
  here from the published architecture, with ControlNet's annotator weights (`ControlNetHED.pth`).

`Extractors.tiny_random(seed)` builds each from a tiny config with random weights (tests: shapes,
dtypes and the path, not pictures worth looking at); `Extractors.from_pretrained()` the real ones.
What ran with real weights is said in the README, not assumed here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from ...errors import BadInput
from .settings import EXTRACTORS

HED_FILE = "ControlNetHED.pth"
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def _hed_class():
    import torch
    import torch.nn.functional as F

    class Block(torch.nn.Module):
        """`layers` 3x3 convolutions (ReLU) after an optional 2x2 max pool, and a 1x1 side output."""

        def __init__(self, inp: int, out: int, layers: int) -> None:
            super().__init__()
            self.convs = torch.nn.Sequential(*[torch.nn.Conv2d(inp if k == 0 else out, out, 3, padding=1)
                                               for k in range(layers)])
            self.projection = torch.nn.Conv2d(out, 1, 1)

        def forward(self, x, down: bool = False):
            h = F.max_pool2d(x, 2, 2) if down else x
            for conv in self.convs:
                h = F.relu(conv(h))
            return h, self.projection(h)

    class HED(torch.nn.Module):
        """HED's network as ControlNet's annotator has it: input RGB 0..255 (B, 3, H, W), minus a
        learned mean; five blocks (widths `widths`, 2-2-3-3-3 convolutions); -> five side outputs."""

        def __init__(self, widths: tuple[int, ...] = (64, 128, 256, 512, 512)) -> None:
            super().__init__()
            self.norm = torch.nn.Parameter(torch.zeros(1, 3, 1, 1))
            layers = (2, 2, 3, 3, 3)
            chans = (3, *widths)
            for k in range(5):
                setattr(self, f"block{k + 1}", Block(chans[k], chans[k + 1], layers[k]))

        def forward(self, x):
            h, sides = x - self.norm, []
            for k in range(5):
                h, side = getattr(self, f"block{k + 1}")(h, down=k > 0)
                sides.append(side)
            return sides

    return HED


@dataclass
class ReadMaps:
    segmentation: np.ndarray  # (S, S) uint8: positions in the ade20k vocabulary's classes
    depth: np.ndarray  # (S, S) float32 in [0, 1], near is 1
    edges: np.ndarray  # (S, S) uint8 soft edges, 255 on an edge
    probability: np.ndarray | None = None  # (S, S) float32: the segmenter's probability of the class it read


class Extractors:
    """The three extractors and their input sizes (SegFormer reads 512 px, Depth Anything a multiple of
    its 14 px patches, HED any size)."""

    def __init__(self, segmenter, depth, hed, seg_size: int = 512, depth_size: int = 518, device: str = "cpu"):
        self.segmenter, self.depth, self.hed = segmenter.eval(), depth.eval(), hed.eval()
        self.seg_size, self.depth_size, self.device = seg_size, depth_size, device

    @classmethod
    def tiny_random(cls, seed: int = 0) -> Extractors:
        import torch
        from transformers import (
            DepthAnythingConfig,
            DepthAnythingForDepthEstimation,
            Dinov2Config,
            SegformerConfig,
            SegformerForSemanticSegmentation,
        )

        torch.manual_seed(seed)
        segmenter = SegformerForSemanticSegmentation(SegformerConfig(
            num_encoder_blocks=2, depths=[1, 1], sr_ratios=[2, 1], hidden_sizes=[8, 16], patch_sizes=[7, 3],
            strides=[4, 2], num_attention_heads=[1, 2], mlp_ratios=[2, 2], decoder_hidden_size=16, num_labels=150))
        backbone = Dinov2Config(hidden_size=16, num_hidden_layers=4, num_attention_heads=2, intermediate_size=32,
                                patch_size=14, image_size=56, out_features=["stage1", "stage2", "stage3", "stage4"],
                                reshape_hidden_states=False)
        depth = DepthAnythingForDepthEstimation(DepthAnythingConfig(
            backbone_config=backbone, reassemble_hidden_size=16, patch_size=14, reassemble_factors=[4, 2, 1, 0.5],
            neck_hidden_sizes=[8, 8, 16, 16], fusion_hidden_size=16, head_hidden_size=8))
        hed = _hed_class()(widths=(4, 8, 8, 8, 8))
        return cls(segmenter, depth, hed, seg_size=64, depth_size=56)

    @classmethod
    def from_configs(cls, device: str = "cuda", seed: int = 0) -> Extractors:
        """The three at their published sizes (`configs/segformer.json`, `depth_anything.json`, HED's
        own) with random weights: no download; the GPU check's shapes, memory and seconds."""
        import torch
        from transformers import (
            DepthAnythingConfig,
            DepthAnythingForDepthEstimation,
            SegformerConfig,
            SegformerForSemanticSegmentation,
        )

        from .components import published_config

        torch.manual_seed(seed)
        segmenter = SegformerForSemanticSegmentation(SegformerConfig(**published_config("segformer")))
        depth = DepthAnythingForDepthEstimation(DepthAnythingConfig(**published_config("depth_anything")))
        return cls(segmenter.to(device), depth.to(device), _hed_class()().to(device), device=device)

    @classmethod
    def from_pretrained(cls, ids: dict[str, str] | None = None, device: str = "cpu",
                        local_files_only: bool | None = None) -> Extractors:
        """The real extractors by Hub id (or local folder); one line naming the one that cannot be had."""
        import torch
        from transformers import AutoModelForDepthEstimation, SegformerForSemanticSegmentation

        from .components import _load

        ids = {**EXTRACTORS, **(ids or {})}  # the settings' (SDSettings.extractors: the environment's there)
        if local_files_only is None:
            local_files_only = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
        kw = {"local_files_only": local_files_only}
        segmenter = _load(f"the ADE20K segmenter '{ids['segmentation']}'",
                          lambda: SegformerForSemanticSegmentation.from_pretrained(ids["segmentation"], **kw))
        if segmenter.config.num_labels != 150:
            raise BadInput(f"the segmenter '{ids['segmentation']}' reads {segmenter.config.num_labels} classes; the "
                           "segmentation ControlNet takes ADE20K's 150")
        depth = _load(f"the depth estimator '{ids['depth']}'",
                      lambda: AutoModelForDepthEstimation.from_pretrained(ids["depth"], **kw))

        def hed():
            from huggingface_hub import hf_hub_download

            path = ids["edges"] if ids["edges"].endswith(".pth") else hf_hub_download(ids["edges"], HED_FILE, **kw)
            net = _hed_class()()
            net.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
            return net

        edges = _load(f"the HED edge detector '{ids['edges']}'", hed)
        return cls(segmenter.to(device), depth.to(device), edges.to(device), device=device)

    def read(self, picture: np.ndarray, size: int | None = None) -> ReadMaps:
        """A picture (H, W, 3) uint8 -> its maps at size x size (default the picture's own, square)."""
        import torch
        import torch.nn.functional as F

        picture = np.asarray(picture)
        if picture.ndim != 3 or picture.shape[2] != 3 or picture.dtype != np.uint8:
            raise BadInput(f"a picture to read must be (H, W, 3) uint8, not {picture.shape} {picture.dtype}"[:120])
        out = size or min(picture.shape[:2])
        x = torch.from_numpy(np.ascontiguousarray(picture)).permute(2, 0, 1)[None].float().to(self.device)
        mean = torch.tensor(IMAGENET_MEAN, device=self.device).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD, device=self.device).view(1, 3, 1, 1)

        def fitted(side: int):
            return (F.interpolate(x, size=(side, side), mode="bilinear", align_corners=False) / 255 - mean) / std

        with torch.no_grad():
            logits = self.segmenter(pixel_values=fitted(self.seg_size)).logits
            probs = F.interpolate(logits.float(), size=(out, out), mode="bilinear", align_corners=False).softmax(1)
            top, seg = probs.max(1)
            seg, top = seg[0].to(torch.uint8).cpu().numpy(), top[0].float().cpu().numpy()
            d = self.depth(pixel_values=fitted(self.depth_size)).predicted_depth.float()
            d = F.interpolate(d[:, None], size=(out, out), mode="bilinear", align_corners=False)[0, 0]
            d = (d - d.min()) / (d.max() - d.min()).clamp_min(1e-6)  # relative inverse depth: near is 1
            sides = self.hed(F.interpolate(x, size=(out, out), mode="bilinear", align_corners=False))
            mean_side = torch.stack([F.interpolate(s.float(), size=(out, out), mode="bilinear", align_corners=False)
                                     for s in sides]).mean(0)[0, 0]
            edges = (torch.sigmoid(mean_side) * 255).clamp(0, 255).to(torch.uint8).cpu().numpy()
        return ReadMaps(seg, d.cpu().numpy().astype(np.float32), edges, top.astype(np.float32))


def read_graph(maps: ReadMaps):
    """The scene graph the maps show, in ADE20K's words, by the tiny world's own rules (`derive`)."""
    from ...graph.vocabularies import load
    from ...reading.derive import graph_from_maps

    return graph_from_maps(maps.segmentation, maps.depth, load("ade20k"))
