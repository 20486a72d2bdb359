"""The studio's limits, read once where the app starts (`app.py`) and handed to `create_demo`."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class StudioConfig:
    max_samples: int = 16  # SBPC candidates a request may ask for
    # The page's default: on 2 cores, 4 candidates put the segmentation on screen in about 1.0 s and
    # the image in 2.4 s, 8 in 1.5 s and 2.7 s (docs/history.md). The API's default stays 8.
    default_samples: int = 4
    api_samples: int = 8

    def __post_init__(self) -> None:
        if not 1 <= self.max_samples <= 32:
            raise ValueError("max_samples must be from 1 to 32")

    @property
    def page_samples(self) -> int:
        return min(self.default_samples, self.max_samples)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StudioConfig:
        """SGCOND_MAX_SAMPLES (1 to 32, default 16). A bad value stops the app with one line."""
        env = os.environ if env is None else env
        raw = env.get("SGCOND_MAX_SAMPLES")
        if raw is None:
            return cls()
        if not raw.strip().isdigit() or not 1 <= int(raw) <= 32:
            raise SystemExit(f"SGCOND_MAX_SAMPLES must be a whole number from 1 to 32, not {raw!r}")
        return cls(max_samples=int(raw))
