"""The backend on Ray Serve (`backends/serve.py`): one small local Ray for the module, two replicas of
the tiny backend behind a handle that the page calls like any backend; and `app.py --replicas`."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from sgcond_app.backends import Options
from sgcond_app.backends.remote import BackendUnavailable
from sgcond_app.backends.serve import ServeSettings
from sgcond_app.errors import BadInput
from sgcond_app.graph.parse import parse_text

# Pictures of 2 steps are drawn once: a redraw (`picture_draws`) would be another image stage to count.
# One round of maps and one picture draw: the requests of a batch test reach the image stage together.
QUICK = Options(samples=2, steps={"segmentation": 2, "depth": 2, "sketch": 2, "image": 2}, picture_draws=1,
                map_draws=1)


def _at_once(backend, labels: list[str], first_seed: int) -> dict[int, object]:
    """A person per label generating "LABEL on grass" at the same time, person k with seed
    first_seed + k -> their results by k."""
    out: dict[int, object] = {}

    def one(k: int) -> None:
        out[k] = backend.generate(parse_text(f"sky above grass; {labels[k]} on grass"), seed=first_seed + k,
                                  options=QUICK)

    threads = [threading.Thread(target=one, args=(k,)) for k in range(len(labels))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return out


@pytest.fixture(scope="module")
def served():
    import ray

    from sgcond_app.backends import serve

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield serve.deploy(ServeSettings(2, 2))
    finally:
        serve.shutdown()


def test_a_page_on_replicas(tmp_path):
    """`app.py --replicas 1`: the page starts a local Ray and Serve, the work is done by the replica
    (the page process never loads the models), and the page keeps the person's session."""
    from pathlib import Path

    from gradio_client import Client

    from tests.test_remote import start_app

    proc, url = start_app(tmp_path, "--replicas", "1", env={"SGCOND_WARM_UP": "1"})
    try:
        client = Client(url, verbose=False, download_files=str(tmp_path / "downloads"))
        *_, report, _ = client.predict("sky above grass; dog on grass", 3, 2, api_name="/generate")
        assert report["backend"] == "tiny" and report["seed"] == 3 and "dog" in report["graph"]["objects"]
        *_, again, _ = client.predict("image", api_name="/rerun")  # the session's result, kept by the page
        assert again["seed"] == 3 and again["graph"] == report["graph"]
        assert "libtorch" not in Path(f"/proc/{proc.pid}/maps").read_text()  # the page process loaded no model
    finally:
        proc.terminate()
        proc.wait(60)


def test_settings_from_flags_and_environment():
    s = ServeSettings.parse("2-6", {"SGCOND_REPLICA_CPUS": "2", "SGCOND_REPLICA_GPUS": "0.25"}, backend="sd")
    assert (s.min_replicas, s.max_replicas, s.cpus, s.gpus, s.backend) == (2, 6, 2.0, 0.25, "sd")
    o = s.deployment_options()
    assert o["autoscaling_config"]["min_replicas"] == 2 and o["autoscaling_config"]["max_replicas"] == 6
    assert o["ray_actor_options"] == {"num_cpus": 2.0, "num_gpus": 0.25}
    assert ServeSettings.parse("3", {}).deployment_options()["num_replicas"] == 3
    for bad in ("0", "3-2", "x", "1-999"):
        with pytest.raises(BadInput, match="--replicas"):
            ServeSettings.parse(bad, {})
    with pytest.raises(BadInput, match="SGCOND_REPLICA"):
        ServeSettings.parse("1", {"SGCOND_REPLICA_GPUS": "lots"})


