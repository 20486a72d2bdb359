"""Several backends (workers) behind one: for people who outgrow one machine or one process.

Each request goes to the worker with the fewest requests in flight (ties: the next in turn).
Results carry their state, so a rerun or a choice may go to any worker. A worker that cannot be
reached before it has sent anything is skipped for that request and the next one is tried; the
request fails only when every worker is down."""

from __future__ import annotations

import threading

import numpy as np

from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from .base import Capabilities, MapReady, Options, Progress, Result
from .remote import BackendUnavailable


class PooledBackend:
    def __init__(self, workers: list) -> None:
        if not workers:
            raise BadInput("a pool needs at least one worker")
        self.workers = list(workers)
        self._busy = [0] * len(self.workers)
        self._turn = 0
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        caps = self._each(lambda w: w.capabilities)
        return Capabilities(**{**caps.to_json(), "factors": caps.factors, "schedulers": caps.schedulers,
                               "name": f"{len(self.workers)} workers", "device": caps.device})

    def warm_up(self) -> None:
        errors = []
        for w in self.workers:  # each worker: the first request is then not the slow one anywhere
            try:
                w.warm_up()
            except BadInput as e:
                errors.append(str(e))
        if len(errors) == len(self.workers):
            raise BackendUnavailable(errors[0])

    def in_flight(self) -> list[int]:
        with self._lock:
            return list(self._busy)

    def _order(self) -> list[int]:
        with self._lock:
            n = len(self.workers)
            start = self._turn
            self._turn = (self._turn + 1) % n
            return sorted(range(n), key=lambda k: (self._busy[k], (k - start) % n))

    def _each(self, call, started: list | None = None):
        """call(worker) on the least busy worker; on to the next while a worker is unavailable and
        has sent nothing of this request (`started`, set by the callbacks)."""
        last = None
        for k in self._order():
            with self._lock:
                self._busy[k] += 1
            try:
                return call(self.workers[k])
            except BackendUnavailable as e:
                if started:
                    raise
                last = e
            finally:
                with self._lock:
                    self._busy[k] -= 1
        raise last if last is not None else BackendUnavailable("no worker answered")

    def _work(self, call, on_step: Progress | None, on_map: MapReady | None) -> Result:
        started: list = []

        def step(factor, i, n):
            started.append(1)
            if on_step is not None:
                on_step(factor, i, n)

        def ready(name, array):
            started.append(1)
            if on_map is not None:
                on_map(name, array)

        return self._each(lambda w: call(w, step, ready), started)

    def generate(self, graph: SceneGraph, seed: int = 0, options: Options | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        return self._work(lambda w, s, m: w.generate(graph, seed, options, s, m), on_step, on_map)

    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              options: Options | None = None, on_step: Progress | None = None,
              on_map: MapReady | None = None) -> Result:
        return self._work(lambda w, s, m: w.rerun(result, segmentation, what, options, s, m), on_step, on_map)

    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        return self._work(lambda w, s, m: w.choose(result, index, s, m), on_step, on_map)

    def read(self, picture: np.ndarray, seed: int = 0, options: Options | None = None, inversion: str = "ddpm",
             steps: int = 8, on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        return self._work(lambda w, s, m: w.read(picture, seed, options, inversion, steps, s, m), on_step, on_map)

    def invert(self, result: Result, inversion: str = "ddpm", steps: int = 8,
               on_step: Progress | None = None) -> Result:
        return self._work(lambda w, s, m: w.invert(result, inversion, steps, s), on_step, None)

    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None, *, concepts=None) -> Result:
        return self._work(lambda w, s, m: w.steer(result, segmentations, scales, s, m, concepts=concepts), on_step,
                          on_map)
