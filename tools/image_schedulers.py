"""The image factor under other samplers, on fixed maps: `python tools/image_schedulers.py`.

For each graph of --graphs (default outside.json and people.json), the chain chooses its maps once
(N = 8, seed k for graph k, one picture draw, not painted); then, for each setting (a scheduler,
its steps, the guidance, and optionally a window of timesteps outside which guidance is off), the
image factor draws the picture of those maps from the same noise seed, and the segmenter reads it
back. It prints per setting the judge's object recall and relation accuracy of the readings (means
over graphs), the mean IoU of each reading against its map over the map's classes, and the mean
seconds of the image stage. The figures are in docs/history.md (2026-12-07, night); the choice they
led to is `fgdm/stages.py: DEFAULT_STEPS, DEFAULT_SCHEDULERS`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SETTINGS = [
    {"sched": "ddim", "steps": 16, "g": 2.0},
    {"sched": "ddim", "steps": 8, "g": 2.0},
    {"sched": "dpm", "steps": 8, "g": 2.0},
    {"sched": "dpm", "steps": 6, "g": 2.0},
    {"sched": "dpm", "steps": 5, "g": 2.0},
    {"sched": "ddim", "steps": 16, "g": 2.0, "window": [0, 700]},
]


def main() -> None:
    import numpy as np
    import torch

    from sgcond_app.bench.chain import _graphs
    from sgcond_app.fgdm import sampler, stages
    from sgcond_app.fgdm.chain import Chain, Settings
    from sgcond_app.fgdm.factors import image_from_tensor

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--graphs", nargs="+", default=[str(ROOT / "assets/graphs/outside.json"),
                                                    str(ROOT / "assets/graphs/people.json")])
    p.add_argument("--settings", default=json.dumps(SETTINGS),
                   help='JSON list of {"sched": "ddim"|"dpm", "steps": K, "g": G, "window": [lo, hi]?}')
    p.add_argument("--limit", type=int, default=None, help="the first graphs of each file only")
    args = p.parse_args()

    chain = Chain.from_pretrained()
    window: list = [None]  # guidance only where lo <= t <= hi; elsewhere the conditional output alone
    guided_call = sampler.Guided.__call__

    def call(self, x, t):
        if window[0] is not None and self.guided:
            lo, hi = window[0]
            if not lo <= int(torch.as_tensor(t).flatten()[0]) <= hi:
                tt = torch.as_tensor(t).to(self.device).expand(x.size(0))
                return self.model(x.to(self.device), tt, self.conds, self.tokens, self.pad).float()
        return guided_call(self, x, t)

    sampler.Guided.__call__ = call
    maps = []
    for path in args.graphs:
        for k, g in enumerate(_graphs(path, args.limit)):
            r = chain.generate(g, seed=k, settings=Settings(samples=8, picture_draws=1, paint=False))
            maps.append((g, torch.from_numpy(r.segmentation).long()[None], r.depth32[None],
                         torch.from_numpy(r.sketch)[None], r.depth, r.factor_seed))
    for v in json.loads(args.settings):
        window[0] = tuple(v["window"]) if v.get("window") else None
        recall, relations, ious, seconds = [], [], [], []
        for g, seg, disp, edges, depth, seed in maps:
            start = time.perf_counter()
            x = stages.image(chain.factors["image"], seg, disp, edges, [seed], v["steps"], v["g"], v["sched"])
            seconds.append(time.perf_counter() - start)
            reading, verdict = chain._read_picture(g, image_from_tensor(x)[0], depth)
            recall.append(verdict.object_recall)
            if verdict.relation_accuracy is not None:
                relations.append(verdict.relation_accuracy)
            m = seg[0].numpy()
            ious.append(np.mean([((reading == c) & (m == c)).sum() / max(1, ((reading == c) | (m == c)).sum())
                                 for c in np.unique(m)]))
        print(json.dumps({**v, "graphs": len(maps), "recall": round(float(np.mean(recall)), 4),
                          "relations": round(float(np.mean(relations)), 4), "miou": round(float(np.mean(ious)), 4),
                          "image_seconds": round(float(np.mean(seconds)), 3)}), flush=True)


if __name__ == "__main__":
    main()
