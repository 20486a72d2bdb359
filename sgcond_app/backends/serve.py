"""A backend served by Ray Serve: replicas of the tiny (or sd) backend that autoscale, and a handle to
them that the page (one Gradio process: sessions live in it) calls like any backend.

`python app.py --replicas K` starts a local Ray on this machine's cores with K replicas (or MIN-MAX:
they autoscale between the two on the requests in flight); `--ray-address ADDR` (or `RAY_ADDRESS`)
joins a running cluster instead. Plain `python app.py` starts no Ray.

Each call is one streamed request to a replica (`BackendReplica.run`): events as the work goes
("step", factor, i, n), ("map", name, array), and last ("done", result), or ("refused", message)
for a person's mistake, ("failed", what) for an error the replica logged. Values travel as Ray
objects (pickled between this app's own processes: a cluster is trusted, unlike a remote page,
which `backends/remote.py` and `backends/wire.py` check). The page's Stop cancels the request, and
the replica's work stops at its next step. A replica that dies (its process or its machine lost)
before it sent anything is passed over: the request goes to another, once; a request it had begun
fails with one line, and the page keeps the person's graph and edits.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import logging
import os
import threading

import numpy as np

from ..errors import BadInput
from ..graph.scene_graph import SceneGraph
from .base import Capabilities, MapReady, Options, Progress, Result
from .remote import BackendUnavailable

log = logging.getLogger(__name__)

APP_NAME = "sgcond"
DEPLOYMENT = "SGCondBackend"
CALLS = ("generate", "rerun", "choose", "read", "invert", "steer", "redraw", "reconstruct", "familiarity")
# Requests a replica works on at once: the tiny chain runs on the replica's cores (two at a time
# keeps them busy while one waits on Python); the autoscaler aims at this many per replica.
MAX_ONGOING = 2
TARGET_ONGOING = 2
BATCH_WAIT_S = 0.05  # how long a request's pictures wait for others to share their forward pass
CAPABILITIES_TIMEOUT_S = 600.0  # the first replica loads its models (sd: gigabytes) before it answers


class _Caller(BaseException):
    """What a caller's progress callback raised (the page's Stop), carried out of the stream as it is."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class _Cancelled(Exception):
    """The caller went away (the page's Stop): the work stops at its next step."""


@dataclasses.dataclass(frozen=True)
class ServeSettings:
    """How the deployment runs: replicas (min..max; equal: a fixed number), each with these CPUs and
    GPUs (a fraction shares a GPU), the backend it serves and its weights folder."""

    min_replicas: int = 1
    max_replicas: int = 1
    cpus: float = 1.0
    gpus: float = 0.0
    backend: str = "tiny"
    weights: str | None = None
    # The tiny chain's image stage of up to this many requests in one forward pass (`@serve.batch`;
    # 1: each alone). What it gives: `bench serve` (docs/benchmarks.md).
    batch: int = 1

    @classmethod
    def parse(cls, replicas: str, env: dict | None = None, **kw) -> ServeSettings:
        """`replicas`: K or MIN-MAX; env SGCOND_REPLICA_CPUS and SGCOND_REPLICA_GPUS (fractions allowed),
        SGCOND_REPLICA_BATCH (requests whose pictures one forward pass draws)."""
        env = os.environ if env is None else env
        low, _, high = str(replicas).strip().partition("-")
        try:
            lo, hi = int(low), int(high or low)
            cpus = float(env.get("SGCOND_REPLICA_CPUS") or 1)
            gpus = float(env.get("SGCOND_REPLICA_GPUS") or 0)
            batch = int(env.get("SGCOND_REPLICA_BATCH") or 1)
        except ValueError:
            raise BadInput("--replicas is K or MIN-MAX (whole numbers); SGCOND_REPLICA_CPUS and "
                           "SGCOND_REPLICA_GPUS are numbers, SGCOND_REPLICA_BATCH a whole number") from None
        if not 1 <= lo <= hi <= 256:
            raise BadInput("--replicas: from 1 to 256, the minimum not above the maximum")
        if not 0 < cpus <= 256 or not 0 <= gpus <= 64 or not 1 <= batch <= 64:
            raise BadInput("SGCOND_REPLICA_CPUS must be above 0, SGCOND_REPLICA_GPUS 0 or more, "
                           "SGCOND_REPLICA_BATCH from 1 to 64")
        return cls(lo, hi, cpus, gpus, **kw, batch=batch)

    @property
    def ongoing(self) -> int:
        """Requests a replica takes at once: enough to fill a batch."""
        return max(MAX_ONGOING, self.batch)

    def deployment_options(self) -> dict:
        scaling = ({"num_replicas": self.min_replicas} if self.min_replicas == self.max_replicas else
                   {"autoscaling_config": {"min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
                                           "target_ongoing_requests": max(TARGET_ONGOING, self.batch)}})
        return {"name": DEPLOYMENT, "max_ongoing_requests": self.ongoing,
                "ray_actor_options": {"num_cpus": self.cpus, "num_gpus": self.gpus}, **scaling}


