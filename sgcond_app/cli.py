"""`python -m sgcond_app`: the command line (a contract that tests and benchmarks call).

Exit codes: 0 done, 2 bad input (one line on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import textwrap
from pathlib import Path

from . import bench as benches  # the registry only (standard library): each bench imports its code when run
from .errors import BadInput, one_line, shown
from .inputs import check_seed, seed_for

log = logging.getLogger("sgcond_app")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(f"{self.prog}: {message} (see --help)")


def _size(text: str) -> int:
    value = int(text)
    if not 32 <= value <= 256:
        raise argparse.ArgumentTypeError("the size must be between 32 and 256 pixels")
    return value


def _count(limit: int):
    def parse(text: str) -> int:
        value = int(text)
        if not 1 <= value <= limit:
            raise argparse.ArgumentTypeError(f"must be between 1 and {limit}")
        return value
    return parse


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be a share between 0 and 1")
    return value


def _ema(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError("must be a decay from 0 up to, not including, 1")
    return value


def _seed(text: str) -> int:
    return check_seed(text, "--seed")


def _output_folder(path: str | Path, flag: str = "--out", target: Path | None = None) -> Path:
    """Make an output folder and its parents, before any work is done, or refuse with BadInput:
    a file is in the way, a parent is a file (`/dev/null/x`), a place nobody may write (`/proc/x`).
    `target`: the file to be written there, which the message names instead."""
    folder = Path(path)
    where = f"{flag}: cannot write to {target or path}"
    if folder.exists() and not folder.is_dir():
        raise BadInput(f"{where}: {'it' if target is None else folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:  # NotADirectoryError, PermissionError, FileNotFoundError, a read-only disk ...
        raise BadInput(f"{where} ({e.strerror or e.__class__.__name__})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise BadInput(f"{where} (permission denied)")
    return folder


def _output_file(path: str | Path, flag: str, suffixes: tuple[str, ...] = ()) -> Path:
    """The place of an output file: not a folder, with one of `suffixes` if given; its folder made."""
    file = Path(path)
    if suffixes and file.suffix.lower() not in suffixes:
        raise BadInput(f"{flag}: {path} must end in {' or '.join(suffixes)}")
    if file.is_dir():
        raise BadInput(f"{flag}: cannot write to {path}: it is a folder; name a file")
    _output_folder(file.parent, flag, target=file)
    return file


def _bench_list() -> str:
    """The benches, one paragraph each, for `bench --help` (from the registry)."""
    width = max(shutil.get_terminal_size().columns - 2, 60)  # as argparse wraps its own help
    lines = ["benches:"]
    for b in benches.REGISTRY.values():
        lines += textwrap.wrap(b.help, width, initial_indent=f"  {b.name:<12}", subsequent_indent=" " * 14)
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m sgcond_app", description="SGCond Studio command line")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("parse", help="the graph as understood, with the word mapping")
    c.add_argument("graph", help="a .json (sg2im) or text graph file (triples or sentences), - for standard "
                   "input, or the text itself (\"two sheep on the grass\")")
    c.add_argument("--json", action="store_true", help="print JSON")

    c = sub.add_parser("synth", help="tiny-world samples, or a render that obeys a given graph")
    c.add_argument("--n", type=_count(1_000_000), default=1, help="number of random samples")
    c.add_argument("--graph", help="render this graph (file) instead of random scenes")
    c.add_argument("--seed", type=_seed, default=0, help="sample k uses seed + k")
    c.add_argument("--size", type=_size, default=64)
    c.add_argument("--out", required=True, help="output folder (one sub-folder per sample)")
    c.add_argument("--tries", type=_count(1000), default=60, help="layouts tried per given graph")

    c = sub.add_parser("check", help="which objects and relations a segmentation shows")
    c.add_argument("graph")
    c.add_argument("segmentation")
    c.add_argument("--depth", help="depth PNG (near = bright), for in front of / behind")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("palette", help="class colours of segmentation maps")
    c.add_argument("--json", action="store_true")

    c = sub.add_parser("vocab", help="a vocabulary's classes: ids, names, stuff or thing, colours, source")
    c.add_argument("name", choices=["tiny", "ade20k", "coco-stuff"])
    c.add_argument("--json", action="store_true",
                   help='{"name", "source", "classes": [{"id", "name", "stuff", "rgb"}]}')

    c = sub.add_parser("generate", help="segmentation, depth, sketch and image for a graph (the chain)")
    c.add_argument("graph", help="a .json (sg2im, one graph or a list) or text graph file (triples or sentences), "
                   "- for standard input, or the text itself")
    c.add_argument("--out", required=True, help="output folder (one sub-folder per graph of a list)")
    c.add_argument("--seed", type=_seed, default=0, help="graph k of a list uses seed + k")
    c.add_argument("--samples", type=_count(32), default=8, help="SBPC: segmentations sampled, best kept")
    c.add_argument("--steps", type=_count(100), default=None, help="sampling steps of every factor "
                   "(default: segmentation 4, the distilled factor; depth 8, sketch 10, image 6)")
    c.add_argument("--guidance", type=float, default=None, help="classifier-free guidance scale of every "
                   "factor (default: 1, and 2 for the image)")
    c.add_argument("--factor-steps", default=None, metavar="F=K,...",
                   help="steps per factor, e.g. segmentation=12,image=20 (after --steps)")
    c.add_argument("--factor-guidance", default=None, metavar="F=G,...",
                   help="guidance per factor, e.g. image=1.5 (after --guidance)")
    c.add_argument("--factor-seeds", default=None, metavar="F=K,...",
                   help="per factor, an offset added to the seed its noise is drawn from, e.g. image=1 "
                        "(the same maps, another image)")
    c.add_argument("--scheduler", choices=["ddim", "dpm"], default="",
                   help="one scheduler for every factor (default: each factor's own, DPM-Solver++ for the image "
                        "and DDIM for the maps)")
    c.add_argument("--picture-draws", type=_count(8), default=5, help="the picture is read back by the segmenter; "
                   "one that loses what its map holds is drawn again from other noise, up to this many draws in "
                   "all, and the best kept (1: drawn once, unchecked)")
    c.add_argument("--map-draws", type=_count(8), default=3, help="while no candidate's map is judged perfect, "
                   "SAMPLES more are drawn from the next seeds, up to this many rounds in all, and the SAMPLES best "
                   "kept (1: one round)")
    c.add_argument("--picture-candidates", type=_count(8), default=2, help="where every draw of the chosen "
                   "candidate's picture loses what its map holds, the next best candidates whose maps hold as "
                   "many objects are drawn too, up to this many in all, and the best picture kept (1: the chosen one)")
    c.add_argument("--no-mend", action="store_true", help="draw the graph encoder's boxes as they come (by "
                   "default a layout that breaks the graph when drawn, a cow outside its fence, is mended first)")
    c.add_argument("--any-class", action="store_true", help="let the segmentation factor draw things the "
                   "graph does not name (by default it samples stuff and the graph's thing classes only)")
    c.add_argument("--backend", default="tiny", help="the backend that makes the pictures (default tiny: the "
                   "repository's own models on this machine; sd: Stable Diffusion 1.5 + ControlNets on a GPU)")
    c.add_argument("--prompt", default=None, help="sd: the prompt (default: composed from the graph in its "
                   "own words)")
    c.add_argument("--negative-prompt", default=None, help="sd: the negative prompt (default: the backend's)")
    c.add_argument("--weights", default=None, help="tiny: a weights folder (encoder/, factors/, segmenter/; "
                   "default the shipped weights/), e.g. one trained on a dataset, which draws its classes")

    c = sub.add_parser("read", help="a picture from outside: its maps, its scene graph and its inversion")
    c.add_argument("picture", help="PNG, JPEG, WebP, BMP or GIF (first frame), any size: centre-cropped "
                   "and resized to the chain's picture size")
    c.add_argument("--out", required=True, help="output folder (an `edit` continues from it)")
    c.add_argument("--inversion", choices=["ddpm", "ddim"], default="ddpm",
                   help="ddpm: edit-friendly inversion, the picture comes back exactly (default); ddim: "
                        "deterministic, approximate")
    c.add_argument("--steps", type=_count(100), default=8, help="inversion steps (default 8)")
    c.add_argument("--seed", type=_seed, default=0, help="seed of the depth and sketch factors and of the "
                   "inversion's noise")
    c.add_argument("--backend", default="tiny", help="the backend (default tiny)")
    c.add_argument("--strict", action="store_true", help="refuse a picture unlike those the reading model "
                   "knows (exit 2), instead of reading it with a warning that its maps and graph are not to "
                   "be trusted")
    c.add_argument("--weights", default=None, help="tiny: a weights folder (encoder/, factors/, segmenter/; "
                   "default the shipped weights/), e.g. one trained on a dataset, which draws its classes")

    c = sub.add_parser("edit", help="edit a result `generate`, `read` or an earlier `edit` wrote, keeping the rest")
    c.add_argument("folder", help="a folder `generate`, `read` or `edit` wrote")
    c.add_argument("--out", required=True, help="output folder")
    what = c.add_mutually_exclusive_group(required=True)
    what.add_argument("--graph", help="the picture's graph.json, changed: a predicate (the subject moves), "
                      "a label (the region becomes that class), a node left out (deleted)")
    what.add_argument("--op", help="move:X,Y,DX,DY | flip_h:X,Y | flip_v:X,Y | resize:X,Y,SCALE | delete:X,Y "
                      "on the segmentation; depth:X,Y,AMOUNT (the thing nearer by AMOUNT of the depth range, "
                      "farther when negative); sketch:X0,Y0,X1,Y1[,...] | erase:X0,Y0,X1,Y1[,...] (a stroke drawn "
                      "on, or cleared from, the sketch) (map pixels, 0..63)")
    what.add_argument("--concept", help="towards or away from words, LEDITS++-style: -car takes the cars away, "
                      "+sheep,-dog makes the dogs sheep; WORD:SCALE sets one's scale (default 1.5)")
    c.add_argument("--backend", default="tiny", help="the backend (default tiny)")
    c.add_argument("--weights", default=None, help="tiny: a weights folder (encoder/, factors/, segmenter/; "
                   "default the shipped weights/), e.g. one trained on a dataset, which draws its classes")

    c = sub.add_parser("data", help="a published dataset read from a copy on disk: its graphs, its figures, "
                       "its broken files, or the whole written out as WebDataset shards and COCO panoptic")
    c.add_argument("what", choices=["graphs", "stats", "check", "export"])
    c.add_argument("source", help="KIND:PATH: world:N[@SEED], coco:INSTANCES.json[+STUFF.json], "
                   "coco-panoptic:PANOPTIC.json, ade20k:DIR[@SPLIT], vg:DIR[@K], folder:DIR (images/, "
                   "masks/, classes.txt)")
    c.add_argument("--images", default=None, help="the pictures' folder (default: the split's folder beside "
                   "annotations/, e.g. val2017/)")
    c.add_argument("--out", default=None, help="graphs: the JSON file written; export: the folder")
    c.add_argument("--limit", type=_count(100_000_000), default=None, help="at most this many records")
    c.add_argument("--size", type=_size, default=64, help="world: the renders' size")
    c.add_argument("--shard-size", type=_count(100_000), default=100, help="export: samples per shard")

    c = sub.add_parser("dataset", help="a labelled dataset made by the chain on Ray Data: pictures with their "
                       "segmentation, instances, depth, sketch and graph, as WebDataset shards and COCO panoptic")
    made = c.add_mutually_exclusive_group(required=True)
    made.add_argument("--graphs", help="a graph file (sg2im JSON, one graph or a list, or text)")
    made.add_argument("--from-world", type=_count(10_000_000), metavar="N", help="the graphs of N tiny-world renders")
    c.add_argument("--per-graph", type=_count(1000), default=1, help="samples of each graph (other seeds)")
    c.add_argument("--min-recall", type=_share, default=0.0, help="keep a sample only if the judge finds at "
                   "least this share of its graph's objects (0..1)")
    c.add_argument("--samples", type=_count(64), default=1, help="SBPC candidates per sample (default 1)")
    c.add_argument("--out", required=True, help="the dataset's folder; a stopped run started again with the same "
                   "arguments makes only the shards that are missing")
    c.add_argument("--shard-size", type=_count(100_000), default=100, help="samples per shard")
    c.add_argument("--workers", type=_count(4096), default=None, help="Ray actors, one CPU each (default: "
                   "this machine's cores)")
    c.add_argument("--address", default=None, help="a Ray cluster to join (default: a local Ray)")
    c.add_argument("--seed", type=_seed, default=0, help="graph k's sample j uses seed + k * per-graph + j")
    c.add_argument("--weights", default=None, help="a weights folder (default: the shipped one)")

    c = sub.add_parser("sheet", help="a contact sheet PNG: graphs, their generated maps and images")
    c.add_argument("--graphs", default=None, help="graph file (default: assets/graphs/people.json)")
    c.add_argument("--n", type=_count(64), default=12, help="how many graphs (rows)")
    c.add_argument("--seed", type=_seed, default=0, help="row k uses seed + k")
    c.add_argument("--samples", type=_count(32), default=8)
    c.add_argument("--out", required=True, help="the PNG to write")

    c = sub.add_parser("bench", help="measurements that print numbers", epilog=_bench_list(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("what", choices=list(benches.REGISTRY), help="the bench to run (listed below)")
    c.add_argument("--n", type=_count(100_000), default=None)
    c.add_argument("--size", type=_size, default=64)
    c.add_argument("--graphs", "--file", default=None, help="the graph file of the benches that take one (default "
                   "assets/graphs/people.json); a word list for `words`")
    c.add_argument("--weights", default=None, help="model folder (default: the shipped one in weights/)")
    c.add_argument("--samples", type=_count(32), default=8, help="SBPC candidates N for the chain benches")
    c.add_argument("--json", dest="json_out", help="also write the figures to this JSON file")
    c.add_argument("--any-class", action="store_true", help="compliance: the segmentation factor may draw "
                   "things the graph does not name (the factor's own precision)")
    c.add_argument("--picture-draws", type=_count(8), default=None, help="compliance: draws of a picture that "
                   "loses what its map holds, read back (default: the chain's, 5; 1: drawn once)")
    c.add_argument("--map-draws", type=_count(8), default=None, help="compliance: rounds of N maps drawn while "
                   "none obeys the graph wholly, the N best kept (default: the chain's, 3; 1: N maps)")
    c.add_argument("--layout-tries", type=_count(64), default=None, help="compliance: jitters of each candidate's "
                   "layout judged against the graph, the best kept (default: the chain's, 1: the first)")
    c.add_argument("--no-mend", action="store_true", help="compliance, layout: the encoder's boxes as "
                   "jittered, not mended where the drawn layout breaks the graph")
    c.add_argument("--tiny", action="store_true", help="sd: tiny random Stable Diffusion parts on the CPU "
                   "(the path, not the pictures; no weights needed)")
    c.add_argument("--data", default=None, help="downstream: the generated dataset, a source KIND:PATH "
                   "(e.g. coco-panoptic:DIR/panoptic.json of a `dataset` folder)")
    c.add_argument("--steps", type=_count(1_000_000), default=None, help="downstream: training steps of each "
                   "segmenter (default 300)")

    c = sub.add_parser("train", help="train a model of the tiny backend (resumes from --out)")
    c.add_argument("what", choices=["encoder", "segmenter", "factors", "distill", "familiarity"],
                   help="distill: a student factor that samples in half its teacher's steps (--init the "
                        "teacher's folder, --only the factor, default segmentation); familiarity: the fit "
                        "that tells the pictures a segmenter cannot read (--init the segmenter's folder, "
                        "default the shipped one; --calibration renders; --out the folder it is written to, "
                        "e.g. weights/segmenter)")
    c.add_argument("--out", required=True, help="run folder: checkpoints, log; training resumes from it")
    c.add_argument("--steps", type=_count(10_000_000), default=4000, help="total steps (all runs together)")
    c.add_argument("--batch", type=_count(4096), default=64)
    c.add_argument("--lr", type=float, default=1e-3)
    c.add_argument("--warmup", type=int, default=200)
    c.add_argument("--workers", type=int, default=1, help="DataLoader processes rendering the tiny world")
    c.add_argument("--reuse", type=_count(64), default=1, help="training items drawn per render (with new "
                   "augmentation); raise it where rendering is the bottleneck")
    c.add_argument("--minutes", type=float, default=None,
                   help="wall-time budget in minutes (all runs of --out together): the learning-rate "
                        "schedule ends with it, and --steps becomes an upper bound")
    c.add_argument("--accumulate", type=_count(1024), default=1, help="batches whose gradients add up to "
                   "one step (an effective batch of --batch times this, for a small machine)")
    c.add_argument("--ema", type=_ema, default=0.0, help="keep a moving average of the weights with this "
                   "decay (e.g. 0.999; 0: none) and export it in their place; it is kept with the checkpoint")
    c.add_argument("--checkpoint-every", type=_count(1_000_000), default=500)
    c.add_argument("--log-every", type=_count(1_000_000), default=50)
    c.add_argument("--seed", type=_seed, default=0)
    c.add_argument("--size", type=_size, default=64, help="render size (segmenter)")
    c.add_argument("--dim", type=int, default=None, help="encoder width (a new run only)")
    c.add_argument("--tiny", action="store_true", help="a tiny model (tests of the loop)")
    c.add_argument("--words", default=None, help="word table (default: the shipped one, else built)")
    c.add_argument("--export", default=None, help="when training is finished, write weights, config, "
                   "and a model card with metrics to this folder (e.g. weights/encoder; for factors, "
                   "one sub-folder per factor: weights/factors)")
    c.add_argument("--only", default=None, help="factors: a comma-separated subset of "
                   "segmentation,depth,sketch,image (trained together in one process)")
    c.add_argument("--encoder", default=None, help="factors: the graph encoder's folder (default: shipped)")
    c.add_argument("--consistency", type=float, default=0.0, help="factors: also ask that the segmenter (--judge) "
                   "read the image factor's clean estimate as its class map, with this weight (e.g. 0.1; 0: off)")
    c.add_argument("--predicted-boxes", type=_share, default=0.5, help="factors: the share of the "
                   "segmentation factor's training layouts drawn from the encoder's boxes, the rest from the "
                   "render's own (default 0.5; 0: the factor learns to keep to its layout)")
    c.add_argument("--sample-steps", type=_count(1000), default=None, help="factors: train only at the "
                   "timesteps of the K-step sampler (a factor distilled to K steps, fine-tuned; default: all)")
    c.add_argument("--judge", default=None, help="factors, --consistency: the segmenter's folder (default: shipped)")
    c.add_argument("--init", default=None, help="factors: start from these weights (a folder with one "
                   "sub-folder per factor, e.g. weights/factors) instead of random ones; segmenter, encoder: "
                   "the model's folder (e.g. weights/segmenter)")
    c.add_argument("--data", default=None, help="encoder, segmenter, factors: train on dataset sources instead of "
                   "the tiny world's renders, KIND:PATH[,KIND:PATH...] (see `data`), all in one vocabulary: the "
                   "models draw and read its classes (depth and sketch targets by rule: sgcond_app/reading/maps.py)")
    c.add_argument("--images", default=None, help="--data: the pictures' folder where a source needs one")
    c.add_argument("--small-jpeg", type=_share, default=0.0, help="segmenter: the share of training pictures "
                   "given as a small JPEG enlarged to --size, as `read` sees a small picture (0..1)")
    c.add_argument("--eval-n", type=_count(100_000), default=1000, help="held-out samples for the card")
    c.add_argument("--calibration", type=_count(100_000), default=900, help="familiarity: renders it is fitted "
                   "on (seeds no model or bench uses; a third each as they are, as 64 px and 256 px JPEGs)")
    c.add_argument("--teacher-steps", type=_count(1000), default=8, help="distill: the steps the teacher "
                   "samples in, where its config does not say (an undistilled factor)")
    return p


def _mapped_graphs(path: str, vocabulary=None) -> list:
    """Load and map every graph of a file (onto `vocabulary`'s classes, default the tiny world's);
    errors name the file."""
    from .graph.parse import load_graphs

    return _mapped_each(load_graphs(path), vocabulary, f"{Path(path).name}: ")


def _mapped_each(graphs: list, vocabulary, where: str = "") -> list:
    """Each graph mapped; a refusal names the graph (and `where`, the file) it is about."""
    from .graph.mapping import map_graph

    out = []
    for k, g in enumerate(graphs):
        try:
            out.append(map_graph(g, vocabulary))
        except BadInput as e:
            raise BadInput(f"{where}{f'graph {k}: ' if len(graphs) > 1 else ''}{e}") from None
    return out


def _mapped_argument(arg: str, vocabulary=None) -> list:
    """`parse` and `generate`'s graph: a file, `-` (the text on standard input), or the text itself
    where no file has that name (sentences, triples or sg2im JSON, told apart as the page's text box
    tells them: `parse.parse_graph_text`), each graph mapped as `_mapped_graphs` maps a file's."""
    from .graph.parse import MAX_FILE_BYTES, parse_graph_text

    try:
        named_file = Path(arg).exists()
    except (OSError, ValueError):  # a sentence longer than a file name may be
        named_file = False
    if arg == "-":
        raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput("standard input: not text (it is not valid UTF-8)") from None
    elif not named_file and (" " in arg.strip() or arg.lstrip()[:1] in ("{", "[")) \
            and not arg.strip().lower().endswith((".json", ".txt")):
        text = arg
    else:
        return _mapped_graphs(arg, vocabulary)
    return _mapped_each(parse_graph_text(text), vocabulary)