def test_the_work_is_done_by_the_replicas_and_streamed_back(served):
    from sgcond_app.backends.tiny import TinyBackend

    caps = served.capabilities
    assert caps.name == "tiny" and "2 replica(s) on Ray Serve" in caps.device
    steps, maps = [], []
    g = parse_text("sky above grass; dog on grass")
    r = served.generate(g, seed=5, options=QUICK, on_step=lambda f, i, n: steps.append(f),
                        on_map=lambda name, a: maps.append(name))
    assert r.seed == 5 and r.backend == "tiny" and r.image.shape == (128, 128, 3)
    assert set(steps) == {"segmentation", "depth", "sketch", "image"}
    assert maps[:3] == ["segmentation", "depth", "sketch"]
    here = TinyBackend().generate(g, seed=5, options=QUICK)
    assert [c.seed for c in r.candidates] == [c.seed for c in here.candidates]
    assert (r.segmentation == here.segmentation).mean() > 0.95  # the same models and noise, other threads
    edited = r.segmentation.copy()
    edited[:6] = 0
    again = served.rerun(r, edited, "sketch")
    assert np.array_equal(again.segmentation, edited) and np.array_equal(again.state["depth32"], r.state["depth32"])
    assert served.choose(r, 1).chosen == 1
    with pytest.raises(BadInput, match="no factor 'paint'"):  # a person's mistake comes back as it is
        served.generate(g, options=Options(steps={"paint": 3}))


def test_concurrent_people_get_their_own_answers(served):
    labels = ["dog", "car", "horse", "tree"]
    out = _at_once(served, labels, 100)
    assert sorted(out) == [0, 1, 2, 3]
    for k, r in out.items():
        assert r.seed == 100 + k and labels[k] in r.graph.labels


def test_stop_cancels_the_replicas_work(served):
    class Stopped(Exception):
        pass

    def stop(factor, i, n):
        raise Stopped()

    def cancelled() -> int:
        """Requests the replicas stopped for their callers, over both replicas (a call reaches either)."""
        seen = {}
        for _ in range(40):
            s = served._handle.stats.remote().result()
            seen[s["replica"]] = s["cancelled"]
            if len(seen) == 2:
                break
        return sum(seen.values())

    before = cancelled()
    with pytest.raises(Stopped):
        served.generate(parse_text("sky above grass; dog on grass"), options=Options(samples=8), on_step=stop)
    deadline = time.monotonic() + 60
    while cancelled() == before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert cancelled() == before + 1  # the replica's work stopped, not just the caller's listening
    r = served.generate(parse_text("sky above grass; car on road"), options=QUICK)  # the replicas serve on
    assert r.seed == 0


def test_a_dead_replica_is_passed_over(served):
    import ray

    names = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True) if "SGCondBackend" in a["name"]]
    assert len(names) == 2
    ray.kill(ray.get_actor(names[0], namespace="serve"), no_restart=True)
    results = [served.generate(parse_text("sky above grass; dog on grass"), seed=k, options=QUICK) for k in range(4)]
    assert [r.seed for r in results] == [0, 1, 2, 3]


def test_a_lost_replica_is_one_clear_message():
    from sgcond_app.backends.serve import ServeBackend

    class Lost:
        """A handle whose replica died after it had begun (an ActorDiedError mid-stream)."""

        def options(self, **kw):
            return self

        @property
        def run(self):
            return self

        def remote(self, *args):
            from ray.exceptions import ActorDiedError

            class Stream:
                def __iter__(self):
                    yield ("step", "segmentation", 1, 4)
                    raise ActorDiedError()

                def cancel(self):
                    pass

            return Stream()

    with pytest.raises(BackendUnavailable, match="was lost .* your graph and edits are kept"):
        ServeBackend(Lost()).generate(parse_text("dog on grass"), on_step=lambda *a: None)


def test_the_image_stage_of_several_requests_in_one_batch(served):
    """One replica drawing the pictures of up to 4 requests in one forward pass (`@serve.batch`):
    each request still gets its own picture, the one its seed gives alone."""
    import ray

    from sgcond_app.backends import serve
    from sgcond_app.backends.tiny import TinyBackend

    batched = serve.deploy(ServeSettings(1, 1, cpus=2, batch=4))
    labels = ["dog", "car", "horse"]
    out = _at_once(batched, labels, 7)
    here = TinyBackend()
    for k, r in sorted(out.items()):
        alone = here.generate(parse_text(f"sky above grass; {labels[k]} on grass"), seed=7 + k, options=QUICK)
        assert r.seed == 7 + k and labels[k] in r.graph.labels
        if np.array_equal(r.segmentation, alone.segmentation):
            assert np.abs(r.image.astype(int) - alone.image.astype(int)).mean() < 4  # float sums in other orders
    assert len(out) == 3 and ray.is_initialized()
    sizes = batched._handle.stats.remote().result()["image_batches"]
    assert sum(size * n for size, n in sizes.items()) == 3 and max(sizes) >= 2, sizes
