"""Backends: what the studio and the CLI call to make pictures (see `base.py` for the boundary).

`get_backend(spec)`: "tiny" (the default) is this repository's chain on this machine; "sd" its
maps with Stable Diffusion 1.5 + ControlNet pictures (`sd/`, a GPU and the Hub's weights); an
http(s) address is another running instance of the app (`remote.py`); several addresses,
comma-separated, are workers behind one (`pool.py`)."""

from __future__ import annotations

from ..errors import BadInput
from .base import RERUNS, Backend, Candidate, Capabilities, MapReady, Options, Progress, Result, report

BACKENDS = ("tiny", "sd")


def get_backend(spec: str | None = None, *, weights=None, device: str = "cpu") -> Backend:
    """The backend a flag or setting names. The models load on first use."""
    name = (spec or "tiny").strip()
    if name == "tiny":
        from .tiny import TinyBackend

        return TinyBackend(weights=weights, device=device)
    if name == "sd":
        from .sd import SDBackend

        # `device` is the tiny chain's ("cpu" unless asked); Stable Diffusion's comes from SGCOND_SD_DEVICE.
        return SDBackend(weights=weights, device=None if device == "cpu" else device)
    if name.startswith(("http://", "https://")):
        from .remote import RemoteBackend

        if "," in name:
            raise BadInput("--backend takes one other instance's address; for several copies of the backend, "
                           "serve it on Ray Serve (app.py --replicas K, --ray-address ADDR)")
        return RemoteBackend(name)
    raise BadInput(f"unknown backend {name!r}; the backends are {', '.join(BACKENDS)}, or the address of "
                   "another running instance (http://HOST:PORT/)"[:300])


__all__ = ["BACKENDS", "RERUNS", "Backend", "Candidate", "Capabilities", "MapReady", "Options", "Progress",
           "Result", "get_backend", "report"]