def serve_batch(fn):
    """`ray.serve.batch` (its batch size set per replica), imported where the replica is defined."""
    from ray import serve

    return serve.batch(max_batch_size=1, batch_wait_timeout_s=BATCH_WAIT_S)(fn)


class BackendReplica:
    """One replica: a backend loaded once, working on a request at a time per thread. Deployed by
    `deploy` (Ray Serve wraps it)."""

    def __init__(self, backend: str = "tiny", weights: str | None = None, batch: int = 1) -> None:
        from . import get_backend

        self.backend = get_backend(backend, weights=weights)
        self.backend.warm_up()  # a replica takes requests once its models are loaded
        self._loop: asyncio.AbstractEventLoop | None = None
        self.batch, self.batches, self.cancelled = batch, {}, 0
        chain = getattr(self.backend, "chain", None) if batch > 1 else None
        if chain is not None:  # the tiny chain: its image stage batched across requests
            self._image_batch.set_max_batch_size(batch)
            chain.image_sampler = self._image_of_one

    def capabilities(self) -> Capabilities:
        return self.backend.capabilities

    def _image_of_one(self, model, seg, disp, edges, seeds, steps, guidance, scheduler, on_step=None):
        """`stages.image` for one request, called in its work thread: handed to the replica's event loop,
        where `_image_batch` gathers it with others'. -> its pictures."""
        job = (model, seg, disp, edges, list(seeds), int(steps), float(guidance), scheduler, on_step)
        out = asyncio.run_coroutine_threadsafe(self._image_batch(job), self._loop).result()
        if isinstance(out, BaseException):
            raise out
        return out

    @serve_batch
    async def _image_batch(self, jobs: list) -> list:
        self.batches[len(jobs)] = self.batches.get(len(jobs), 0) + 1
        from ..fgdm.stages import images_of_requests

        return await asyncio.get_running_loop().run_in_executor(None, images_of_requests, jobs)

    def stats(self) -> dict:
        """What this replica did: which replica it is, how many image batches of each size it drew
        ({size: count}), and how many requests it stopped because their caller cancelled them."""
        from ray import serve

        return {"replica": str(serve.get_replica_context().replica_id), "image_batches": dict(self.batches),
                "cancelled": self.cancelled}

    async def run(self, method: str, args: tuple, kwargs: dict):
        """The backend's `method` on `args`, streamed as events (see the module's docstring)."""
        if method not in CALLS:
            yield ("refused", f"no backend call {str(method)[:40]!r}")
            return
        loop = self._loop = asyncio.get_running_loop()
        events: asyncio.Queue = asyncio.Queue()
        cancelled = threading.Event()

        def push(event) -> None:
            loop.call_soon_threadsafe(events.put_nowait, event)

        def on_step(factor: str, i: int, n: int) -> None:
            if cancelled.is_set():
                raise _Cancelled()
            push(("step", factor, i, n))

        fn = getattr(self.backend, method, None)
        if fn is None:
            yield ("refused", f"the {self.backend.capabilities.name} backend has no {method}")
            return
        accepts = inspect.signature(fn).parameters
        callbacks = {k: v for k, v in (("on_step", on_step), ("on_map", lambda name, a: push(("map", name, a))))
                     if k in accepts}

        def work():
            try:
                push(("done", fn(*args, **kwargs, **callbacks)))
            except _Cancelled:
                self.cancelled += 1
                push(("cancelled",))
            except BadInput as e:
                push(("refused", str(e)))
            except Exception as e:  # noqa: BLE001 - logged here with its context; the caller is told its kind
                log.exception("replica: %s failed", method)
                push(("failed", f"{type(e).__name__} in the replica's {method}"))

        loop.run_in_executor(None, work)
        try:
            while True:
                event = await events.get()
                if event[0] == "cancelled":
                    return
                yield event
                if event[0] in ("done", "refused", "failed"):
                    return
        except (asyncio.CancelledError, GeneratorExit):
            cancelled.set()  # the work thread stops at its next step
            raise


