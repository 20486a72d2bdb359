"""Benchmarks: measurements that print numbers (`python -m sgcond_app bench NAME`).

Every bench is registered below, once, with a one-line help text and the function that runs it
(`registry.py`); `run(what, **options)` dispatches through the registry, and the command line takes
its choices and its help from it. Each runner imports its measurements when it is called, so that
this package imports nothing but the standard library and `bench --help` starts at once (no numpy,
torch or gradio). The measurements, by what they measure:

  world.py    the tiny world and the graph side: renderer speed, the judge, `synth --graph`, words
  models.py   each trained model apart: retrieval, layout, segmenter, load times, factors, quality
  chain.py    the whole chain on a graph file: compliance, SBPC, fidelity, diversity, latency, edits
  studio.py   the studio through its API (gradio_client), in this process
  memory.py   the app's memory and temporary files under traffic, in a child process
  attack.py   the API as an attacker meets it: bad values of every kind, in a child process
  outside.py  pictures from outside the tiny world: which the reading model says it cannot read
  gpu.py      everything that needs an accelerator, in one process (small sizes on a CPU)
  serve.py    the backend on Ray Serve: what batching across requests gives
  sentences.py  descriptions in sentences read into graphs, against the graphs meant
"""

from __future__ import annotations

from .registry import DEFAULT_GRAPHS, REGISTRY, Bench, Options, bench, run

__all__ = ["DEFAULT_GRAPHS", "REGISTRY", "Bench", "Options", "bench", "run"]

_GRAPH_FILE = "--graphs, default assets/graphs/people.json"


@bench("render", "renderer speed: tiny-world samples a second at --size, rendered with their graphs on one core "
       "(--n, default 500)")
def _render(o: Options) -> dict:
    from . import world

    return world.render(o.n or 500, o.size)


@bench("judge", "the judge on --n tiny-world renders (default 120), and its agreement with the reference "
       "rules of tests/oracles (a source checkout only)")
def _judge(o: Options) -> dict:
    from . import world

    return world.judge(o.n or 120, o.size)


@bench("placement", f"`synth --graph` on a graph file ({_GRAPH_FILE}): are its relations obeyed?")
def _placement(o: Options) -> dict:
    from . import world

    return world.placement(o.graphs, o.size)


@bench("retrieval", "graph<->image retrieval with the encoder among --n held-out pairs (default 1000), with "
       "hard negatives and held-out synonyms")
def _retrieval(o: Options) -> dict:
    from . import models

    return models.retrieval(o.n or 1000, o.size, o.weights)


@bench("layout", "the encoder's boxes, drawn as maps, judged against the graph: --n held-out renders "
       "(default 500), or a graph file (--graphs)")
def _layout(o: Options) -> dict:
    from . import models

    return models.encoder_layout(o.n or 500, o.size, o.graphs, o.weights)


@bench("segmenter", "the segmenter's mIoU on --n held-out renders (default 500) at --size, and on renders "
       "drawn at 64 px given as JPEG and enlarged to 128 px (as `read` sees a small picture)")
def _segmenter(o: Options) -> dict:
    from . import models

    return models.segmenter(o.n or 500, o.size, o.weights)


@bench("load", "seconds to import torch and the model code, and to load the shipped encoder and segmenter")
def _load(o: Options) -> dict:
    from . import models

    return models.load(o.weights)


@bench("factors", "each factor from the true conditions of --n held-out renders (default 200; the model "
       "cards' figures)")
def _factors(o: Options) -> dict:
    from . import models

    return models.factors(o.n or 200, o.weights)


@bench("compliance", f"the chain on a graph file ({_GRAPH_FILE}; --n limits the number of graphs): its "
       "segmentation and picture judged (--any-class: the factor may draw any class)")
def _compliance(o: Options) -> dict:
    from . import chain

    return chain.compliance(o.graphs, o.samples, o.n, o.weights, any_class=o.any_class,
                            picture_draws=o.picture_draws, layout_tries=o.layout_tries,
                            map_draws=o.map_draws, mend_layout=o.mend_layout)


@bench("colours", "things graphs name with a colour, generated with and without painting them: shown in "
       "that colour, still read as their class (--graphs: default assets/graphs/outside.json; --n held-out renders)")
def _colours(o: Options) -> dict:
    from . import chain

    return chain.colours(o.graphs, o.samples, o.n)


@bench("sbpc", "SBPC against the whole chain once per seed (one seed at a time, and batched per factor): "
       "seconds and recall on a graph file")
def _sbpc(o: Options) -> dict:
    from . import chain

    return chain.sbpc(o.graphs, o.samples, o.n)


@bench("fidelity", "the segmenter's reading of each generated picture against the segmentation it was "
       "conditioned on (mIoU), on a graph file (--weights: a whole weights folder)")
def _fidelity(o: Options) -> dict:
    from . import chain

    return chain.fidelity(o.graphs, o.samples, o.n, o.weights)


@bench("diversity", "--samples seeds of each graph, each a whole chain: pairwise IoU of the segmentations "
       "and pixel distance of the pictures")
def _diversity(o: Options) -> dict:
    from . import chain

    return chain.diversity(o.graphs, o.samples, o.n)


@bench("latency", "median seconds of the whole chain and of each factor at N = 1 and N = 8, on the first "
       "graph of a graph file")
