"""How familiar a picture is to the model that reads it, so that a picture it cannot read is said
to be so instead of read into a confident graph.

The score is the Mahalanobis distance of the segmenter's own features of the picture (each encoder
level's activations averaged over the picture, `Segmenter.features`, what the Fréchet bench
compares) from those of pictures like the ones it was trained on: tiny-world renders as `read`
sees them (128 px, and 64 px and 256 px JPEGs fitted to 128 px), seeds no model or benchmark uses.
The covariance is shrunk towards its mean variance (`ALPHA`), since the features are hundreds and
their directions correlate. The threshold is the QUANTILE of the scores of those calibration
pictures: a picture scoring above it is one the segmenter's features have not met in the world it
knows (a photo, noise, a flat colour, a page of text, a line drawing), and its maps and graph are
not to be trusted. `bench outside` measures it on pictures it was not fitted on.

The fit ships beside the segmenter (`familiarity.safetensors`: the mean, the precision matrix, and
the threshold and how it was chosen in the metadata); `python -m sgcond_app train familiarity`
makes it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

FILE = "familiarity.safetensors"
ALPHA = 0.1  # shrinkage of the covariance towards alpha * mean variance * I
QUANTILE = 0.995  # the calibration pictures' score quantile that is the threshold
CALIBRATION_SEED = 1_500_000_000  # renders from here on: seen by no model (< 1e9) and by no bench (1e9 + small)
SIZE = 128  # the picture size the chain reads at
FORMS = ("png", "jpeg64", "jpeg256")  # how a calibration render is given: as it is, or as a small or large JPEG


@dataclass(frozen=True)
class Familiarity:
    mean: np.ndarray  # (D,)
    precision: np.ndarray  # (D, D): the inverse of the shrunk covariance
    threshold: float
    meta: dict = field(default_factory=dict)  # how it was fitted: n, alpha, quantile, seeds, forms

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(B, D) features -> (B,) Mahalanobis distances."""
        d = np.asarray(features, np.float64) - self.mean
        return np.sqrt(np.maximum(np.einsum("bi,ij,bj->b", d, self.precision, d), 0.0))

    def score_pictures(self, segmenter, pictures) -> np.ndarray:
        """Pictures of any size, as a person gives them, fitted as `read` fits them -> (B,) scores."""
        from .load import from_array

        return self.scores(features(segmenter, np.stack([from_array(p, SIZE) for p in pictures])))

    def judge(self, segmenter, picture: np.ndarray) -> dict:
        """One picture as the chain reads it ((SIZE, SIZE, 3) uint8) -> {"score", "threshold",
        "familiar"}: familiar False means its maps and graph are not to be trusted."""
        score = float(self.scores(features(segmenter, picture[None]))[0])
        return {"score": round(score, 2), "threshold": round(self.threshold, 2), "familiar": score <= self.threshold}

    def save(self, folder: str | Path) -> Path:
        from safetensors.numpy import save_file

        path = Path(folder) / FILE
        save_file({"mean": self.mean.astype(np.float32), "precision": self.precision.astype(np.float32)}, str(path),
                  metadata={"threshold": repr(float(self.threshold)), "meta": json.dumps(self.meta)})
        return path

    @classmethod
    def load(cls, folder: str | Path) -> Familiarity | None:
        """The fit shipped in a segmenter's folder; None where there is none (a model made in a test)."""
        from safetensors import safe_open

        path = Path(folder) / FILE
        if not path.is_file():
            return None
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            return cls(f.get_tensor("mean").astype(np.float64), f.get_tensor("precision").astype(np.float64),
                       float(meta["threshold"]), json.loads(meta.get("meta", "{}")))


def unlike(judged: dict) -> str:
    """What a reading that is not familiar is, in the words the CLI and the page say it."""
    return (f"unlike any the reading model was trained on (familiarity {judged['score']:.1f}, above "
            f"{judged['threshold']:.1f})")


def features(segmenter, pictures: np.ndarray, batch: int = 64) -> np.ndarray:
    """(B, SIZE, SIZE, 3) uint8 -> (B, D) the segmenter's features, as the score reads them."""
    from ..models.segmenter import picture_features

    return picture_features(segmenter, np.asarray(pictures), SIZE, batch)


def as_read(picture: np.ndarray, form: str, quality: int = 85) -> np.ndarray:
    """A render given as `read` is given it: as it is, or saved as a 64 px or 256 px JPEG; then
    fitted to SIZE as `read` fits any picture."""
    from PIL import Image

    from .load import from_array, small_jpeg

    if form == "png":
        return from_array(picture, SIZE)
    side = {"jpeg64": 64, "jpeg256": 256}[form]
    return small_jpeg(np.asarray(Image.fromarray(picture).resize((side, side), Image.Resampling.LANCZOS)), SIZE,
                      quality)


def render_pictures(n: int, seed: int, forms: tuple[str, ...] = FORMS) -> np.ndarray:
    """n tiny-world renders (seeds seed, seed + 1, ...) at 256 px, given in turn in each of `forms`
    (JPEG quality 60-95 from the seed), as `read` sees them: (n, SIZE, SIZE, 3) uint8."""
    from ..world.sample import render_sample

    out = []
    for k in range(n):
        quality = 60 + (seed + k) * 7919 % 36
        out.append(as_read(render_sample(seed + k, 256).image, forms[k % len(forms)], quality))
    return np.stack(out)


def fit(feats: np.ndarray, alpha: float = ALPHA, quantile: float = QUANTILE, meta: dict | None = None) -> Familiarity:
    """A Familiarity from (N, D) features of pictures the model knows; the threshold is their
    `quantile` score."""
    x = np.asarray(feats, np.float64)
    mean = x.mean(0)
    cov = np.cov(x - mean, rowvar=False)
    d = cov.shape[0]
    shrunk = (1 - alpha) * cov + alpha * np.trace(cov) / d * np.eye(d)
    f = Familiarity(mean, np.linalg.inv(shrunk), 0.0)
    threshold = float(np.quantile(f.scores(x), quantile))
    return Familiarity(mean, f.precision, threshold,
                       {"n": len(x), "alpha": alpha, "quantile": quantile, **(meta or {})})


def calibrate(segmenter, n: int = 900, seed: int = CALIBRATION_SEED) -> Familiarity:
    """Fit on n renders from `seed` on, a third each as they are, as 64 px and as 256 px JPEGs."""
    pictures = render_pictures(n, seed)
    return fit(features(segmenter, pictures), meta={"seeds": [seed, seed + n - 1], "forms": list(FORMS),
                                                    "size": SIZE})


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """The chance that a picture from outside scores above one from inside (ties count half)."""
    a, b = np.asarray(outside, np.float64)[:, None], np.asarray(inside, np.float64)[None, :]
    return float(((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size)) if a.size and b.size else float("nan")
