"""The encoder and the segmenter: shipped weights work, save/load round-trips, the training loop
trains and resumes (tiny random configs; CI never trains a real model)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sgcond_app.errors import BadInput
from sgcond_app.graph import judge, vocab
from sgcond_app.graph.scene_graph import SceneGraph
from sgcond_app.models.graph_encoder import SceneGraphEncoder, pad_objects, tensorize
from sgcond_app.models.pretrained import from_pretrained, save_pretrained
from sgcond_app.models.segmenter import Segmenter
from sgcond_app.models.shipped import shipped_encoder, shipped_segmenter
from sgcond_app.training.data import held_out_samples, object_boxes, reversed_twin, swapped_twin, without_stuff
from sgcond_app.training.evaluation import (
    embed_graphs,
    embed_images,
    frechet_distance,
    layout,
    picture_features,
    segmenter_miou,
    segmenter_small_jpeg_miou,
)
from sgcond_app.world import classes
from sgcond_app.world.boxes import draw_layout
from sgcond_app.world.render import rasterize

ROOT = Path(__file__).resolve().parents[1]
TINY = {"dim": 32, "graph_layers": 2, "image_channels": (8, 16, 16), "image_layers": 1,
        "decoder_layers": 1, "heads": 2}


@pytest.fixture(scope="module")
def samples():
    return held_out_samples(48)


def _size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def test_shipped_weights_are_small_and_carded():
    weights = ROOT / "weights"
    assert _size(weights / "encoder") + _size(weights / "segmenter") < 20e6
    assert _size(weights) < 40e6  # with the chain's four factors: tens of MB in all
    for name, command in [("encoder", "encoder"), ("segmenter", "segmenter"), ("factors/segmentation", "distill"),
                          ("factors/depth", "factors"), ("factors/sketch", "factors"), ("factors/image", "factors")]:
        card = (weights / name / "README.md").read_text()
        assert "python -m sgcond_app train " + command in card and "Metrics after training" in card
        assert json.loads((weights / name / "config.json").read_text())["training"]["finished"]


def test_shipped_encoder_retrieves_and_rejects_hard_negatives(samples):
    model, words = shipped_encoder()
    g = embed_graphs(model, words, [s.graph for s in samples])
    im = embed_images(model, np.stack([s.image for s in samples]))
    scores = g @ im.T
    assert (scores.argmax(1) == torch.arange(len(samples))).float().mean() >= 0.8
    rng = np.random.default_rng(1)
    twins = [(k, reversed_twin(s.graph, rng)) for k, s in enumerate(samples)]
    twins = [(k, t) for k, t in twins if t is not None]
    t = embed_graphs(model, words, [t for _, t in twins])
    idx = torch.tensor([k for k, _ in twins])
    assert ((t * im[idx]).sum(1) < scores[idx, idx]).float().mean() >= 0.85


def test_unseen_synonyms_land_near_their_words():
    model, words = shipped_encoder()
    plain = SceneGraph.build([("sky", ()), ("road", ()), ("dog", ()), ("person", ())],
                             [(2, "left of", 3), (2, "on", 1)])
    synonyms = SceneGraph.build([("sky", ()), ("street", ()), ("puppy", ()), ("man", ())],
                                [(2, "left of", 3), (2, "on", 1)])
    other = SceneGraph.build([("sky", ()), ("water", ()), ("boat", ()), ("bird", ())],
                             [(2, "left of", 3), (2, "on", 1)])
    e = embed_graphs(model, words, [plain, synonyms, other])
    assert e[0] @ e[1] > e[0] @ e[2] + 0.2


def test_graph_encoder_ignores_object_order():
    model, words = shipped_encoder()
    a = SceneGraph.build([("sky", ()), ("grass", ()), ("car", ("red",)), ("tree", ())],
                         [(2, "left of", 3), (3, "below", 0)])
    b = SceneGraph.build([("tree", ()), ("car", ("red",)), ("grass", ()), ("sky", ())],
                         [(1, "left of", 0), (0, "below", 3)])
    out_a = model.graph(tensorize([a], words))
    out_b = model.graph(tensorize([b], words))
    assert torch.allclose(out_a.global_, out_b.global_, atol=1e-4)
    assert torch.allclose(out_a.boxes[2], out_b.boxes[1], atol=1e-4)


def test_encoder_layout_obeys_relations(samples):
    model, words = shipped_encoder()
    result = layout(model, words, graphs=[s.graph for s in samples])
    assert result["relation_accuracy"] >= 0.9 and result["object_recall"] >= 0.9


def test_shipped_segmenter_reads_renders(samples):
    # At the size the chain reads (128 px), and small JPEGs enlarged to it as `read` enlarges them.
    assert segmenter_miou(shipped_segmenter(), n=16, size=128)["miou"] >= 0.85
    assert segmenter_small_jpeg_miou(shipped_segmenter(), n=16)["miou"] >= 0.85
    # any size, not only the training size
    s = held_out_samples(1, size=80)[0]
    pred = shipped_segmenter().segment(s.image)
    assert pred.shape == (80, 80) and (pred == s.segmentation).mean() > 0.9
    # the chain's 128 px picture read against its 64 px maps
    s64 = samples[0]
    picture = rasterize(s64.scene, 128).image
    pred = shipped_segmenter().segment(picture, size=64)
    assert pred.shape == (64, 64) and (pred == s64.segmentation).mean() > 0.9


def test_training_graphs_may_leave_the_background_unsaid(samples):
    rng = np.random.default_rng(0)
    s = samples[0]
    boxes, disp = object_boxes(s)
    g, b, d = without_stuff(s.graph, boxes, disp, 1.0, rng)
    assert g.labels == [lab for lab in s.graph.labels if not classes.is_stuff(lab)]
    assert len(b) == len(d) == len(g.objects)
    kept = [k for k, lab in enumerate(s.graph.labels) if not classes.is_stuff(lab)]
    assert np.allclose(b, boxes[kept])
    old = {(s.graph.labels[r.subject], r.predicate, s.graph.labels[r.object]) for r in s.graph.relations
           if r.subject in kept and r.object in kept}
    assert {(g.labels[r.subject], r.predicate, g.labels[r.object]) for r in g.relations} == old
    assert without_stuff(s.graph, boxes, disp, 0.0, rng)[0] == s.graph


def test_the_factor_stream_draws_the_picture_of_the_same_scene():
    from sgcond_app.training.factors import make_dataset_factory

    item = next(iter(make_dataset_factory(1, picture_size=128, drop_stuff=0.0)(0, 0, 1)))
    assert item.picture.shape == (128, 128, 3) and item.image.shape == (64, 64, 3)
    small = item.picture.reshape(64, 2, 64, 2, 3).mean(axis=(1, 3))
    assert np.abs(small - item.image).mean() < 20  # the same scene (and the same flip)


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(4000, 3)), rng.normal(size=(4000, 3))
    assert frechet_distance(a, b) < 0.02
    assert frechet_distance(a, b + [2.0, 0.0, 0.0]) == pytest.approx(4.0, abs=0.25)  # the means, squared
    assert frechet_distance(a, 3 * b) == pytest.approx(3 * (3 - 1) ** 2, abs=0.3)  # the spreads


def test_picture_features_tell_renders_from_noise():
    """The segmenter's features (the Fréchet distance's): two sets of renders are closer to each
    other than renders to their own pictures blurred to blocks, at any picture size read."""
    seg = shipped_segmenter()
    a = np.stack([rasterize(s.scene, 128).image for s in held_out_samples(40)])
    b = np.stack([rasterize(s.scene, 128).image for s in held_out_samples(40, start=40)])
    blocks = a.reshape(40, 16, 8, 16, 8, 3).mean((2, 4)).astype(np.uint8)  # 16 px, enlarged when read
    fa, fb, fblocks = (picture_features(seg, x, 128) for x in (a, b, blocks))
    assert fa.shape == (40, sum(seg.config.channels))
    assert frechet_distance(fa, fb) < frechet_distance(fa, fblocks)


def test_save_and_load_round_trip(tmp_path):
    torch.manual_seed(0)
    seg = Segmenter(Segmenter.Config(channels=(8, 16, 16, 16))).eval()
    save_pretrained(seg, tmp_path / "seg")
    back = from_pretrained(tmp_path / "seg", Segmenter)
    x = torch.randn(2, 3, 32, 40)
    with torch.no_grad():
        assert torch.allclose(seg(x), back(x), atol=2e-2)
    with pytest.raises(Exception, match="not a SceneGraphEncoder"):
        from_pretrained(tmp_path / "seg", SceneGraphEncoder)
    # Its vocabulary travels with it; one this app does not know is refused in one line.
    config = tmp_path / "seg" / "config.json"
    meta = json.loads(config.read_text())
    assert meta["vocabulary"] == "tiny"
    config.write_text(json.dumps({**meta, "vocabulary": "cityscapes"}))
    with pytest.raises(BadInput, match="'cityscapes', not a vocabulary this app knows"):
        from_pretrained(tmp_path / "seg", Segmenter)
    shipped = [json.loads(p.read_text()) for p in (ROOT / "weights").rglob("config.json")]
    assert len(shipped) == 6 and all(m["vocabulary"] == "tiny" for m in shipped)


def test_hard_negatives_make_one_fact_false(samples):
    rng = np.random.default_rng(0)
    checked = 0
    for s in samples:
        twin = reversed_twin(s.graph, rng)
        if twin is None:
            continue
        changed = [k for k, (a, b) in enumerate(zip(s.graph.relations, twin.relations)) if a != b]
        assert len(changed) == 1
        v = judge.judge(twin.labels, twin.triples(), s.segmentation, s.depth)
        assert v.relations[changed[0]].holds is False
        checked += 1
    assert checked > 30
    pairs = [(s.graph, swapped_twin(s.graph, rng)) for s in samples]
    pairs = [(g, t) for g, t in pairs if t is not None]
    assert pairs
    for g, t in pairs:
        assert g.labels == t.labels and g.relations == t.relations
        assert sorted(o.attributes for o in g.objects) == sorted(o.attributes for o in t.objects)
        assert sum(a.attributes != b.attributes for a, b in zip(g.objects, t.objects)) == 2


def test_draw_layout_paints_near_over_far():
    labels = ["grass", "tree", "car"]
    boxes = np.array([[0, 0.5, 1, 1], [0.2, 0.2, 0.6, 0.8], [0.4, 0.5, 0.8, 0.9]], np.float32)
    seg, inst, depth = draw_layout(labels, boxes, np.array([0.3, 0.4, 0.8]), 32)
    assert seg[0, 0] == vocab.VOID and inst[0, 0] == 0
    assert seg[22, 16] == classes.CLASS_ID["car"] and inst[22, 16] == 3  # the car is nearer
    assert seg[22, 8] == classes.CLASS_ID["tree"] and seg[30, 2] == classes.CLASS_ID["grass"]


def test_pad_objects():
    objects = torch.arange(10, dtype=torch.float32).reshape(5, 2)
    out, pad = pad_objects(objects, torch.tensor([0, 0, 0, 1, 1]), 2)
    assert out.shape == (2, 3, 2) and pad.tolist() == [[False] * 3, [False, False, True]]
    assert out[1, 1].tolist() == [8.0, 9.0]


def _train(tmp_path, what, steps, *extra):
    cmd = [sys.executable, "-m", "sgcond_app", "train", what, "--out", str(tmp_path / what), "--steps", str(steps),
           "--batch", "4", "--tiny", "--workers", "0", "--warmup", "1", "--log-every", "1", *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("what", ["encoder", "segmenter"])
def test_training_resumes_and_exports(tmp_path, what):
    r = _train(tmp_path, what, 2)
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / what / "state.json").read_text())["step"] == 2
    r = _train(tmp_path, what, 4, "--export", str(tmp_path / "w"), "--eval-n", "8")
    assert r.returncode == 0, r.stderr
    assert "resumed from" in r.stdout + r.stderr
    log = [json.loads(x) for x in (tmp_path / what / "log.jsonl").read_text().splitlines()]
    assert [row["step"] for row in log] == [1, 2, 3, 4]
    assert all(np.isfinite(row["loss"]) for row in log)
    cls = SceneGraphEncoder if what == "encoder" else Segmenter
    model = from_pretrained(tmp_path / "w", cls)
    assert isinstance(model, cls)
    assert "Steps: 4" in (tmp_path / "w" / "README.md").read_text()


def test_accumulated_steps_and_a_moving_average_resume_and_export(tmp_path):
    """`--accumulate 2` takes two batches a step (the render stream resumes past both); `--ema` keeps
    a moving average beside the checkpoint, resumes it, and exports it in place of the last weights."""
    from safetensors.torch import load_file

    r = _train(tmp_path, "encoder", 2, "--accumulate", "2", "--ema", "0.9")
    assert r.returncode == 0, r.stderr
    ckpt = tmp_path / "encoder" / "checkpoint"
    ema, last = load_file(str(ckpt / "ema.safetensors")), load_file(str(ckpt / "model.safetensors"))
    assert set(ema) <= set(last) and any(not torch.equal(ema[k], last[k].float()) for k in ema)
    r = _train(tmp_path, "encoder", 3, "--accumulate", "2", "--ema", "0.9", "--export", str(tmp_path / "w"),
               "--eval-n", "4")
    assert r.returncode == 0 and "resumed from" in r.stdout + r.stderr, r.stderr
    ema = load_file(str(ckpt / "ema.safetensors"))
    exported = from_pretrained(tmp_path / "w", SceneGraphEncoder).state_dict()
    ema = {k.removeprefix("model."): v for k, v in ema.items()}  # the objective holds the encoder as .model
    assert set(ema) <= set(exported)
    assert all(torch.allclose(exported[k].float(), v, atol=1e-3, rtol=1e-2) for k, v in ema.items())
    assert _train(tmp_path / "b", "encoder", 1, "--ema", "1").returncode == 2


def test_a_segmenter_fine_tunes_on_small_jpegs(tmp_path):
    """`--init` starts from a segmenter's weights; `--small-jpeg` gives that share of the pictures as
    the scene drawn small, saved as a JPEG and enlarged as `read` enlarges it (the class map kept)."""
    from sgcond_app.training.data import RenderStream
    from sgcond_app.training.segmenter import SMALL_SIDE, SmallJpegs

    def item(p):
        stream = RenderStream(size=128, start=3, graphs=False, flip=False, picture_size=SMALL_SIDE)
        return next(iter(SmallJpegs(stream, p)))

    plain, small = item(0.0), item(1.0)
    assert small.image.shape == plain.image.shape == (128, 128, 3)
    assert np.array_equal(small.segmentation, plain.segmentation) and small.picture.shape == (SMALL_SIDE, SMALL_SIDE, 3)
    # The small JPEG is the same scene, blurred and blocky: close to the render, never equal to it.
    diff = np.abs(small.image.astype(int) - plain.image.astype(int))
    assert 0 < diff.mean() < 40

    assert _train(tmp_path, "segmenter", 1, "--export", str(tmp_path / "w0"), "--eval-n", "4").returncode == 0
    r = _train(tmp_path / "b", "segmenter", 2, "--init", str(tmp_path / "w0"), "--small-jpeg", "1",
               "--export", str(tmp_path / "w1"), "--eval-n", "4")
    assert r.returncode == 0, r.stderr
    card = (tmp_path / "w1" / "README.md").read_text()
    assert "Fine-tuned from the weights in" in card and "as a JPEG" in card
    r = _train(tmp_path / "c", "segmenter", 1, "--small-jpeg", "2")
    assert r.returncode == 2 and "between 0 and 1" in r.stderr


def test_training_step_lowers_the_loss():
    """A few steps on one fixed batch: the objective is wired to the parameters."""
    from sgcond_app.models.words import WordTable
    from sgcond_app.training.data import RenderStream
    from sgcond_app.training.encoder import EncoderCollate, EncoderObjective, to_inputs

    torch.manual_seed(0)
    stream = iter(RenderStream(start=5, reuse=1))
    items = [next(stream) for _ in range(6)]
    batch = EncoderCollate(ROOT / "weights" / "encoder" / "words.safetensors", 8, seed=0)(items)
    assert isinstance(WordTable.load(ROOT / "weights" / "encoder"), WordTable)
    objective = EncoderObjective(SceneGraphEncoder(SceneGraphEncoder.Config(**TINY)))
    opt = torch.optim.Adam(objective.parameters(), 3e-3)
    inputs = to_inputs(batch, torch.device("cpu"))
    losses = []
    for _ in range(15):
        loss, _ = objective(**inputs)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.8 * losses[0]


def test_the_segmentation_factor_can_be_shown_the_renders_own_layouts(monkeypatch):
    """`train factors --predicted-boxes 0`: every training layout is drawn from where the render's
    things are (jittered), none from the encoder's guess; 1: every one from the encoder's boxes."""
    import itertools

    from sgcond_app.models.shipped import ENCODER_DIR
    from sgcond_app.training import factors

    monkeypatch.setattr(factors, "jitter_boxes", lambda boxes, rng: boxes)
    items = list(itertools.islice(iter(factors.make_dataset_factory(1, drop_stuff=0.0)(0, 0, 1)), 4))
    own = factors.FactorCollate(ENCODER_DIR, predicted_boxes=0.0)(items)["layout"].numpy()
    guessed = factors.FactorCollate(ENCODER_DIR, predicted_boxes=1.0)(items)["layout"].numpy()
    for k, it in enumerate(items):
        assert np.array_equal(own[k], draw_layout(it.labels, it.boxes, it.disparity, 64)[0])
    assert not np.array_equal(own, guessed)


def test_a_few_step_factor_is_trained_at_its_samplers_timesteps(monkeypatch):
    """`train factors --sample-steps 4`: the noise levels drawn are the 4-step sampler's alone."""
    from sgcond_app.fgdm.factors import tiny_config
    from sgcond_app.models.denoiser import FactorDenoiser
    from sgcond_app.training.distill import ddim_timesteps
    from sgcond_app.training.factors import FactorsObjective

    model = FactorDenoiser(tiny_config("depth"))
    seen = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda x, t, *a, **k: seen.extend(t.tolist()) or forward(x, t, *a, **k))
    b = 16
    batch = dict(image=torch.zeros(b, 64, 64, 3, dtype=torch.uint8), segmentation=torch.zeros(b, 64, 64).long(),
                 depth=torch.zeros(b, 64, 64), sketch=torch.zeros(b, 64, 64, dtype=torch.uint8),
                 layout=torch.zeros(b, 64, 64).long(), tokens=torch.zeros(b, 2, 128),
                 token_pad=torch.zeros(b, 2).bool())
    FactorsObjective({"depth": model}, timesteps=ddim_timesteps(4))(**batch)
    assert set(seen) <= {999, 749, 499, 249} and len(set(seen)) >= 2
    seen.clear()
    FactorsObjective({"depth": model})(**batch)
    assert not set(seen) <= {999, 749, 499, 249}