def deploy(settings: ServeSettings, address: str | None = None):
    """Start (or join) Ray and Ray Serve, run the deployment, -> a `ServeBackend` holding its handle.
    A local Ray gets this machine's cores; `address` (or RAY_ADDRESS) joins a running cluster. Serve's
    HTTP proxy is not started: the page calls in through the handle."""
    import ray
    from ray import serve

    if not ray.is_initialized():
        address = address or os.environ.get("RAY_ADDRESS") or None
        ray.init(address=address, num_cpus=None if address else os.cpu_count(), include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
    serve.start(proxy_location="Disabled")
    deployment = serve.deployment(BackendReplica).options(**settings.deployment_options())
    handle = serve.run(deployment.bind(settings.backend, settings.weights, settings.batch), name=APP_NAME,
                       route_prefix=None)
    return ServeBackend(handle, settings)


def shutdown() -> None:
    """Take the deployment down (and the local Ray this process started)."""
    import ray
    from ray import serve

    if ray.is_initialized():
        try:
            serve.delete(APP_NAME)
        except Exception:  # noqa: BLE001 - going down anyway
            log.debug("serve.delete failed", exc_info=True)
        serve.shutdown()
        ray.shutdown()


def _lost(e: BaseException) -> bool:
    """Whether an error means the replica (its process or its machine) went away."""
    from ray import exceptions as rx
    from ray.serve import exceptions as sx

    return isinstance(e, (rx.ActorDiedError, rx.ActorUnavailableError, rx.NodeDiedError, rx.WorkerCrashedError,
                          rx.ObjectLostError, rx.OwnerDiedError, sx.DeploymentUnavailableError))


class ServeBackend:
    """The Backend protocol on a Ray Serve deployment of `BackendReplica`s."""

    def __init__(self, handle, settings: ServeSettings | None = None) -> None:
        self._handle, self.settings = handle, settings or ServeSettings()
        self._caps: Capabilities | None = None
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        with self._lock:
            if self._caps is None:
                try:
                    caps = self._handle.capabilities.remote().result(timeout_s=CAPABILITIES_TIMEOUT_S)
                except Exception as e:
                    raise BackendUnavailable(f"the Ray Serve deployment did not say what it can do "
                                             f"({type(e).__name__}: {str(e)[:160]})") from None
                caps.register_vocabularies()
                s = self.settings
                replicas = (f"{s.min_replicas}" if s.min_replicas == s.max_replicas
                            else f"{s.min_replicas}-{s.max_replicas}")
                self._caps = dataclasses.replace(caps, device=f"{caps.device}, {replicas} replica(s) on Ray Serve")
        return self._caps

    def warm_up(self) -> None:
        self.capabilities  # noqa: B018 - the replicas load their models before they answer

    def _run(self, method: str, *args, on_step: Progress | None = None, on_map: MapReady | None = None,
             **kwargs):
        for attempt in (0, 1):
            stream = self._handle.options(stream=True).run.remote(method, args, kwargs)
            begun = False
            try:
                for event in stream:
                    begun = True
                    kind = event[0]
                    if kind in ("step", "map"):
                        try:
                            if kind == "step" and on_step is not None:
                                on_step(*event[1:])
                            elif kind == "map" and on_map is not None:
                                on_map(event[1], event[2])
                        except BaseException as e:  # the caller's own (the page's Stop): the replica stops too
                            raise _Caller(e) from None
                    elif kind == "done":
                        return event[1]
                    elif kind == "refused":
                        raise BadInput(event[1])
                    else:
                        raise BackendUnavailable(f"the Ray Serve replica failed ({event[1]}; its log has it); "
                                                 "your graph and edits are kept")
                raise BackendUnavailable("the Ray Serve replica ended without a result; your graph and edits are kept")
            except _Caller as c:
                stream.cancel()  # the page's Stop: the replica stops at its next step
                raise c.error from None
            except BadInput:
                raise
            except Exception as e:
                if _lost(e) and not begun and attempt == 0:
                    log.warning("a replica was lost before it began %s: another takes it", method)
                    continue
                if _lost(e):
                    raise BackendUnavailable("the Ray Serve replica doing this was lost (its process or its "
                                             "machine went away); your graph and edits are kept: try again") from None
                log.exception("Ray Serve: %s", method)
                raise BackendUnavailable(f"the Ray Serve deployment failed ({type(e).__name__}); your graph and "
                                         "edits are kept: try again") from None
            except BaseException:
                stream.cancel()  # the page's Stop: the replica stops at its next step
                raise
        raise AssertionError("unreachable")

    def generate(self, graph: SceneGraph, seed: int = 0, options: Options | None = None,
                 on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        return self._run("generate", graph, seed, options, on_step=on_step, on_map=on_map)

    def rerun(self, result: Result, segmentation: np.ndarray | None = None, what: str = "depth",
              options: Options | None = None, on_step: Progress | None = None,
              on_map: MapReady | None = None, *, depth: np.ndarray | None = None,
              sketch: np.ndarray | None = None) -> Result:
        edited = {k: v for k, v in (("depth", depth), ("sketch", sketch)) if v is not None}
        return self._run("rerun", result, segmentation, what, options, on_step=on_step, on_map=on_map, **edited)

    def choose(self, result: Result, index: int, on_step: Progress | None = None,
               on_map: MapReady | None = None) -> Result:
        return self._run("choose", result, index, on_step=on_step, on_map=on_map)

    def read(self, picture: np.ndarray, seed: int = 0, options: Options | None = None, inversion: str = "ddpm",
             steps: int = 8, on_step: Progress | None = None, on_map: MapReady | None = None) -> Result:
        return self._run("read", np.asarray(picture), seed, options, inversion, steps, on_step=on_step,
                         on_map=on_map)

    def invert(self, result: Result, inversion: str = "ddpm", steps: int = 8,
               on_step: Progress | None = None) -> Result:
        return self._run("invert", result, inversion, steps, on_step=on_step)

    def steer(self, result: Result, segmentations: list[np.ndarray], scales: list[float],
              on_step: Progress | None = None, on_map: MapReady | None = None, *, concepts=None) -> Result:
        kw = {"concepts": concepts} if concepts is not None else {}
        return self._run("steer", result, [np.asarray(x) for x in segmentations], list(scales), on_step=on_step,
                         on_map=on_map, **kw)

    def redraw(self, graph: SceneGraph, segmentation: np.ndarray, region: np.ndarray, seed: int = 0) -> np.ndarray:
        return self._run("redraw", graph, np.asarray(segmentation), np.asarray(region, bool), seed)

    def reconstruct(self, result: Result, on_step: Progress | None = None) -> np.ndarray:
        return self._run("reconstruct", result, on_step=on_step)

    def familiarity(self, picture: np.ndarray) -> dict | None:
        return self._run("familiarity", np.asarray(picture))
