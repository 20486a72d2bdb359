"""`python -m sgcond_app train encoder|segmenter`: build or resume a run, train, export with a card."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from pathlib import Path

from ..errors import BadInput
from ..models.pretrained import VOCABULARY_FILE, from_pretrained, parameter_count, read_config, save_pretrained
from ..models.words import TABLE_FILE, WordTable
from .loop import TrainConfig, command_line, train, write_card

log = logging.getLogger(__name__)

ENCODER_CARD = """
The scene-graph encoder of SGCond Studio's tiny backend, pretrained together with a small image
tower and a masked-reconstruction decoder (all three are in these weights; the chain uses `graph`).

- Input: a scene graph in any words. Labels and predicates are all-MiniLM-L6-v2 vectors
  (`words.safetensors` caches those of every word the tiny world knows; other words are embedded
  on the fly) through a learned projection; attributes (10 colours, 2 sizes) have learned
  embeddings. Training graphs leave out each stuff object (sky, grass, a road...) with probability
  {drop_stuff} while the picture keeps it, as people leave a background unsaid.
- Graph network: {graph_layers} triple-convolution layers (torch-geometric `MessagePassing`), width
  {dim}, with a per-graph image node; attention pooling for the global embedding.
- Outputs: per-object embeddings ({dim}-d), a global embedding, a layout (a box and a disparity per
  object).
