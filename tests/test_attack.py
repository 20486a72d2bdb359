"""The API as an attacker meets it (`bench attack`, `sgcond_app/bench/attack.py`): one instance of
`python app.py --serve-backend`, called over plain HTTP as any client may call it.

First each case an outside probe found, by name: each must be refused in one clear line. Then
FUZZ_CASES calls drawn by hypothesis over every endpoint the app lists: no internal error, no
message that is missing or not one line, no answer cut off, none hung. Over all of it the server's
resident memory stays within MAX_ABOVE_WARM_MB of its level after a warm-up of real work.
"""

from __future__ import annotations

import pytest

from sgcond_app.bench.attack import Attack, Material, Tally, named_cases

# 600 calls: each of the 22 endpoints fuzzed 8 times at least (hypothesis seed 0; 400 left one with 1), and
# with the named cases more sessions than the app keeps (SGCOND_SESSIONS, 300).
FUZZ_CASES = 600
MAX_ABOVE_WARM_MB = 300.0
NAMES = [name for name, *_ in named_cases(Material())]


@pytest.fixture(scope="module")
def attack(tmp_path_factory):
    a = Attack(tmp_path_factory.mktemp("attack")).start()
    try:
        yield a
    finally:
        a.stop()


@pytest.fixture(scope="module")
def tally() -> Tally:
    return Tally()


@pytest.fixture(scope="module")
def named(attack: Attack, tally: Tally) -> dict:
    return attack.named(tally)


@pytest.mark.parametrize("name", NAMES)
def test_each_case_found_from_outside_is_refused_in_one_clear_line(named: dict, name: str) -> None:
    outcome = named[name]
    assert outcome.kind == "refused", f"{name}: {outcome.kind}: {outcome.message}"
    assert not outcome.message.startswith("HTTP 5")


def test_bombs_are_refused_by_what_they_declare(named: dict) -> None:
    """An .npz of 1 MB that unpacks to 1 GiB is refused from its member's header, at once."""
    for name in NAMES:
        if name.startswith("npz bomb to"):
            assert "larger than this app writes" in named[name].message and named[name].seconds < 5
    assert "needs its token" in named["npz bomb without the token"].message
    assert "not fetched" in named["a URL as a picture"].message


def test_fuzzed_calls_over_every_endpoint_are_answered_or_refused_clearly(attack: Attack, tally: Tally,
                                                                           named: dict) -> None:
    before = sum(tally.counts.values())
    named_calls = {api: sum(kinds.values()) for api, kinds in tally.by_endpoint.items()}
    attack.fuzz(FUZZ_CASES, tally)
    assert sum(tally.counts.values()) - before == FUZZ_CASES
    fuzzed = {api for api, kinds in tally.by_endpoint.items() if sum(kinds.values()) > named_calls.get(api, 0)}
    assert fuzzed == set(attack.caller.endpoints()) and len(fuzzed) == 22  # every endpoint was fuzzed
    bad = {k: tally.counts.get(k, 0) for k in ("internal", "generic", "cutoff", "hung")}
    assert bad == dict.fromkeys(bad, 0), tally.bad


def test_the_server_never_held_300_mb_more_than_when_warm(attack: Attack, tally: Tally, named: dict) -> None:
    assert sum(tally.counts.values()) >= len(NAMES)
    assert tally.rss_peak_mb - attack.warm_rss_mb <= MAX_ABOVE_WARM_MB, (attack.warm_rss_mb, tally.rss_peak_mb)
    log = attack.app.log.read_text()
    assert " ERROR " not in log and "Traceback" not in log, log[-3000:]  # nothing failed inside, nothing was dumped
