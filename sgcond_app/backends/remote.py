"""A backend on another running instance of this app (a GPU Space, a bigger machine), reached
through its API with `gradio_client` (see `ui/backend_api.py` for what it serves).

Results come back as plain values with their state, so the page that calls keeps the person's
graph, edits and results; the remote keeps nothing. A remote that is down, slow or answers
something else is one clear message (`BackendUnavailable`, a `BadInput`: the page shows it and
keeps what it showed).

The remote serves its backend only when started with `--serve-backend`, and only to callers that
send its token: `SGCOND_BACKEND_TOKEN`, set here to the same secret (or `token=`)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time

import numpy as np

from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from . import wire
from .base import RERUNS, Capabilities, MapReady, Options, Progress, Result

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 20.0
WORK_TIMEOUT_S = 300.0  # a generate, rerun or choose that takes longer is given up


class BackendUnavailable(BadInput):
    """The remote backend cannot be reached or did not answer as this app does."""


class RemoteBackend:
    def __init__(self, url: str, timeout_s: float = WORK_TIMEOUT_S, connect_timeout_s: float = CONNECT_TIMEOUT_S,
                 token: str | None = None):
        if not url.startswith(("http://", "https://")):
            raise BadInput(f"a remote backend is an http(s) address, not {url!r}"[:200])
        self.url = url if url.endswith("/") else url + "/"
        self.token = (os.environ.get(wire.TOKEN_ENV, "") if token is None else token).strip()
        self.timeout_s, self.connect_timeout_s = timeout_s, connect_timeout_s
        self._client = None
        self._caps: Capabilities | None = None
        self._lock = threading.Lock()

    def _unavailable(self, what: str, e: BaseException | None = None) -> BackendUnavailable:
        why = f" ({type(e).__name__}: {str(e)[:120]})" if e is not None else ""
        return BackendUnavailable(f"the remote backend at {self.url} {what}{why}; your graph and edits are kept, "
                                  "try again when it is back")

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                import httpx
                from gradio_client import Client

                try:
                    self._client = Client(self.url, verbose=False, headers={wire.TOKEN_HEADER: self.token},
                                          httpx_kwargs={"timeout": httpx.Timeout(self.connect_timeout_s)})
                except Exception as e:
                    raise self._unavailable("cannot be reached", e) from None
            return self._client

    @property
    def capabilities(self) -> Capabilities:
        if self._caps is None:
            try:
                got = self.client.predict(api_name="/backend_capabilities")
                caps = Capabilities.from_json(got)
                caps.register_vocabularies()  # a model trained on a dataset: its classes, for the page
            except BadInput:
                raise
            except Exception as e:
                raise self._unavailable("did not say what it can do", e) from None
            self._caps = Capabilities(**{**caps.to_json(), "factors": caps.factors, "schedulers": caps.schedulers,
                                         "name": self.url, "device": f"{caps.device} at {self.url}",
                                         "remote": True})
        return self._caps

    def warm_up(self) -> None:
        self.capabilities  # noqa: B018 - reach the remote once: a wrong address is said at start

    # --- the work, streamed ----------------------------------------------------------------------

    def _run(self, api_name: str, args: list, on_step: Progress | None, on_map: MapReady | None) -> Result:
        try:
            job = self.client.submit(*args, api_name=api_name)
        except BadInput:
            raise
        except Exception as e:
            raise self._unavailable("refused the request", e) from None
        deadline = time.monotonic() + self.timeout_s
        seen = 0
        try:
            while True:
                outputs = job.outputs()
                for event in outputs[seen:]:
                    seen += 1
                    result = self._event(event, on_step, on_map)
                    if result is not None:
                        return result
                if job.done():
                    outputs = job.outputs()
                    if len(outputs) > seen:
                        continue
                    self._raise_from(job)
                if time.monotonic() > deadline:
                    raise self._unavailable(f"did not finish within {self.timeout_s:g} s")
                time.sleep(0.02)
        except BaseException:
            job.cancel()  # Stop, a timeout, a bad answer: the remote stops too
            raise

    def _raise_from(self, job) -> None:
        try:
            job.result()
        except Exception as e:
            message = str(e)
            if type(e).__name__ == "AppError":  # the remote's own message: a person's mistake, say
                raise BadInput(message[:500]) from None
            raise self._unavailable("failed", e) from None
        raise self._unavailable("ended without a result")

    def _event(self, event, on_step: Progress | None, on_map: MapReady | None) -> Result | None:
        if not isinstance(event, dict) or "kind" not in event:
            raise self._unavailable("answered something this app does not send")
        kind = event["kind"]
        if kind == "step":
            if on_step is not None:
                on_step(str(event["factor"]), int(event["step"]), int(event["steps"]))
        elif kind == "map":
            if on_map is not None:
                on_map(str(event["name"]), wire.array_from_text(event["array"]))
        elif kind == "done":
            return wire.from_bytes(wire.from_text(event["result"]))
        return None

    def generate(self, graph: SceneGraph, seed: int = 0, options: Options | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        o = "" if options is None else json.dumps(options.to_json())
        return self._run("/backend_generate", [graph.to_json(), str(int(seed)), o], on_step, on_map)

    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              options: Options | None = None, on_step: Progress | None = None,
              on_map: MapReady | None = None, *, depth: np.ndarray | None = None,
              sketch: np.ndarray | None = None) -> Result:
        if what not in RERUNS:
            raise BadInput(f"rerun: what must be one of {', '.join(RERUNS)}, not {what!r}"[:200])
        seg, d, k = ("" if m is None else wire.array_to_text(np.asarray(m)) for m in (segmentation, depth, sketch))
        o = "" if options is None else json.dumps(options.to_json())
        return self._run("/backend_rerun", [wire.to_text(wire.to_bytes(result)), seg, what, o, d, k], on_step, on_map)

    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        return self._run("/backend_choose", [wire.to_text(wire.to_bytes(result)), str(int(index))], on_step, on_map)

    def read(self, picture: np.ndarray, seed: int = 0, options: Options | None = None, inversion: str = "ddpm",
             steps: int = 8, on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        o = "" if options is None else json.dumps(options.to_json())
        args = [wire.array_to_text(_at_most(np.asarray(picture, np.uint8), wire.MAX_MAP_SIDE)), str(int(seed)), o,
                inversion, str(int(steps))]
        return self._run("/backend_read", args, on_step, on_map)

    def invert(self, result: Result, inversion: str = "ddpm", steps: int = 8,
               on_step: Progress | None = None) -> Result:
        args = [wire.to_text(wire.to_bytes(result)), inversion, str(int(steps))]
        return self._run("/backend_invert", args, on_step, None)

    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None, *, concepts=None) -> Result:
        stack = np.stack([np.asarray(x, np.uint8) for x in segmentations]) if len(segmentations) else np.zeros((0,))
        scale_text = ",".join(f"{float(x)!r}" for x in scales)
        words = ",".join(c.text() for c in concepts) if concepts else ""  # parsed again on the other side
        args = [wire.to_text(wire.to_bytes(result)), wire.array_to_text(stack), scale_text, words]
        return self._run("/backend_steer", args, on_step, on_map)


def _at_most(picture: np.ndarray, side: int) -> np.ndarray:
    """A photo larger than any map the remote reads at, made smaller (its shape kept) before it is
    sent: the remote takes pictures of at most `side` pixels a side."""
    h, w = picture.shape[:2]
    if max(h, w) <= side:
        return picture
    from PIL import Image

    scale = side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0))