- Losses: InfoNCE between graph and image embeddings with hard negatives (one relation reversed,
  two objects' attributes swapped), masked reconstruction of an object's image cells from the
  graph's object embeddings, L1 box and disparity regression. The held-out synonyms used by the
  retrieval bench ({synonyms}) never appear in training.
- Parameters: {params:,} ({graph_params:,} in the graph encoder). Stored as float16.
"""

SEGMENTER_CARD = """
The segmenter of SGCond Studio's tiny backend: an RGB image to a class map over the tiny world's
{classes} classes, at the image's resolution (any size; padded to a multiple of 8 inside).

- A UNet with residual blocks and channels {channels}; {params:,} parameters, stored as float16.
- Loss: cross-entropy plus soft Dice; inputs sometimes blurred, noised or brightness-shifted so that
  generated images are read too.
"""

SMALL_JPEG_CARD = """- A share {p:g} of the training pictures are the scene drawn at {side} px, saved as a JPEG of a
  random quality in {q} and enlarged to the training size as `read` enlarges a small picture; the
  class map stays the full-size one, so the segmenter learns to read small pictures from outside.
"""


def _config_for_run(run: Path, cls, overrides: dict):
    path = run / "model_config.json"
    if path.is_file():
        saved = json.loads(path.read_text())
        if overrides and any(saved.get(k) != v for k, v in overrides.items()):
            log.warning("run %s was started with %s; keeping that config", run, saved)
        return cls.Config(**saved)
    config = cls.Config(**overrides)
    run.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dataclasses.asdict(config), indent=2))
    return config


def _words(path: str | None, run: Path) -> Path:
    """The word table: --words, else the run's copy, else the shipped one, else built with MiniLM."""
    from ..models.shipped import ENCODER_DIR

    for candidate in (Path(path) if path else None, run / TABLE_FILE, ENCODER_DIR / TABLE_FILE):
        if candidate is not None and candidate.is_file():
            if candidate != run / TABLE_FILE:
                run.mkdir(parents=True, exist_ok=True)
                WordTable.load(candidate).save(run / TABLE_FILE)
            return run / TABLE_FILE
    if path:
        raise BadInput(f"--words {path}: no such file")
    log.info("building the word table with all-MiniLM-L6-v2")
    run.mkdir(parents=True, exist_ok=True)
    WordTable.build().save(run / TABLE_FILE)
    return run / TABLE_FILE


def _train_config(args) -> TrainConfig:
    return TrainConfig(out=Path(args.out), steps=args.steps, batch=args.batch, lr=args.lr,
                       warmup=min(args.warmup, max(1, args.steps // 5)), workers=args.workers,
                       minutes=args.minutes, checkpoint_every=args.checkpoint_every, log_every=args.log_every,
                       seed=args.seed, accumulate=getattr(args, "accumulate", 1), ema=getattr(args, "ema", 0.0))


def _first_run(folder: Path) -> str:
    """How the weights a run started from were trained, from their card (a fine-tune's card keeps it)."""
    card = folder / "README.md"
    text = card.read_text() if card.is_file() else ""
    if "## Training" not in text:
        return "."
    section = text.split("## Training", 1)[1].split("\n## ", 1)[0].strip()
    return ", trained so:\n\n" + "\n".join("  " + line if line else "" for line in section.splitlines())


def _keep_log(run: Path, out: Path) -> None:
    if (run / "log.jsonl").is_file():
        shutil.copy(run / "log.jsonl", out / "training_log.jsonl")


def _unwrap(objective):
    return getattr(objective, "module", objective).model


def train_encoder(args) -> dict:
    from ..models.graph_encoder import SceneGraphEncoder
    from ..models.words import HELD_OUT_SYNONYMS
    from .encoder import P_DROP_STUFF, EncoderCollate, EncoderObjective, make_dataset_factory, to_inputs
    from .evaluation import layout, retrieval

    run = Path(args.out)
    overrides = {"dim": args.dim} if args.dim else {}
    if args.tiny:
        overrides = {"dim": args.dim or 32, "graph_layers": 2, "image_channels": (8, 16, 16), "image_layers": 1,
                     "decoder_layers": 1, "heads": 2}
    data, vocabulary = _data(args)
    config = _config_for_run(run, SceneGraphEncoder, overrides)
    words_path = _words(args.words, run)
    model = SceneGraphEncoder(config)
    if args.init:  # start from trained weights (a run's checkpoint, when there is one, wins)
        model.load_state_dict(from_pretrained(Path(args.init), SceneGraphEncoder).state_dict())
    objective = EncoderObjective(model)
    result = train(objective, make_dataset_factory(config.image_size, args.reuse, data=data, images=args.images),
                   EncoderCollate(words_path, config.grid, vocabulary=vocabulary), to_inputs, _train_config(args))
    result["batch"] = args.batch
    model = _unwrap(objective).float().eval()
    if data:
        result["data"] = data
    if args.export and result["finished"] and _outside_tiny(vocabulary):
        out = _export_for_data(model, Path(args.export), vocabulary, data, result, run, "Graph encoder",
                               ENCODER_DATA_CARD.format(dim=config.dim, layers=config.graph_layers))
        WordTable.load(words_path).save(out / TABLE_FILE)
        result["exported"] = str(out)
    elif args.export and result["finished"]:
        words = WordTable.load(words_path)
        metrics = retrieval(model, words, n=args.eval_n)
        metrics["layout_relation_accuracy"] = layout(model, words, n=min(args.eval_n, 500))["relation_accuracy"]
        out = save_pretrained(model, args.export, {"training": result})
        words.save(out / TABLE_FILE)
        body = ENCODER_CARD.format(graph_layers=config.graph_layers, dim=config.dim, params=parameter_count(model),
                                   drop_stuff=P_DROP_STUFF,
                                   graph_params=parameter_count(model.graph),
                                   synonyms=", ".join(HELD_OUT_SYNONYMS.values()))
        _keep_log(run, out)
        write_card(out, "Graph encoder (tiny backend)", body, result, metrics, command_line())
        result["metrics"] = metrics
        result["exported"] = str(out)
    return result


DATA_CARD = """
A segmenter: a UNet (channels {channels}), {params:,} parameters, stored as float16; cross-entropy
plus a soft Dice term, pixels of no class left out of both.
"""


def _data(args) -> tuple[list[str], object]:
    """(--data's sources, their one vocabulary), or ([], None) for the tiny world's renders."""
    data = [d.strip() for d in (getattr(args, "data", None) or "").split(",") if d.strip()]
    return data, (_data_vocabulary(data, getattr(args, "images", None), args.size) if data else None)


def _outside_tiny(vocabulary) -> bool:
    return vocabulary is not None and vocabulary.name != "tiny"


def _export_for_data(model, out: Path, vocabulary, data: list[str], result: dict, run: Path, title: str,
                     body: str) -> Path:
    """A model trained on a dataset, written: its weights, its vocabulary's table, its log and a card
    (no held-out figures: no held-out set of the data is kept apart)."""
    model.vocabulary = vocabulary.name
    out = save_pretrained(model, out, {"training": result})
    (out / VOCABULARY_FILE).write_text(json.dumps(vocabulary.to_json(), indent=1) + "\n")
    _keep_log(run, out)
    head = (f"Trained on {', '.join(f'`{d}`' for d in data)}: the {len(vocabulary)} classes of the "
            f"`{vocabulary.name}` vocabulary (its table is in `{VOCABULARY_FILE}` beside these weights).\n")
    write_card(out, f"{title} ({vocabulary.name})", head + body, result, {}, command_line(),
               "No held-out set of this data is kept apart: measure it on pictures and graphs the run did not read.",
               data=f"{', '.join(f'`{d}`' for d in data)} (the `{vocabulary.name}` vocabulary)")
    return out


ENCODER_DATA_CARD = """
The graph encoder (width {dim}, {layers} triple-convolution layers) trained on the dataset's graphs
and pictures: contrastive graph/picture loss with hard negatives, masked reconstruction of an object's
region, and its layout (each object's box and disparity as the judge finds it on the class map; the
disparity by the ground-plane rule of `sgcond_app/reading/maps.py`, not a measured depth).
"""

FACTORS_DATA_CARD = """
The **{name}** factor, trained on the dataset: {what} Its conditions are the dataset's class maps
({classes} classes), its depth and sketch are made by rule (`sgcond_app/reading/maps.py`: the
ground-plane depth, not a measured one; the instances' outlines and the picture's Canny edges), its
graphs the dataset's own (Visual Genome's) or sg2im's rules over its objects (COCO). A UNet
(channels {channels}), {params:,} parameters, stored as float16.
"""


def _data_vocabulary(data: list[str], images: str | None, size: int):
    """The one vocabulary of the training sources (a segmenter reads one set of classes)."""
    from ..data.sources import parse

    sources = [parse(d, images, size) for d in data]
    names = {s.vocabulary.name for s in sources}
    if len(names) > 1:
        raise BadInput(f"--data: the sources are in different vocabularies ({', '.join(sorted(names))}); "
                       "a model reads one")
    return sources[0].vocabulary


def train_segmenter(args) -> dict:
    from ..models.segmenter import Segmenter
    from ..world import classes
    from .data import collate
    from .evaluation import segmenter_miou
    from .segmenter import JPEG_QUALITY, SMALL_SIDE, SegmenterObjective, make_dataset_factory, to_inputs

    run = Path(args.out)
    overrides = {"channels": (8, 16, 16, 16)} if args.tiny else {}
    data, vocabulary = _data(args)
    if vocabulary is not None:
        overrides["num_classes"] = len(vocabulary)
    config = _config_for_run(run, Segmenter, overrides)
    model = Segmenter(config)
    if vocabulary is not None:
        model.vocabulary = vocabulary.name
    if args.init:  # start from trained weights (a run's checkpoint, when there is one, wins)
        model.load_state_dict(from_pretrained(Path(args.init), Segmenter).state_dict())
    objective = SegmenterObjective(model)
    small = float(getattr(args, "small_jpeg", 0.0) or 0.0)
    result = train(objective, make_dataset_factory(args.size, args.reuse, small, data, getattr(args, "images", None)),
                   collate, to_inputs, _train_config(args))
    result["batch"] = args.batch
    if data:
        result["data"] = data
    model = _unwrap(objective).float().eval()
    if args.export and result["finished"] and _outside_tiny(vocabulary):
        body = DATA_CARD.format(channels=tuple(config.channels), params=parameter_count(model))
        out = _export_for_data(model, Path(args.export), vocabulary, data, result, run, "Segmenter", body)
        result["exported"] = str(out)
    elif args.export and result["finished"]:
        metrics = segmenter_miou(model, n=min(args.eval_n, 500), size=args.size)
        per_class = metrics.pop("per_class_iou")
        out = save_pretrained(model, args.export, {"training": result})
        body = SEGMENTER_CARD.format(classes=classes.NUM_CLASSES, channels=tuple(config.channels),
                                     params=parameter_count(model))
        if small:
            body += SMALL_JPEG_CARD.format(p=small, side=SMALL_SIDE, q=JPEG_QUALITY)
        if args.init:
            body += f"\n- Fine-tuned from the weights in `{args.init}`{_first_run(Path(args.init))}\n"
        body += "\nPer-class IoU on the held-out renders: " + ", ".join(f"{k} {v:.2f}" for k, v in per_class.items())
        _keep_log(run, out)
        write_card(out, "Segmenter (tiny backend)", body, result, metrics, command_line())
        result["metrics"] = metrics
        result["exported"] = str(out)
    return result


FACTOR_CARD = """
The **{name}** factor of SGCond Studio's tiny backend: {what}

- A UNet denoiser (`FactorDenoiser`, channels {channels}) with a time embedding; spatial
  conditions are concatenated to its input, each with a presence plane; {tokens}
- It samples at {size}x{size} and predicts the clean sample ({prediction}); sampled with
  diffusers' DDIM (trailing spacing, cosine schedule over 1,000 training steps) or DPM-Solver++.
- Trained with condition dropout (each condition hidden with probability 0.15, all of them with
  0.1), so classifier-free guidance works and any subset of conditions can be null.
- Training renders show no thing their graph does not name (a thing too small to name is taken out
  of the scene), and graphs leave out each stuff object with probability {drop_stuff} while the
  picture keeps it: every thing drawn was asked for, a background may be unsaid.
- {params:,} parameters, stored as float16.
"""

FACTOR_REPRODUCE = """Each factor sampled from the true conditions of 200 held-out renders (the segmentation from the
graph), one seed each, guidance 1: `python -m sgcond_app bench factors --n 200`. The whole chain's
figures are in `docs/benchmarks.md`."""

FACTOR_WHAT = {
    "segmentation": ("a class map sampled from a scene graph: the graph encoder's object embeddings "
                     "through cross-attention, and its layout (boxes jittered per seed) drawn as a spatial input.",
                     "cross-attention to the graph encoder's object embeddings at the two lower levels.",
                     "logits of the 27 classes; loss: cross-entropy"),
    "depth": ("disparity (near is bright) from a segmentation.", "no tokens.", "L1 + MSE"),
    "sketch": ("an edge map from a segmentation and a depth map (both upsampled from 32 px).", "no tokens.",
               "an edge logit; loss: binary cross-entropy"),
    "image": ("the RGB picture from a segmentation, a depth map and a sketch (64 px maps, upsampled).", "no tokens.",
              "MSE + L1"),
}


def train_factors(args) -> dict:
    from ..fgdm.factors import FACTORS, MAP_SIZE, NUM_CLASSES, default_config, tiny_config
    from ..models.denoiser import FactorDenoiser
    from ..models.shipped import ENCODER_DIR
    from .evaluation import factor_metrics
    from .factors import P_DROP_STUFF, FactorCollate, FactorsObjective, make_dataset_factory, to_inputs

    names = [n.strip() for n in (args.only or ",".join(FACTORS)).split(",") if n.strip()]
    unknown = [n for n in names if n not in FACTORS]
    if unknown:
        raise BadInput(f"--only: unknown factor(s) {unknown}; choose from {', '.join(FACTORS)}")
    run = Path(args.out)
    data, vocabulary = _data(args)
    classes = len(vocabulary) if vocabulary is not None else NUM_CLASSES
    models = {}
    # The factors attend to the encoder's tokens: as wide as the encoder they are trained with is.
    width = read_config(args.encoder or ENCODER_DIR)["config"].get("dim")
    for name in names:
        base = tiny_config(name, classes) if args.tiny else default_config(name, classes)
        if isinstance(width, int) and width != base.context_dim:
            base = dataclasses.replace(base, context_dim=width)
        config = _config_for_run(run / name, FactorDenoiser, dataclasses.asdict(base))
        models[name] = FactorDenoiser(config)
        if args.init:  # start from trained weights (a run's checkpoint, when there is one, wins)
            models[name].load_state_dict(from_pretrained(Path(args.init) / name, FactorDenoiser).state_dict())
    judge = None
    if args.consistency:
        if "image" not in models:
            raise BadInput("--consistency: it weighs the image factor's loss; train the image factor (--only image)")
        from ..models.shipped import SEGMENTER_DIR, load_segmenter
        judge = load_segmenter(args.judge or SEGMENTER_DIR)
        if judge.config.num_classes != classes:
            raise BadInput(f"--judge reads {judge.config.num_classes} classes; the factors draw {classes}")
    timesteps = None
    if args.sample_steps:
        from .distill import ddim_timesteps
        timesteps = ddim_timesteps(args.sample_steps)
    objective = FactorsObjective(models, judge, args.consistency, timesteps)
    picture = models["image"].config.size if "image" in models else MAP_SIZE
    result = train(objective, make_dataset_factory(args.reuse, picture, data=data, images=args.images),
                   FactorCollate(args.encoder or ENCODER_DIR, vocabulary, args.predicted_boxes), to_inputs,
                   _train_config(args))
    result["batch"] = args.batch
    result["predicted_boxes"] = args.predicted_boxes
    if timesteps:
        result["timesteps"] = timesteps
    if data:
        result["data"] = data
    trained = {k: m.float().eval() for k, m in getattr(objective, "module", objective).models.items()}
    if args.export and result["finished"] and _outside_tiny(vocabulary):
        for name, model in trained.items():
            c = model.config
            body = FACTORS_DATA_CARD.format(name=name, what=FACTOR_WHAT[name][0], classes=classes,
                                            channels=tuple(c.channels), params=parameter_count(model))
            _export_for_data(model, Path(args.export) / name, vocabulary, data, result, run, f"Factor: {name}", body)
        result["exported"] = str(args.export)
    elif args.export and result["finished"]:
        metrics = factor_metrics(trained, n=min(args.eval_n, 200), encoder_dir=args.encoder)
        result["metrics"] = metrics
        for name, model in trained.items():
            out = save_pretrained(model, Path(args.export) / name, {"training": result})
            _keep_log(run, out)
            what, tokens, prediction = FACTOR_WHAT[name]
            c = model.config
            body = FACTOR_CARD.format(name=name, what=what, channels=tuple(c.channels), tokens=tokens, size=c.size,
                                      prediction=prediction, params=parameter_count(model), drop_stuff=P_DROP_STUFF)
            mine = {k: v for k, v in metrics.items() if k.startswith(name) or k == "n"}
            write_card(out, f"Factor: {name} (tiny backend)", body, result, mine, command_line(), FACTOR_REPRODUCE)
        result["exported"] = str(args.export)
    return result


DISTILL_CARD = """
The **{name}** factor of SGCond Studio's tiny backend, distilled to sample in **{steps} DDIM steps**
(progressive distillation, `sgcond_app/training/distill.py`): a student that takes in one step what
its teacher ({teacher}, {teacher_steps} steps) takes in two. Use it at {steps} steps; it was trained
for no other count. Otherwise as its teacher: {what}
- {params:,} parameters, stored as float16.
"""


def train_distill(args) -> dict:
    from ..fgdm.factors import FACTORS, MAP_SIZE
    from ..models.denoiser import FactorDenoiser
    from ..models.shipped import ENCODER_DIR
    from .distill import DistillObjective, student_timesteps
    from .evaluation import factor_metrics
    from .factors import FactorCollate, make_dataset_factory, to_inputs

    name = (args.only or "segmentation").strip()
    if name not in FACTORS:
        raise BadInput(f"--only: one factor to distil, from {', '.join(FACTORS)}")
    if not args.init:
        raise BadInput("train distill: --init names the teacher (a folder with one sub-folder per factor)")
    teacher = from_pretrained(Path(args.init) / name, FactorDenoiser)
    teacher_steps = teacher.config.steps or args.teacher_steps
    if teacher_steps % 2:
        raise BadInput(f"the teacher samples in {teacher_steps} steps: an even count is halved")
    steps = teacher_steps // 2
    try:
        student_timesteps(steps)
    except ValueError as e:
        raise BadInput(str(e)) from None
    student = FactorDenoiser(dataclasses.replace(teacher.config, steps=steps))
    student.load_state_dict(teacher.state_dict())
    objective = DistillObjective(teacher, student, steps)
    picture = teacher.config.size if name == "image" else MAP_SIZE
    result = train(objective, make_dataset_factory(args.reuse, picture), FactorCollate(args.encoder or ENCODER_DIR),
                   to_inputs, _train_config(args))
    result["batch"] = args.batch
    result["teacher"] = {"weights": str(args.init), "steps": teacher_steps}
    trained = getattr(objective, "module", objective).student.float().eval()
    if args.export and result["finished"]:
        metrics = factor_metrics({name: trained}, n=min(args.eval_n, 200), encoder_dir=args.encoder,
                                 steps={name: steps})
        result["metrics"] = metrics
        out = save_pretrained(trained, Path(args.export) / name, {"training": result})
        _keep_log(Path(args.out), out)
        body = DISTILL_CARD.format(name=name, steps=steps, teacher=args.init, teacher_steps=teacher_steps,
                                   what=FACTOR_WHAT[name][0], params=parameter_count(trained))
        mine = {k: v for k, v in metrics.items() if k.startswith(name) or k == "n"}
        write_card(out, f"Factor: {name}, {steps} steps (tiny backend)", body, result, mine, command_line(),
                   FACTOR_REPRODUCE)
        result["exported"] = str(args.export)
    return result


def train_familiarity(args) -> dict:
    """The segmenter's familiarity fit (`reading/familiar.py`), written beside it into --out."""
    import time

    from ..models.shipped import SEGMENTER_DIR, load_segmenter
    from ..reading import familiar

    start = time.perf_counter()
    segmenter = load_segmenter(args.init or SEGMENTER_DIR).eval()
    n = args.calibration
    fit = familiar.calibrate(segmenter, n)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = fit.save(out)
    return {"wrote": str(path), "calibration_renders": n, "threshold": fit.threshold, "alpha": fit.meta["alpha"],
            "quantile": fit.meta["quantile"], "features": int(fit.mean.shape[0]),
            "seconds": round(time.perf_counter() - start, 1)}
