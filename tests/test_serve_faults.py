"""A machine of the cluster lost under load (`ray.cluster_utils.Cluster`: simulated nodes on this
machine): every request completes or fails with one clear message, the rest go on, and the page's
session is untouched. Its own module: it runs its own Ray, the cluster's."""

from __future__ import annotations

import threading
import time

import pytest

from sgcond_app.backends import Options
from sgcond_app.backends.remote import BackendUnavailable
from sgcond_app.backends.serve import ServeSettings
from sgcond_app.graph.parse import parse_text

QUICK = Options(samples=1, steps={"segmentation": 2, "depth": 2, "sketch": 2, "image": 4}, picture_draws=1)
AFTER_LOSS = 8  # requests done after the machine was lost before the users stop


@pytest.fixture(scope="module")
def cluster():
    import ray
    from ray.cluster_utils import Cluster

    from sgcond_app.backends import serve

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})  # the head runs no replica
    nodes = [c.add_node(num_cpus=1) for _ in range(2)]
    ray.init(address=c.address, log_to_driver=False, configure_logging=False)
    try:
        yield c, nodes, serve.deploy(ServeSettings(2, 2, cpus=1))
    finally:
        serve.shutdown()
        c.shutdown()


def _until(condition, seconds: float) -> None:
    """Wait until condition() holds, at most `seconds` (the assertions after it say what failed)."""
    end = time.monotonic() + seconds
    while not condition() and time.monotonic() < end:
        time.sleep(0.2)


def _replica_nodes() -> dict[str, str]:
    from ray.util.state import list_actors

    return {a.name: a.node_id for a in list_actors(filters=[("state", "=", "ALIVE")])
            if a.name and "SGCondBackend" in a.name}


def test_a_machine_lost_under_load(cluster):
    from sgcond_app.ui.generate_room import generate
    from sgcond_app.ui.state import Studio

    c, nodes, backend = cluster
    g = parse_text("sky above grass; dog on grass")
    session = list(generate(Studio(backend), "sky above grass; dog on grass", 3, 1, None))[-1][7]
    kept = (session.mapped.source, session.result.seed, session.current.copy())
    on = set(_replica_nodes().values())
    assert len(on) == 2, "one replica on each node"
    outcomes: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def user(k: int) -> None:
        j = 0
        while not stop.is_set():
            try:
                r = backend.generate(g, seed=100 * k + j, options=QUICK)
                outcome = "done" if r.seed == 100 * k + j else "wrong"
            except BackendUnavailable as e:
                outcome = "clear" if "graph and edits are kept" in str(e) else f"unclear: {e}"
            except Exception as e:  # noqa: BLE001 - recorded: the test fails on it
                outcome = f"raw {type(e).__name__}: {e}"
            with lock:
                outcomes.append(outcome)
            j += 1

    def answered(since: int = 0) -> list[str]:
        with lock:
            return outcomes[since:]

    users = [threading.Thread(target=user, args=(k,)) for k in range(4)]
    for t in users:
        t.start()
    _until(lambda: len(answered()) >= 4, 120)  # under load: answers coming back, the next requests in flight
    lost = next(n for n in nodes if n.node_id in on)
    c.remove_node(lost)
    at_loss = len(answered())
    # Served on after the loss: AFTER_LOSS requests done since, the last four of them in a row.
    _until(lambda: answered(at_loss).count("done") >= AFTER_LOSS and answered()[-4:] == ["done"] * 4, 120)
    stop.set()
    for t in users:
        t.join(300)
    print("outcomes:", {o: outcomes.count(o) for o in set(outcomes)})
    assert set(_replica_nodes().values()) == on - {lost.node_id}  # its replica went with it
    assert outcomes and all(o in ("done", "clear") for o in outcomes), [o for o in outcomes if o != "done"][:3]
    assert outcomes[at_loss:].count("done") >= AFTER_LOSS  # work goes on after the loss
    assert outcomes[-4:].count("done") >= 1
    r = backend.generate(g, seed=9, options=QUICK)  # the replica left serves on
    assert r.seed == 9
    assert (session.mapped.source, session.result.seed) == kept[:2] and (session.current == kept[2]).all()
