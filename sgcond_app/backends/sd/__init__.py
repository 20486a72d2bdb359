"""The `sd` backend: the tiny chain's maps, then Stable Diffusion 1.5 with ControlNet v1.1
(segmentation, depth, soft edge) for the picture (issue 14). Importing this package loads no
weights and imports neither torch nor diffusers; `SDBackend` loads them on first use.

- `palette.py`: our classes in the ADE20K colours the segmentation ControlNet reads;
- `prompt.py`: a scene graph in words, within CLIP's 77 tokens;
- `settings.py`: model ids and defaults, from flags and `SGCOND_SD_*`;
- `components.py`: the diffusers parts, tiny random (tests) or from the Hub;
- `ledits.py`: pictures in: LEDITS++ inversion and concept edits, kept in a result's state;
- `backend.py`: `SDBackend`, the boundary's Protocol;
- `zerogpu.py`: its work inside `spaces.GPU` on a ZeroGPU Space.
"""

from __future__ import annotations

from .backend import SDBackend
from .components import SDComponents
from .settings import SDSettings

__all__ = ["SDBackend", "SDComponents", "SDSettings"]
