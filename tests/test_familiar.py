"""Pictures the tiny backend cannot read are said to be so (`reading/familiar.py`): a render given as
`read` sees one is familiar; a real photo (scikit-image's sample data), noise, a flat colour, a page
of text or a line drawing is not, and `read` says so in its line, its report, across the wire and
in the page, or refuses it with --strict.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgcond_app.backends import wire
from sgcond_app.bench.outside import non_photos, photos
from sgcond_app.cli import main
from sgcond_app.models.shipped import SEGMENTER_DIR, shipped_segmenter
from sgcond_app.reading import familiar
from tests.test_bad_input import refused


@pytest.fixture(scope="module")
def fit() -> familiar.Familiarity:
    f = familiar.Familiarity.load(SEGMENTER_DIR)
    assert f is not None, "the shipped segmenter has no familiarity fit"
    return f


def _scores(fit, pictures) -> np.ndarray:
    return fit.score_pictures(shipped_segmenter(), pictures)


def test_held_out_renders_as_read_sees_them_are_familiar(fit):
    pictures = familiar.render_pictures(24, 1_000_123_000)  # as they are, as 64 px and as 256 px JPEGs
    scores = fit.scores(familiar.features(shipped_segmenter(), pictures))
    assert (scores <= fit.threshold).mean() >= 22 / 24, scores


def test_real_photos_and_pictures_that_are_no_photo_are_not(fit):
    every = photos()
    faces = [p for name, p in every if name.startswith("lfw")]
    real = [p for name, p in every if not name.startswith("lfw")] + faces[:10]
    fake = [p for _, p in non_photos()]
    assert (_scores(fit, real) > fit.threshold).mean() >= 0.95
    assert (_scores(fit, fake) > fit.threshold).mean() >= 0.95


def test_a_fit_takes_its_threshold_from_the_calibration_quantile():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    f = familiar.fit(x, alpha=0.0, quantile=0.9)
    assert abs((f.scores(x) > f.threshold).mean() - 0.1) < 0.01
    assert f.scores(x.mean(0, keepdims=True))[0] < 1e-6
    assert f.scores(x[:1] + 100)[0] > f.threshold
    assert familiar.auroc(np.zeros(3), np.ones(2)) == 1.0 and familiar.auroc(np.ones(2), np.ones(2)) == 0.5


def test_read_of_a_photo_warns_and_strict_refuses_it(capsys, tmp_path):
    import skimage.data

    photo = tmp_path / "coffee.jpg"
    Image.fromarray(skimage.data.coffee()).save(photo, quality=90)
    line = refused(capsys, "read", photo, "--out", tmp_path / "strict", "--strict")
    assert "unlike any the reading model was trained on" in line and not (tmp_path / "strict").exists()
    assert main(["read", str(photo), "--out", str(tmp_path / "r"), "--steps", "2"]) == 0
    out, err = capsys.readouterr()
    assert "familiarity" in out and "not to be trusted" in err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["familiarity"]["familiar"] is False and report["familiarity"]["score"] > report["familiarity"][
        "threshold"]


def test_a_render_is_read_as_familiar_and_strict_lets_it_through(capsys, tmp_path):
    from sgcond_app.world.sample import render_sample

    path = tmp_path / "render.jpg"
    Image.fromarray(render_sample(1_000_000_777, 256).image).save(path, quality=85)
    assert main(["read", str(path), "--out", str(tmp_path / "r"), "--steps", "2", "--strict"]) == 0
    out, err = capsys.readouterr()
    assert "familiarity" in out and "not to be trusted" not in err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["familiarity"]["familiar"] is True
    # Each object of the derived graph carries how sure the segmenter was of it: sure, on its own world.
    assert len(report["object_confidence"]) == len(report["graph"]["objects"])
    assert min(report["object_confidence"]) > 0.8 and "least sure of" in out


def test_the_verdict_crosses_the_wire_and_the_page_draws_no_edge_as_holding(tmp_path):
    import dataclasses

    import skimage.data

    from sgcond_app.backends import get_backend
    from sgcond_app.editing.session import Session
    from sgcond_app.graph.mapping import map_graph
    from sgcond_app.ui.graph_room import graph_views
    from sgcond_app.ui.result_views import relations
    from sgcond_app.ui.state import Studio

    backend = get_backend("tiny")
    r = backend.read(skimage.data.astronaut(), 0, None, "ddpm", 2)
    assert r.familiarity["familiar"] is False and not r.trusted
    back = wire.from_bytes(wire.to_bytes(r))
    assert back.familiarity == r.familiarity
    assert backend.rerun(back, None, "image").familiarity == r.familiarity  # an edit of it carries it on
    session = Session(map_graph(r.graph), r)
    canvas = json.loads(graph_views(Studio(backend), r.graph, None, session)[0])
    assert canvas["relationships"] and all(s is None for s in canvas["edge_status"])
    assert all("not to be trusted" in row[3] for row in relations(session))
    assert len(back.confidence) == len(r.graph.objects) and np.mean(r.confidence) < 0.9
    assert all("confidence" in o["note"] for o in canvas["objects"])
    trusted = dataclasses.replace(r, familiarity={**r.familiarity, "familiar": True})
    canvas = json.loads(graph_views(Studio(backend), r.graph, None, Session(map_graph(r.graph), trusted))[0])
    assert any(s is not None for s in canvas["edge_status"])
    assert Path(SEGMENTER_DIR / familiar.FILE).stat().st_size < 2_000_000
