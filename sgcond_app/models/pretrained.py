"""Saving and loading models as `config.json` + `model.safetensors` (+ a model card), offline.

A model class registers itself with `@register`, has a dataclass `Config` and is built as
`cls(config)`. Weights are stored in float16 (they are small models; the loss in precision is far
below what the benches can see) and loaded back as float32.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import TypeVar

import torch
from safetensors.torch import load_file, save_file

from ..errors import BadInput

_REGISTRY: dict[str, type] = {}
M = TypeVar("M", bound=torch.nn.Module)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"
VOCABULARY_FILE = "vocabulary.json"  # beside a model trained on a dataset: its classes (`graph/vocabularies`)


def register(cls: type[M]) -> type[M]:
    _REGISTRY[cls.__name__] = cls
    return cls


def save_pretrained(model: torch.nn.Module, directory: str | Path, extra: dict | None = None) -> Path:
    """Write config.json and model.safetensors into `directory` (created)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    # The classes it reads or draws travel with it (`graph/vocabularies`): every model trained here
    # is trained on the tiny world.
    config = {"class": type(model).__name__, "config": dataclasses.asdict(model.config),
              "vocabulary": getattr(model, "vocabulary", "tiny"), "saved": time.strftime("%Y-%m-%d %H:%M:%S"),
              **(extra or {})}
    state = {k: v.detach().to("cpu", torch.float16 if v.is_floating_point() else v.dtype).contiguous()
             for k, v in model.state_dict().items()}
    save_file(state, str(out / WEIGHTS_FILE))
    (out / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
    return out


def read_config(directory: str | Path) -> dict:
    path = Path(directory) / CONFIG_FILE
    if not path.is_file():
        raise BadInput(f"{directory}: no {CONFIG_FILE} (is this a model folder?)")
    return json.loads(path.read_text())


def from_pretrained(directory: str | Path, expect: type[M] | None = None, device: str = "cpu") -> M:
    """Build the model a folder describes and load its weights (float32, eval mode)."""
    meta = read_config(directory)
    cls = _REGISTRY.get(meta["class"])
    if cls is None:
        raise BadInput(f"{directory}: unknown model class {meta['class']!r}")
    if expect is not None and not issubclass(cls, expect):
        raise BadInput(f"{directory}: holds a {meta['class']}, not a {expect.__name__}")
    model_vocabulary(directory, meta)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    config = cls.Config(**{k: v for k, v in meta["config"].items() if k in fields})
    model = cls(config)
    state = load_file(str(Path(directory) / WEIGHTS_FILE))
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    if missing or unexpected:
        raise BadInput(f"{directory}: weights do not fit {meta['class']} "
                       f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    return model.to(device).eval()


def model_vocabulary(directory: str | Path, meta: dict | None = None):
    """The vocabulary a model folder's config names (`graph/vocabularies`): a shipped one, or the
    table in `vocabulary.json` beside it (a model trained on a dataset), which is registered so that
    results in it can be judged, edited and shown. Refused when neither says what its classes are."""
    from ..graph import vocabularies

    meta = meta if meta is not None else read_config(directory)
    name = str(meta.get("vocabulary", "tiny"))
    table = Path(directory) / VOCABULARY_FILE
    if table.is_file():
        try:
            data = json.loads(table.read_text())
        except (OSError, ValueError):
            raise BadInput(f"{table}: not readable as JSON") from None
        vocabulary = vocabularies.from_json(data, str(table))
        if vocabulary.name != name:
            raise BadInput(f"{directory}: config.json says its classes are {name[:40]!r}, "
                           f"but {VOCABULARY_FILE} holds {vocabulary.name[:40]!r}")
        return vocabularies.register(vocabulary)
    if name not in vocabularies.known():
        raise BadInput(f"{directory}: its classes are {name[:40]!r}, not a vocabulary this app knows "
                       f"({', '.join(vocabularies.known())}), and no {VOCABULARY_FILE} beside it says what they are")
    return vocabularies.load(name)


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