def cmd_parse(args: argparse.Namespace) -> None:
    mapped = _mapped_argument(args.graph)
    if args.json:
        print(json.dumps({"graphs": [m.to_json() for m in mapped]}, indent=1))
        return
    for k, m in enumerate(mapped):
        if len(mapped) > 1:
            print(f"== graph {k}")
        print(m.graph.to_text() if m.graph is not None else "(nothing the tiny world can draw)")
        for line in m.lines():
            print(f"  - {line}")


def _skip_unmapped(folder: Path, k: int, mapped) -> bool:
    """Make graph k's output folder; for a graph with no known object, write why and say so."""
    from .world import io

    folder.mkdir(parents=True, exist_ok=True)
    if mapped.graph is not None:
        return False
    io.write_json(folder / "report.json", {"skipped": "no object is known to the tiny world",
                                           "mapping": mapped.to_json()})
    print(f"graph {k}: skipped, no object is known to the tiny world", file=sys.stderr)
    return True


def cmd_synth(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from .world import io, render_sample

    if args.graph:
        from .graph.compliance import check
        from .world.layout import render_graph

        mapped = _mapped_graphs(args.graph)
        if len(mapped) == 1 and mapped[0].graph is None:
            raise BadInput(f"{args.graph}: no object of the graph is known to the tiny world")
        out = _output_folder(args.out)
        for k, m in enumerate(tqdm(mapped, desc="synth --graph", unit="graph", disable=len(mapped) < 4)):
            folder = out / f"{k:05d}"
            if _skip_unmapped(folder, k, m):
                continue
            r = render_graph(m.graph, seed=seed_for(args.seed, k), size=args.size, tries=args.tries)
            io.save_maps(folder, r.maps.image, r.maps.segmentation, r.maps.depth, r.maps.sketch,
                         r.maps.instances)
            io.write_json(folder / "graph.json", {**m.graph.to_sg2im(), "instances": r.object_instances})
            report = check(m, r.maps.segmentation, r.maps.depth)
            io.write_json(folder / "report.json", {"mapping": m.to_json(), "tries": r.tries, **report})
        return
    out = _output_folder(args.out)
    for k in tqdm(range(args.n), desc="synth", unit="sample", disable=args.n < 20):
        s = render_sample(seed_for(args.seed, k), args.size)
        folder = out / f"{k:05d}"
        io.save_maps(folder, s.image, s.segmentation, s.depth, s.sketch, s.instances)
        io.write_json(folder / "graph.json", {**s.graph.to_sg2im(), "instances": s.object_instances,
                                              "seed": seed_for(args.seed, k)})


def _per_factor(text: str | None, kind, flag: str) -> dict:
    """'segmentation=12,image=20' -> {"segmentation": 12, "image": 20}."""
    from .fgdm.factors import FACTORS

    out = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in FACTORS:
            raise BadInput(f"{flag}: unknown factor {name!r} (factors: {', '.join(FACTORS)})")
        try:
            out[name] = kind(value)
        except ValueError:
            raise BadInput(f"{flag}: {part.strip()!r} is not FACTOR=NUMBER") from None
    return out


def generation_options(args: argparse.Namespace, factors: tuple[str, ...]):
    """The request's options from `generate`'s flags (each factor's steps, guidance, seed offset)."""
    from .backends import Options

    o = Options(samples=args.samples, scheduler=args.scheduler, only_named=not args.any_class,
                picture_draws=args.picture_draws, map_draws=args.map_draws,
                picture_candidates=args.picture_candidates, mend_layout=not args.no_mend)
    if args.steps:
        o.steps = {f: args.steps for f in factors}
    if args.guidance is not None:
        o.guidance = {f: args.guidance for f in factors}
    o.steps.update(_per_factor(args.factor_steps, int, "--factor-steps"))
    o.guidance.update(_per_factor(args.factor_guidance, float, "--factor-guidance"))
    o.seed_offsets.update(_per_factor(args.factor_seeds, lambda v: check_seed(v, "--factor-seeds"),
                                      "--factor-seeds"))
    return o


def _backend_for(args: argparse.Namespace):
    """The backend `--backend` names, with the weights `--weights` names (checked to be a folder)."""
    from .backends import get_backend

    weights = getattr(args, "weights", None)
    if weights and not Path(weights).is_dir():
        raise BadInput(f"--weights: {weights} is not a folder")
    return get_backend(args.backend, weights=weights)


def cmd_generate(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from . import results as files
    from .backends.output import write_result
    from .graph.vocabularies import load

    backend = _backend_for(args)
    mapped = _mapped_argument(args.graph, load(backend.capabilities.draws_in))
    if len(mapped) == 1 and mapped[0].graph is None:
        raise BadInput(f"{args.graph}: {mapped[0].lines()[-1]}")
    options = generation_options(args, backend.capabilities.factors)
    words = backend.capabilities.prompts
    if not words and (args.prompt is not None or args.negative_prompt is not None):
        raise BadInput(f"--prompt: the {backend.capabilities.name} backend's pictures are not told words "
                       "(--backend sd is)")
    out = _output_folder(args.out)
    for k, m in enumerate(tqdm(mapped, desc="generate", unit="graph", disable=len(mapped) < 2)):
        folder = out / f"{k:05d}" if len(mapped) > 1 else out
        if _skip_unmapped(folder, k, m):
            continue
        if words:  # the person's own words reach the picture (`broccoli`, which the tiny world drops)
            from .backends.sd.prompt import for_request

            options.prompt, options.negative_prompt = for_request(m, args.prompt, args.negative_prompt,
                                                                    getattr(backend, "prompt", None))
        r = backend.generate(m.graph, seed=seed_for(args.seed, k), options=options)
        write_result(folder, r, m)
        files.save_state(folder / files.STATE_FILE, r)  # `edit` continues from the folder
        if len(mapped) == 1:
            print(f"map: {_scores(r.verdict)}", end="")
            if r.picture_verdict is not None:
                print(f"; picture, read back: {_scores(r.picture_verdict)}", end="")
            print(f"; {r.seconds['total']:.2f} s; wrote {folder}")
            for line in r.notes:
                print(f"note: {line}")


def _scores(v) -> str:
    accuracy = "n/a" if v.relation_accuracy is None else f"{v.relation_accuracy:.2f}"
    return f"object recall {v.object_recall:.2f}, relation accuracy {accuracy}"


def cmd_read(args: argparse.Namespace) -> None:
    from . import results as files
    from .reading.load import decode

    picture = decode(args.picture)
    backend = _backend_for(args)
    if not backend.capabilities.inverts:
        raise BadInput(f"the {backend.capabilities.name} backend cannot read pictures")
    judged = backend.familiarity(picture) if args.strict and hasattr(backend, "familiarity") else None
    if judged is not None and not judged["familiar"]:
        raise BadInput(f"{Path(args.picture).name}: {_unfamiliar(judged)}; it was not read (without --strict "
                       "it is read, with a warning)")
    out = _output_folder(args.out)
    r = backend.read(picture, args.seed, None, args.inversion, args.steps)
    rec = backend.reconstruct(r) if hasattr(backend, "reconstruct") else None
    extra = {"source": {"file": Path(args.picture).name, "width": int(picture.shape[1]),
                        "height": int(picture.shape[0])},
             "inversion": {"kind": args.inversion, "steps": args.steps,
                           "reconstruction_psnr_db": None if rec is None else round(files.psnr(rec, r.image), 2)}}
    files.write_folder(out, r, r.image, extra, rec)
    psnr = extra["inversion"]["reconstruction_psnr_db"]
    f = r.familiarity
    familiar = "" if f is None else f"; familiarity {f['score']:.1f} (at most {f['threshold']:.1f} is familiar)"
    if r.confidence:
        k = min(range(len(r.confidence)), key=r.confidence.__getitem__)
        familiar += f"; least sure of {r.graph.objects[k].label} #{k} ({r.confidence[k]:.0%})"
    print(f"read {len(r.graph.objects)} objects, {len(r.graph.relations)} relations: {r.graph.to_text()}; "
          f"reconstruction {psnr} dB{familiar}; {r.seconds['total']:.2f} s; wrote {out}")
    if not r.trusted:
        print(f"warning: {_unfamiliar(f)}: its maps and graph are not to be trusted", file=sys.stderr)


def _unfamiliar(familiarity: dict) -> str:
    from .reading.familiar import unlike

    return f"the picture is {unlike(familiarity)}"


def cmd_edit(args: argparse.Namespace) -> None:
    import dataclasses

    import numpy as np

    from . import results as files
    from .reading import edit

    result = files.load_state(args.folder)
    v = result.vocab  # the classes of its maps: the tiny world's, or ADE20K's for a photo the sd backend read
    backend = _backend_for(args)
    picture = np.asarray(result.state.get("inv_picture", result.image), np.uint8)
    stages = None
    what, maps = "depth", {}
    if args.op is not None:
        edited = edit.apply_edit(result.segmentation, result.depth, result.sketch, args.op, v)
        seg, said, graph, what = edited.segmentation, [edited.message], result.graph, edited.rerun
        maps = {k: m for k, m in (("depth", edited.depth), ("sketch", edited.sketch)) if m is not None}
    elif args.concept is not None:
        from .reading.concepts import concept_edit

        stages, words = concept_edit(result.segmentation, result.depth, result.graph, args.concept,
                                     getattr(backend, "redraw", None), backend.capabilities.prompts, v)
        said, graph = stages.said, stages.graph
        seg = stages.segmentations[-1] if stages.segmentations else result.segmentation
    else:
        mapped = _mapped_graphs(args.graph, v)
        if len(mapped) != 1 or mapped[0].graph is None:
            world = "the tiny world" if v.name == "tiny" else v.name
            raise BadInput(f"{args.graph}: give one graph whose objects {world} knows")
        graph = mapped[0].graph
        seg, said = edit.graph_edit(result.segmentation, result.depth, result.graph, graph,
                                    getattr(backend, "redraw", None), not backend.capabilities.prompts, v)
    out = _output_folder(args.out)
    if stages is not None:
        kw = {"concepts": words} if words is not None else {}
        r = backend.steer(dataclasses.replace(result, graph=graph), stages.segmentations, stages.scales, **kw)
    else:
        r = backend.rerun(dataclasses.replace(result, graph=graph), seg, what, **maps)
    from .fgdm.stages import edited_where

    outside = _change_outside(picture, r.image, result.segmentation, r.segmentation, edited_where(result, **maps))
    extra = {"edit": {"done": said, "mean_change_outside": outside}}
    files.write_folder(out, r, picture, extra)
    v = r.verdict
    print(f"{'; '.join(said)}. Relations hold: {sum(x.holds is True for x in v.relations)}/{len(v.relations)}; "
          f"{r.seconds.get('total', 0):.2f} s; wrote {out}")
    for line in r.notes:
        print(f"note: {line}")


def _change_outside(before, after, seg_before, seg_after, also=None, grow: int = 4) -> float | None:
    """Mean absolute change (0..255) of the picture outside where the segmentation changed (and
    `also`, where an edited map changed), grown by `grow` map pixels."""
    import numpy as np
    from scipy import ndimage

    diff = seg_before != seg_after if also is None else (seg_before != seg_after) | also
    changed = ndimage.binary_dilation(diff, iterations=grow) if diff.any() else np.zeros(seg_before.shape, bool)
    k = before.shape[0] // changed.shape[0]
    keep = ~np.kron(changed, np.ones((k, k), bool))
    if not keep.any():
        return None
    return round(float(np.abs(before.astype(np.int16) - after.astype(np.int16))[keep].mean()), 3)


def cmd_sheet(args: argparse.Namespace) -> None:
    from .backends import Options, get_backend
    from .bench import DEFAULT_GRAPHS
    from .pictures import contact_sheet

    graphs = args.graphs or str(DEFAULT_GRAPHS)
    mapped = [m for m in _mapped_graphs(graphs) if m.graph is not None][: args.n]
    if not mapped:
        raise BadInput(f"{graphs}: no graph has an object the tiny world knows")
    out = _output_file(args.out, "--out", (".png",))
    backend = get_backend()
    rows = [(m.graph.to_text(), backend.generate(m.graph, seed=seed_for(args.seed, k),
                                                 options=Options(samples=args.samples)))
            for k, m in enumerate(mapped)]
    contact_sheet(rows).save(out)
    print(f"wrote {args.out} ({len(rows)} graphs)")


def cmd_check(args: argparse.Namespace) -> None:
    from .graph.compliance import check
    from .world import io

    mapped = _mapped_graphs(args.graph)
    if len(mapped) != 1:
        raise BadInput(f"{args.graph}: holds {len(mapped)} graphs; check takes one")
    mapped = mapped[0]
    seg = io.read_segmentation(args.segmentation)
    depth = io.read_depth(args.depth, seg.shape) if args.depth else None
    result = check(mapped, seg, depth)
    if args.json:
        print(json.dumps(result, indent=1))
        return
    for o in result["objects"]:
        state = {True: "present", False: "MISSING", None: "not known"}[o["present"]]
        print(f"object {o['index']} {o['label']}: {state}")
    for r in result["relations"]:
        state = {True: "holds", False: "FAILS", None: "not judged"}[r["holds"]]
        src = mapped.source.objects
        why = f" ({r['reason']})" if r.get("reason") else ""
        print(f"{src[r['subject']].label} {r['predicate']} {src[r['object']].label}: {state}{why}")
    fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    print(f"object recall {fmt(result['object_recall'])}, relation accuracy {fmt(result['relation_accuracy'])}")


def cmd_palette(args: argparse.Namespace) -> None:
    """The tiny backend's palette (`vocab tiny` prints the same table with its source)."""
    from .graph.vocabularies import load

    v = load("tiny")
    if args.json:
        print(json.dumps({"classes": [{"id": i, "name": n, "rgb": [int(x) for x in rgb]}
                                      for i, n, rgb in zip(v.ids, v.classes, v.palette, strict=True)]}))
        return
    for i, n, rgb, stuff in zip(v.ids, v.classes, v.palette, v.stuff, strict=True):
        print(f"{i:3d} {n:10s} {rgb[0]:3d} {rgb[1]:3d} {rgb[2]:3d}  {'stuff' if stuff else 'thing'}")


def cmd_vocab(args: argparse.Namespace) -> None:
    from .graph.vocabularies import load

    v = load(args.name)
    if args.json:
        print(json.dumps(v.to_json()))
        return
    print(f"{v.name}: {len(v)} classes ({sum(v.stuff)} stuff). {v.source}")
    for i, n, stuff, rgb in zip(v.ids, v.classes, v.stuff, v.palette, strict=True):
        print(f"{i:4d} {n:22s} {rgb[0]:3d} {rgb[1]:3d} {rgb[2]:3d}  {'stuff' if stuff else 'thing'}")


def cmd_bench(args: argparse.Namespace) -> None:
    json_out = _output_file(args.json_out, "--json") if args.json_out else None
    if args.weights and not Path(args.weights).is_dir():
        raise BadInput(f"--weights: {args.weights} is not a folder")
    result = benches.run(args.what, n=args.n, size=args.size, graphs=args.graphs, weights=args.weights,
                         samples=args.samples, any_class=args.any_class, tiny=args.tiny, data=args.data,
                         steps=args.steps, picture_draws=args.picture_draws, layout_tries=args.layout_tries,
                         map_draws=args.map_draws, mend_layout=not args.no_mend)
    _print_figures(result)
    if json_out:
        json_out.write_text(json.dumps(result, indent=1) + "\n")


def _print_figures(result: dict, indent: str = "") -> None:
    for key, value in result.items():
        if isinstance(value, dict):
            print(f"{indent}{key}:")
            _print_figures(value, indent + "  ")
        else:
            print(f"{indent}{key}: {value:.4f}" if isinstance(value, float) else f"{indent}{key}: {value}")


def cmd_train(args: argparse.Namespace) -> None:
    from .training import commands

    if args.what == "encoder":
        result = commands.train_encoder(args)
    elif args.what == "segmenter":
        result = commands.train_segmenter(args)
    elif args.what == "distill":
        result = commands.train_distill(args)
    elif args.what == "familiarity":
        result = commands.train_familiarity(args)
    else:
        result = commands.train_factors(args)
    _print_figures(result)


def cmd_data(args: argparse.Namespace) -> None:
    from collections import Counter

    from .data import export, sources

    src = sources.parse(args.source, args.images, args.size)
    problems = sources.Problems()
    if args.what == "graphs":
        if not args.out:
            raise BadInput("data graphs: --out names the JSON file the graphs are written to")
        out = _output_file(args.out, "--out", (".json",))
        graphs = [{**r.graph.to_sg2im(), "image": r.picture_path.name if r.picture_path else f"{r.key}.png"}
                  for r in src.records(problems, args.limit)]
        out.write_text(json.dumps(graphs, indent=1) + "\n")
        print(f"wrote {len(graphs)} graphs in {src.vocabulary.name}'s words to {out}")
    elif args.what == "export":
        if not args.out:
            raise BadInput("data export: --out names the dataset's folder")
        folder = _output_folder(args.out)
        records = src.records(problems, args.limit)
        shard, n = 0, 0
        while True:
            chunk = []
            for r in records:
                chunk.append(export.Sample(r.key.replace(".", "_"), r.picture(), r.segmentation, r.instances,
                                           r.vocabulary, r.graph.to_sg2im(), meta={"source": src.name}))
                if len(chunk) == args.shard_size:
                    break
            if not chunk:
                break
            export.write_shard(chunk, folder, shard, n)
            shard, n = shard + 1, n + len(chunk)
        counts = export.finish(folder, src.vocabulary, f"python -m sgcond_app data export {args.source}")
        print(f"wrote {counts['samples']} samples in {counts['shards']} shards to {folder}")
    else:
        n, objects, relations, classes = 0, 0, Counter(), Counter()
        for r in src.records(problems, args.limit):
            n += 1
            objects += len(r.graph.objects)
            relations.update(rel.predicate for rel in r.graph.relations)
            classes.update(r.graph.labels)
        if args.what == "stats":
            print(f"{src.name}: {n} records in {src.vocabulary.name}'s {len(src.vocabulary)} classes; "
                  f"{objects / max(n, 1):.2f} objects and {sum(relations.values()) / max(n, 1):.2f} relations a graph")
            print("classes: " + ", ".join(f"{k} {v}" for k, v in classes.most_common(20)))
            print("predicates: " + ", ".join(f"{k} {v}" for k, v in relations.most_common()))
        else:
            print(f"{src.name}: {n} records read")
    for why, count in problems.skipped.items():
        print(f"skipped {count}: {why}")
    for line in problems.lines[:50]:
        print(f"problem: {line}", file=sys.stderr)
    if len(problems.lines) > 50:
        print(f"... and {len(problems.lines) - 50} more problems", file=sys.stderr)
    if args.what == "check" and problems.lines:
        raise BadInput(f"{len(problems.lines)} files could not be read (listed above)")


def cmd_dataset(args: argparse.Namespace) -> None:
    import shlex

    from .data import export

    if args.graphs:
        mapped = _mapped_graphs(args.graphs)
    else:
        from .graph.mapping import map_graph
        from .world import render_sample

        mapped = [map_graph(render_sample(args.seed + k, 64).graph) for k in range(args.from_world)]
    jobs = export.jobs_for(mapped, args.per_graph, args.seed)
    unknown = sum(m.graph is None for m in mapped)
    if unknown:
        print(f"left out {unknown} of {len(mapped)} graphs: no object of theirs is known to the tiny world")
    out = _output_folder(args.out)
    made_by = "python -m sgcond_app dataset " + " ".join(shlex.quote(a) for a in sys.argv[2:])

    def said(row) -> None:
        print(f"shard {int(row['shard'])}: {int(row['samples'])} of {int(row['tried'])} kept, "
              f"{float(row['seconds']):.1f} s", flush=True)

    r = export.generate(jobs, out, args.shard_size, args.workers, args.address, args.samples, args.min_recall,
                        args.weights, made_by, said)
    rate = "" if r["samples_per_second"] is None else f", {r['samples_per_second']} samples/s"
    print(f"{r['samples']} samples in {r['shards']} shards in {out} ({r['shards_made_now']} shards made now in "
          f"{r['seconds']} s on {r['workers']} Ray workers{rate})")


COMMANDS = {"parse": cmd_parse, "synth": cmd_synth, "check": cmd_check, "palette": cmd_palette,
            "bench": cmd_bench, "train": cmd_train, "generate": cmd_generate,
            "sheet": cmd_sheet, "read": cmd_read, "edit": cmd_edit, "vocab": cmd_vocab, "data": cmd_data,
            "dataset": cmd_dataset}


def _joined_concepts(argv: list[str]) -> list[str]:
    """`--concept -car` as `--concept=-car`: argparse would read a value starting with '-' as an option."""
    out: list[str] = []
    k = 0
    while k < len(argv):
        if argv[k] == "--concept" and k + 1 < len(argv) and argv[k + 1].startswith("-") and argv[k + 1][1:2] != "-":
            out.append(f"--concept={argv[k + 1]}")
            k += 2
            continue
        out.append(argv[k])
        k += 1
    return out


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = build_parser().parse_args(_joined_concepts(sys.argv[1:] if argv is None else list(argv)))
        COMMANDS[args.command](args)
    except BadInput as e:
        print(f"error: {one_line(str(e))}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the output's reader went away (| head): not an error
        return 0
    except OSError as e:  # a file named on the command line: too long a name, no room, no permission
        if e.filename is None:
            log.exception("internal error while running %s", " ".join(argv if argv is not None else sys.argv[1:]))
            return 1
        print(f"error: {shown(str(e.filename), 200)}: {e.strerror or type(e).__name__}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception:
        log.exception("internal error while running %s", " ".join(argv if argv is not None else sys.argv[1:]))
        return 1
    return 0
