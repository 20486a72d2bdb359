"""The sd backend's settings: model ids, device, picture size and sampling defaults, from flags or
the environment (`SGCOND_SD_*`), read when the backend is made, never at import."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from ...errors import BadInput

# Stable Diffusion 1.5 (the repository that took over runwayml's) and the ControlNet v1.1 models
# trained on it for the three maps the chain makes.
MODEL = "stable-diffusion-v1-5/stable-diffusion-v1-5"
CONTROLNETS = {
    "segmentation": "lllyasviel/control_v11p_sd15_seg",
    "depth": "lllyasviel/control_v11f1p_sd15_depth",
    "sketch": "lllyasviel/control_v11p_sd15_softedge",
}
CONDITIONS = tuple(CONTROLNETS)  # the order of the ControlNets in the MultiControlNetModel
ENV = {"model": "SGCOND_SD_MODEL", "segmentation": "SGCOND_SD_SEG", "depth": "SGCOND_SD_DEPTH",
       "sketch": "SGCOND_SD_SOFTEDGE", "device": "SGCOND_SD_DEVICE", "size": "SGCOND_SD_SIZE",
       "steps": "SGCOND_SD_STEPS", "guidance": "SGCOND_SD_GUIDANCE", "scales": "SGCOND_SD_SCALES",
       "reader": "SGCOND_SD_READER"}
# The published extractors a picture from outside is read with (`extractors.py`), and their variables.
EXTRACTORS = {
    "segmentation": "nvidia/segformer-b0-finetuned-ade-512-512",
    "depth": "depth-anything/Depth-Anything-V2-Small-hf",
    "edges": "lllyasviel/Annotators",  # its ControlNetHED.pth
}
EXTRACTOR_ENV = {"segmentation": "SGCOND_SD_READ_SEG", "depth": "SGCOND_SD_READ_DEPTH",
                 "edges": "SGCOND_SD_READ_EDGES"}
READERS = ("extractors", "tiny")  # what reads a picture in: published extractors (ADE20K maps), or the tiny chain
MAX_SCALE = 2.0
SIZES = (256, 320, 384, 448, 512, 576, 640, 704, 768)


@dataclass(frozen=True)
class SDSettings:
    """What the sd backend loads and how it samples by default. A request's options override the
    image's steps, guidance and scheduler; `scales` per request too."""

    model: str = MODEL
    controlnets: dict[str, str] = field(default_factory=lambda: dict(CONTROLNETS))
    device: str | None = None  # None: CUDA when there is a GPU, else the backend refuses (one line)
    picture_size: int | None = None  # None: the components' own (512 for SD 1.5)
    steps: int = 20
    guidance: float = 7.5
    # The segmentation carries the graph's layout, so it leads; depth and soft edges refine it.
    # Multi-ControlNet scales usually sum to about 1.5-2 (diffusers' docs); not tuned on a GPU here.
    scales: dict[str, float] = field(default_factory=lambda: {"segmentation": 1.0, "depth": 0.5, "sketch": 0.5})
    # A picture from outside is read by published extractors into the maps the ControlNets were trained
    # on (`extractors.py`: ADE20K classes, depth, soft edges); "tiny": by the tiny chain's segmenter and
    # factors, in the tiny world's 27 classes (for the tiny world's own pictures).
    reader: str = "extractors"
    extractors: dict[str, str] = field(default_factory=lambda: dict(EXTRACTORS))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **given) -> SDSettings:
        """Settings from the environment, with `given` (flags) winning over it."""
        env = os.environ if environ is None else environ
        out: dict = {}
        if env.get(ENV["model"]):
            out["model"] = env[ENV["model"]]
        nets = {c: env[ENV[c]] for c in CONDITIONS if env.get(ENV[c])}
        if nets:
            out["controlnets"] = {**CONTROLNETS, **nets}
        if env.get(ENV["reader"]):
            out["reader"] = env[ENV["reader"]].strip().lower()
        readers = {k: env[v] for k, v in EXTRACTOR_ENV.items() if env.get(v)}
        if readers:
            out["extractors"] = {**EXTRACTORS, **readers}
        if env.get(ENV["device"]):
            out["device"] = env[ENV["device"]]
        for key, kind in (("size", int), ("steps", int), ("guidance", float)):
            if env.get(ENV[key]):
                try:
                    out["picture_size" if key == "size" else key] = kind(env[ENV[key]])
                except ValueError:
                    raise BadInput(f"{ENV[key]} must be a number, not {env[ENV[key]][:20]!r}") from None
        if env.get(ENV["scales"]):
            out["scales"] = parse_scales(env[ENV["scales"]], ENV["scales"])
        out.update({k: v for k, v in given.items() if v is not None})
        settings = cls(**out)
        settings.check()
        return settings

    def check(self) -> None:
        if self.picture_size is not None and self.picture_size not in SIZES:
            raise BadInput(f"the sd picture size must be one of {', '.join(map(str, SIZES))}, not {self.picture_size}")
        if not 1 <= self.steps <= 100:
            raise BadInput("the sd steps must be 1 to 100")
        if not 0.0 <= self.guidance <= 20.0:
            raise BadInput("the sd guidance must be 0 to 20")
        check_scales(self.scales)
        if self.reader not in READERS:
            raise BadInput(f"the sd reader must be one of {', '.join(READERS)}, not {str(self.reader)[:20]!r}")


def check_scales(scales: Mapping[str, float]) -> dict[str, float]:
    """Each condition's ControlNet scale, checked: every condition named, each 0..MAX_SCALE."""
    if not isinstance(scales, Mapping) or set(scales) != set(CONDITIONS):
        raise BadInput(f"the ControlNet scales are one per condition: {', '.join(CONDITIONS)}")
    out = {}
    for c in CONDITIONS:
        v = scales[c]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0.0 <= float(v) <= MAX_SCALE:
            raise BadInput(f"the {c} ControlNet scale must be a number from 0 to {MAX_SCALE:g}")
        out[c] = float(v)
    return out


def parse_scales(text: str, where: str = "scales") -> dict[str, float]:
    """"1.0,0.5,0.5" (segmentation, depth, sketch) -> the scales, checked."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != len(CONDITIONS):
        raise BadInput(f"{where}: three numbers, the {', '.join(CONDITIONS)} ControlNet scales, like 1.0,0.5,0.5")
    return check_scales(dict(zip(CONDITIONS, values)))
