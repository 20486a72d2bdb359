"""The benches' registry: one entry per bench, the command line's choices and help taken from it,
and `run` dispatching through it."""

from __future__ import annotations

import argparse

import pytest

from sgcond_app import bench
from sgcond_app.bench import world
from sgcond_app.cli import build_parser, main
from sgcond_app.errors import BadInput

# The names docs/benchmarks.md gives commands for, and the ones the command line had before the registry.
KNOWN = ["render", "judge", "placement", "retrieval", "layout", "segmenter", "load", "factors", "compliance",
         "colours", "sbpc", "fidelity", "diversity", "latency", "throughput", "remote", "serve", "clients", "edit",
         "studio", "memory", "words", "quality", "downstream", "pictures", "sd", "attack", "outside", "gpu",
         "sentences"]


def _bench_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["bench"]


def test_the_command_line_offers_exactly_the_registered_benches():
    what = next(a for a in _bench_parser()._actions if a.dest == "what")
    assert list(what.choices) == list(bench.REGISTRY) == KNOWN


def test_every_bench_has_one_line_of_help_and_the_command_line_shows_it():
    text = _bench_parser().format_help()
    flat = " ".join(text.split())
    for name, entry in bench.REGISTRY.items():
        assert entry.name == name and callable(entry.run)
        assert entry.help.strip() and "\n" not in entry.help, name
        assert f"{name} {' '.join(entry.help.split())}" in flat, name


def test_a_bench_is_registered_once():
    with pytest.raises(ValueError, match="registered twice"):
        bench.bench("render", "another renderer bench")(lambda o: {})
    with pytest.raises(ValueError, match="one line"):
        bench.bench("new", "")
    assert "new" not in bench.REGISTRY


def test_run_refuses_an_unknown_bench_by_name():
    with pytest.raises(BadInput, match=r"no bench is called 'speed'.*render, judge"):
        bench.run("speed")


def test_the_command_line_refuses_an_unknown_bench(capsys):
    assert main(["bench", "speed"]) == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'speed'" in err and err.count("\n") == 1


def test_run_dispatches_with_the_command_lines_defaults(monkeypatch):
    seen = {}
    monkeypatch.setitem(bench.REGISTRY, "probe", bench.Bench("probe", "a probe", lambda o: seen.setdefault("o", o)))
    bench.run("probe", n=3)
    assert seen["o"] == bench.Options(n=3, size=64, graphs=None, weights=None, samples=8, any_class=False)


def test_run_judge_through_the_registry(capsys):
    """A cheap bench end to end, through the command line: the figures it printed before the registry."""
    assert main(["bench", "judge", "--n", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["object_recall", "relation_accuracy", "reference_agreement",
                                                     "relations", "n", "size"]
    assert "reference_agreement: 1.0000" in lines


def test_the_judge_bench_needs_the_oracle_of_a_source_checkout(tmp_path):
    with pytest.raises(BadInput, match="source checkout"):
        world.reference_oracle(tmp_path / "tests" / "oracles" / "judge_reference.py")
    assert world.reference_oracle().__name__ == "reference_relations"


def test_default_graphs_stay_importable_from_the_package():
    assert bench.DEFAULT_GRAPHS.name == "people.json" and bench.DEFAULT_GRAPHS.is_file()
    assert all(p.is_file() for p in world.WORD_LISTS)
