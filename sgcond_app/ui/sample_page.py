"""Two tabs of the page beside the studio: "Tiny world" shows rendered samples with their conditions
and graph, and "Parse a graph" shows how a typed graph is understood.

Handlers are plain functions (callable without a browser, and exposed as API endpoints `sample` and
`parse`) that raise `BadInput` for a person's mistake: the API's events turn it into `gr.Error`, the
page's into a message that leaves the page as it was (`page.on_page`).
"""

from __future__ import annotations

import gradio as gr
import numpy as np

from ..errors import BadInput
from ..graph import vocabularies
from ..graph.draw import draw_graph
from ..graph.mapping import MappedGraph, map_graph
from ..graph.parse import parse_graph_text
from ..graph.scene_graph import SceneGraph, SGObject
from ..pictures import depth_to_rgb, gray_to_rgb
from ..world import render_sample
from .page import as_api, on_page, whole
from .raw_inputs import RawNumber

SIZES = (64, 128, 256)
DEFAULT_SIZE = 128
MAX_SEED = 2**31 - 1
GRAPH_SIZE = (640, 420)

WORD_HEADERS = ("where", "kind", "you wrote", "understood as", "score", "how")

PARSE_EXAMPLES = (
    "red car left of tree; dog near car",
    "large house behind white sheep\nsheep on grass\nsun above house\nroad below house",
    '{"objects": ["boy", "kite", "sky", "field"],\n'
    ' "relationships": [[1, "above", 0], [0, "standing on", 3], [1, "in", 2]]}',
)


def map_images(*labels: str) -> list[gr.Image]:
    """Read-only PNG images for maps, one per label, in the current layout block."""
    return [gr.Image(label=label, format="png", interactive=False) for label in labels]


def _check_seed(seed: object) -> int:
    return whole(seed, "the seed", 0, MAX_SEED)


def _check_size(size: int | str | None) -> int:
    sizes = ", ".join(map(str, SIZES))
    value = DEFAULT_SIZE if size is None else whole(size, "the size", min(SIZES), max(SIZES))
    if value not in SIZES:
        raise BadInput(f"the size must be one of {sizes}, not {value}")
    return value


# --- handlers ----------------------------------------------------------------------------------------


def show_sample(seed: float | int | None, size: int | str | None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """One tiny-world sample: image, segmentation, depth, sketch, the graph drawn and as text."""
    sample = render_sample(_check_seed(seed), _check_size(size))
    return (
        sample.image,
        vocabularies.load("tiny").colorize(sample.segmentation),
        depth_to_rgb(sample.depth),
        gray_to_rgb(sample.sketch),
        np.asarray(draw_graph(sample.graph, GRAPH_SIZE)),
        sample.graph.to_text(),
    )


def _display_graph(mapped: MappedGraph) -> tuple[SceneGraph, dict[int, bool | None]]:
    """The graph as the tiny world understands it, plus the dropped objects (drawn dashed, red)."""
    dropped = [o for o, j in zip(mapped.source.objects, mapped.source_to_graph) if j is None]
    kept = mapped.graph
    objects = (kept.objects if kept is not None else ()) + tuple(SGObject(o.label, o.attributes)
                                                                 for o in dropped)
    relations = kept.relations if kept is not None else ()
    first_dropped = len(objects) - len(dropped)
    status: dict[int, bool | None] = {i: False for i in range(first_dropped, len(objects))}
    return SceneGraph(objects, relations), status


def parse_graph(text: str | None) -> tuple[np.ndarray, list[list[str]], str]:
    """A typed graph (text triples or sg2im JSON) -> its drawing, the word table and notes."""
    graphs = parse_graph_text(text or "")
    mapped = map_graph(graphs[0])
    graph, status = _display_graph(mapped)
    image = np.asarray(draw_graph(graph, GRAPH_SIZE, object_status=status))
    rows = [[w.where, w.kind, w.original, w.mapped if w.mapped is not None else "(dropped)",
             f"{w.score:.2f}", w.method] for w in mapped.words]

    notes: list[str] = []
    if len(graphs) > 1:
        notes.append(f"The text holds {len(graphs)} graphs; the first is shown.")
    notes += mapped.lines()
    md = "\n".join(f"- {line}" for line in notes) if notes else "Every word is known to the tiny world."
    if mapped.graph is not None:
        md += "\n\n**Understood as**\n\n```\n" + mapped.graph.to_text() + "\n```"
    return image, rows, md


# --- the page ----------------------------------------------------------------------------------------


def tiny_world_tab(demo: gr.Blocks) -> None:
    gr.Markdown("A procedurally rendered scene of the tiny world, with the conditions the chain "
                "samples before the image (segmentation, depth, sketch) and the scene graph it obeys. "
                "The same seed always gives the same scene.")
    with gr.Row():
        seed = RawNumber(label="Seed", value=0, precision=0, minimum=0, maximum=MAX_SEED,
                             elem_id="sg-world-seed")
        # allow_custom_value: the size is checked by show_sample, so that a client may send 128 or "128"
        # (Gradio's own check of a choice is by type too, and refused the "128" its API page offers).
        size = gr.Dropdown(label="Size (pixels)", choices=list(SIZES), value=DEFAULT_SIZE, elem_id="sg-world-size",
                           allow_custom_value=True)
        show = gr.Button("Show sample", variant="primary", elem_id="sg-world-show")
    with gr.Row():
        image, seg, depth, sketch = map_images("Image", "Segmentation", "Depth (bright = near)", "Sketch")
    with gr.Row():
        drawing = gr.Image(label="Scene graph", format="png", interactive=False, scale=3)
        text = gr.Textbox(label="Scene graph as text", lines=12, max_lines=30, scale=2,
                          interactive=False)
    outputs = [image, seg, depth, sketch, drawing, text]
    gr.Button(visible=False).click(as_api(show_sample), [seed, size], outputs, api_name="sample")
    # The page opens with a sample and follows every change; these triggers stay out of the API,
    # where `sample` already serves.
    gr.on([demo.load, show.click, seed.change, size.change], on_page(6)(show_sample), [seed, size], outputs,
          api_visibility="private")


def parse_tab() -> None:
    gr.Markdown("Type a scene graph as triples (`red car left of tree; dog near car`, one per line "
                "or separated by `;`) or paste sg2im JSON. The drawing shows the graph in the tiny "
                "world's words; objects it does not know are dashed and red.")
    with gr.Row():
        with gr.Column(scale=2):
            text = gr.Textbox(label="Scene graph", value=PARSE_EXAMPLES[0], lines=8, max_lines=30,
                              elem_id="sg-parse-text")
            parse = gr.Button("Parse", variant="primary", elem_id="sg-parse")
            gr.Examples(examples=[[e] for e in PARSE_EXAMPLES], inputs=[text])
        with gr.Column(scale=3):
            drawing = gr.Image(label="As understood", format="png", interactive=False)
    words = gr.Dataframe(label="How each word was understood", headers=list(WORD_HEADERS),
                         datatype="str", interactive=False, wrap=True)
    notes = gr.Markdown()
    gr.Button(visible=False).click(as_api(parse_graph), [text], [drawing, words, notes], api_name="parse")
    gr.on([parse.click, text.submit], on_page(3)(parse_graph), [text], [drawing, words, notes],
          api_visibility="private")