def _latency(o: Options) -> dict:
    from . import chain

    return chain.latency(o.graphs)


@bench("throughput", "whole chains batched: each factor on --n samples of the first graph as one batch "
       "(default 64); pictures a second")
def _throughput(o: Options) -> dict:
    from . import chain

    return chain.throughput(o.graphs, o.n or 64)


@bench("remote", "what the remote backend's hop adds: --samples N generates of the first graph in this "
       "process and through a second `python app.py` on this machine (medians of 5)")
def _remote(o: Options) -> dict:
    from . import remote

    return remote.run(o.graphs, o.samples)


@bench("serve", "Ray Serve, one replica with this machine's cores: requests a second and latency at 1, 4 and "
       "16 concurrent users, each request's picture drawn alone and batched with up to 3 others'")
def _serve(o: Options) -> dict:
    from . import serve

    return serve.run()


@bench("clients", "50 clients at once share --n requests (default 500: generate, move, rerun), on one "
       "instance in one process and on local Ray Serve with 1 and 2 replicas: failures, cross-talk, requests a "
       "second, memory")
def _clients(o: Options) -> dict:
    from . import clients

    return clients.run(o.n or 500)


@bench("edit", "move each graph's largest object 8 px right and rerun: the object's shift, and how the "
       "picture changed outside and inside its places; then bring it 0.3 nearer (depth) and draw a stroke "
       "(sketch): the maps' and the picture's change near and away")
def _edit(o: Options) -> dict:
    from . import chain

    return chain.edit(o.graphs, o.samples, o.n)


@bench("studio", "the app through gradio_client: generate, move, rerun on each graph of a graph file; "
       "20 clients at once")
def _studio(o: Options) -> dict:
    from . import studio

    return studio.run(o.graphs, o.samples, o.n)


@bench("memory", "the app's memory and temporary files over --n requests (default 500), `python app.py` "
       "driven by gradio_client")
def _memory(o: Options) -> dict:
    from . import memory

    return memory.run(o.n or 500)


@bench("words", "object words that name a kind of a class, and words that name none, through the mapping "
       "(--graphs: a word list; default both lists in assets/words)")
def _words(o: Options) -> dict:
    from . import world

    return world.words(o.graphs)


@bench("quality", "the image factor's pictures from the true maps of --n held-out renders (default 500): "
       "Fréchet distance to the renders, and fidelity (--weights: a factors folder)")
def _quality(o: Options) -> dict:
    from . import models

    return models.quality(o.n or 500, o.weights)


@bench("downstream", "FG-DM's claim: a segmenter trained on generated data (--data, a dataset `dataset` "
       "wrote), on tiny-world renders, and on both, the same --steps each (default 300, batch 16, --size), "
       "its mIoU on --n held-out renders (default 500)")
def _downstream(o: Options) -> dict:
    from . import models

    if not o.data:
        from ..errors import BadInput

        raise BadInput("bench downstream: --data names the generated dataset (e.g. coco-panoptic:DIR/panoptic.json)")
    return models.downstream(o.data, o.steps or 300, o.n or 500, o.size)


@bench("pictures", "pictures in: --n held-out renders (default 200) as JPEG at --size, read, inverted and "
       "edited (move, flip a relation, relabel, take a class away by concept): reconstruction PSNR, "
       "picture->graph, edits read back")
def _pictures(o: Options) -> dict:
    from . import pictures

    return pictures.run(o.n or 200, o.size)


@bench("sd", "the sd backend (Stable Diffusion 1.5 + ControlNets, LEDITS++): seconds of a 512 px, 20-step "
       "generate, a mask-edit rerun, read+invert and a concept edit on a GPU with the real weights "
       "(--tiny: tiny random parts on the CPU)")
def _sd(o: Options) -> dict:
    from . import sd

    return sd.run(o.tiny, o.samples, weights=o.weights)


@bench("attack", "the API as an attacker meets it: the cases an outside probe found, then --n fuzzed calls "
       "(default 2000) over every endpoint of `python app.py --serve-backend`: clear refusals, internal "
       "errors, generic messages, cut-off answers, peak memory (needs hypothesis)")
def _attack(o: Options) -> dict:
    from . import attack

    return attack.run(o.n or 2000)


@bench("outside", "pictures the tiny backend says it cannot read: --n held-out renders (default 200) as JPEG at "
       "64 and at 256 px, the chain's pictures of graphs people wrote, scikit-image's real photos, made-up "
       "non-photos: share refused, AUROC, threshold (needs scikit-image)")
def _outside(o: Options) -> dict:
    from . import outside

    return outside.run(o.n or 200, o.graphs)


@bench("gpu", "everything that needs an accelerator, in one process (tools/gpu_check.sh): the tiny backend on "
       "the device (latency, batched, fp32 against bf16, the same pixels as on the CPU), SD 1.5 + three "
       "ControlNets and the extractors at their published sizes on random weights; on a CPU, small sizes")
def _gpu(o: Options) -> dict:
    from . import gpu

    return gpu.run(o.graphs)


@bench("sentences", "descriptions in sentences read into graphs (--graphs: a JSON list of {text, objects, "
       "relationships}; default assets/sentences/heldout.json): objects precision/recall/F1 (label and attributes, "
       "and label alone), relations found, texts with no graph, ms per text, the failing cases")
def _sentences(o: Options) -> dict:
    from . import sentences

    return sentences.run(o.graphs)
