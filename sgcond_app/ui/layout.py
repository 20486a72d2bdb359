"""The Studio tab's layout: every component of the page, room by room, in the order the page shows
them, and nothing else (no events: `wiring.py` connects them). `studio_tab` returns the components
grouped by room (`StudioParts`) for the wiring.

On the page: the graph room (canvas, triples, text, examples, and the pictures room's tab) beside
the generate room (settings, backend, Generate and Stop, the relations); below them the maps, the
edit room (legend, picked object, mask operations, reruns) and the results (candidates, download,
report.json)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import gradio as gr

from ..backends import RERUNS
from ..editing.session import OPERATIONS
from . import graph_views as views
from .edit_room import MASK_BUTTONS, PASTE
from .generate_room import negative_placeholder, vocabulary_markdown
from .graph_room import EXAMPLE, example_gallery
from .raw_inputs import RawNumber, RawSlider
from .result_views import DISPLAY, LEGEND_JS, MAP_HEIGHT, RELATION_HEADERS, legend_html
from .state import Studio

# For launch(css=...): maps and candidates drawn larger than they are stay crisp pixels.
CSS = ".sg-map img { image-rendering: pixelated; }\n"
LEGEND_CSS = """
.sg-legend { border-collapse: collapse; font-size: 13px; width: 100%; }
.sg-legend td, .sg-legend th { padding: 2px 6px; text-align: left; }
.sg-legend tbody tr { cursor: pointer; }
.sg-legend tbody tr:hover { background: rgba(37, 99, 235, 0.12); }
.sg-legend tr.sg-stuff { color: var(--body-text-color-subdued); }
.sg-legend .sg-unasked { color: #b45309; font-size: 12px; margin-left: 4px; }
.sg-swatch { display: inline-block; width: 14px; height: 14px; border-radius: 3px; border: 1px solid #0004; }
"""


@dataclass(frozen=True)
class GraphParts:
    """The graph in three views, the examples, a graph file in and out."""

    canvas: gr.HTML
    table: gr.Dataframe
    use_table: gr.Button
    text: gr.Textbox
    use_text: gr.Button
    upload: gr.UploadButton
    export: gr.Button
    exported: gr.File
    offered: gr.Gallery  # the graphs of an imported file
    imported: gr.State  # and the graphs themselves
    examples: gr.Gallery
    notes: gr.Markdown | None = None  # how each word was understood: atop the generate room's column


@dataclass(frozen=True)
class PictureParts:
    """Start from a picture: read it, edit it by graph or by concept, invert a result."""

    picture: gr.File
    read: gr.Button
    apply_graph: gr.Button
    invert: gr.Button
    concepts: gr.Textbox
    apply_concepts: gr.Button


@dataclass(frozen=True)
class GenerateParts:
    """What Generate takes and what it says of the result."""

    seed: RawNumber
    samples: RawSlider
    choice: gr.Dropdown  # the backend
    vocabulary: gr.Markdown
    prompt_box: gr.Accordion
    prompt: gr.Textbox
    negative: gr.Textbox
    go: gr.Button
    stop: gr.Button
    relations: gr.Dataframe


@dataclass(frozen=True)
class MapParts:
    """The four maps and the overlay, and the picture read beside the picture now."""

    seg: gr.Image
    depth: gr.Image
    sketch: gr.Image
    image: gr.Image
    overlay: gr.Image
    compare: gr.ImageSlider


@dataclass(frozen=True)
class EditParts:
    """The picked object and what edits it, the reruns, the graph matched to the mask."""

    legend: gr.HTML
    picked: gr.Markdown
    x: RawNumber
    y: RawNumber
    step: RawNumber
    buttons: dict  # MaskButton.name -> gr.Button, for each of edit_room.MASK_BUTTONS
    source: gr.Dropdown  # the map to paste from
    paste: gr.Button
    rerun_all: gr.Button
    rerun_image: gr.Button
    operation: gr.Dropdown  # edit by name, as the API does
    amount: RawNumber
    apply: gr.Button
    what: gr.Dropdown  # rerun from
    again: gr.Button
    match: gr.Button
    nearer: gr.Slider  # the picked object's depth change, a share of the range (+ nearer, - farther)
    depth: gr.Button
    stroke: gr.Textbox  # the stroke's points X0,Y0,X1,Y1,... (clicks on the sketch map add them)
    draw: gr.Button
    erase: gr.Button
    clear: gr.Button


@dataclass(frozen=True)
class ResultParts:
    """The candidates, the download, report.json."""

    gallery: gr.Gallery
    index: RawNumber  # the candidate the API's choose takes
    zip_button: gr.Button
    zip_file: gr.File
    report: gr.JSON


@dataclass(frozen=True)
class StudioParts:
    session: gr.State  # the session's graph, result and edits (`editing.session.Session`)
    graph: GraphParts
    pictures: PictureParts
    generate: GenerateParts
    maps: MapParts
    edit: EditParts
    results: ResultParts


def studio_tab(studio: Studio) -> StudioParts:
    """The Studio tab's components, inside the current gr.Tab."""
    session = gr.State(None)
    imported = gr.State([])  # the graphs of the last imported file
    gr.Markdown("Draw a scene graph on the canvas (or type triples, or pick an example), then **Generate**: "
                "the segmentation, depth, sketch and image arrive one by one. Click an object in the "
                "segmentation, edit it, and rerun what follows. Maps are 64x64; so are the coordinates.")
    with gr.Row():
        with gr.Column(scale=3):
            graph = graph_room(imported)
            with gr.Tab("Start from a picture", elem_id="sg-picture-tab"):
                pictures = pictures_room()
        with gr.Column(scale=2):
            example = views.read_text(EXAMPLE)
            notes = gr.Markdown(views.notes_markdown(example, views.understand(example, studio.drawn_vocabulary())),
                                elem_id="sg-notes")
            graph = replace(graph, notes=notes)
            generate = generate_room(studio)
            match = gr.Button("Update the graph to match the mask", size="sm", elem_id="sg-match")
    maps = maps_row()
    edit = edit_room(match)
    results = results_row()
    return StudioParts(session, graph, pictures, generate, maps, edit, results)


def graph_room(imported: gr.State) -> GraphParts:
    """The canvas above three tabs: the triples, the text (with a file in and out), the examples."""
    example = views.read_text(EXAMPLE)
    canvas = gr.HTML(value=views.canvas_value(example), html_template="<div></div>", css_template=views.canvas_css(),
                     js_on_load=views.canvas_js(), elem_id="sg-canvas")
    with gr.Tab("Triples"):
        table = gr.Dataframe(value=views.to_table(example), headers=list(views.TABLE_HEADERS), datatype="str",
                             interactive=True, row_count=(1, "dynamic"), column_count=(3, "fixed"),
                             label="One row per relation; a row with only a subject is an object on its own; "
                             "'car #2' tells two cars apart", elem_id="sg-table")
        use_table = gr.Button("Use the table", size="sm", elem_id="sg-use-table")
    with gr.Tab("Text / sg2im JSON"):
        text = gr.Textbox(value=EXAMPLE, lines=6, max_lines=30, show_label=False, elem_id="sg-text",
                          placeholder="red car left of tree; dog near car — or paste sg2im JSON")
        with gr.Row():
            use_text = gr.Button("Use the text", size="sm", elem_id="sg-use-text")
            upload = gr.UploadButton("Import a file", size="sm", file_types=[".json", ".txt"], type="filepath",
                                     elem_id="sg-import")
            export = gr.Button("Export as sg2im JSON", size="sm", elem_id="sg-export")
        exported = gr.File(label="graph.json", visible=False, elem_id="sg-exported")
        offered = gr.Gallery(visible=False, columns=4, height=260, allow_preview=False, object_fit="contain",
                             label="Graphs in the file (click one to load it)", elem_id="sg-imported")
    with gr.Tab("Examples"):
        examples = gr.Gallery(value=example_gallery(), columns=4, height=300, allow_preview=False,
                              object_fit="contain", elem_id="sg-examples", label="Click a graph to load it")
    return GraphParts(canvas, table, use_table, text, use_text, upload, export, exported, offered, imported,
                      examples)


def pictures_room() -> PictureParts:
    # A file, not gr.Image: Gradio would decode an image itself, before our limits are checked.
    picture = gr.File(label="A picture (PNG, JPEG, WebP, BMP, GIF; up to 20 MB and 40 megapixels; centre-cropped)",
                      file_types=[".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"], type="filepath", height=120,
                      elem_id="sg-picture")
    with gr.Row():
        read = gr.Button("Read the picture", variant="primary", elem_id="sg-read")
        apply_graph = gr.Button("Apply the graph to the picture", elem_id="sg-apply-graph")
        invert = gr.Button("Invert the result shown", elem_id="sg-invert")
    with gr.Row():
        concepts = gr.Textbox(label="Concepts", placeholder="-car   or   +sheep,-dog   (WORD:SCALE, default 1.5)",
                              scale=3, elem_id="sg-concepts")
        apply_concepts = gr.Button("Apply the concepts", scale=1, elem_id="sg-apply-concepts")
    gr.Markdown("Reading finds the objects and relations and inverts the picture, so that an edit "
                "(in the mask, or of the graph above: turn a relation around, relabel or delete "
                "a node; or by concept: -car takes the cars away, +sheep,-dog makes the dogs "
                "sheep) redraws only what changed. A generated result can be inverted too.",
                elem_id="sg-picture-help")
    return PictureParts(picture, read, apply_graph, invert, concepts, apply_concepts)


def generate_room(studio: Studio) -> GenerateParts:
    """The seed and the number of candidates, the backend (its classes, its prompt), Generate and
    Stop, and the relations judged."""
    with gr.Row():
        seed = RawNumber(label="Seed", value=0, precision=0, minimum=0, elem_id="sg-seed")
        samples = RawSlider(1, studio.max_samples(), value=min(studio.config.page_samples, studio.max_samples()),
                            step=1, label="Candidates (N, SBPC)", elem_id="sg-samples")
    names = studio.names()
    choice = gr.Dropdown(names, value=names[0], label="Backend", visible=len(names) > 1,
                         info="what makes the pictures (the first choice of another loads it)", elem_id="sg-backend")
    with gr.Accordion("Classes this backend knows", open=False, elem_id="sg-vocabulary-box"):
        vocabulary = gr.Markdown(vocabulary_markdown(studio, names[0]), elem_id="sg-vocabulary")
    with gr.Accordion("Prompt (told to Stable Diffusion)", open=False, visible=studio.prompts(names[0]),
                      elem_id="sg-prompt-box") as prompt_box:
        prompt = gr.Textbox(label="Prompt", lines=2, max_lines=6, elem_id="sg-prompt",
                            placeholder="Empty: composed from the graph (the objects, their attributes "
                            "and the relations, in your words)")
        negative = gr.Textbox(label="Negative prompt", lines=1, max_lines=4, elem_id="sg-negative",
                              placeholder=negative_placeholder())
    with gr.Row():
        go = gr.Button("Generate", variant="primary", elem_id="sg-generate")
        stop = gr.Button("Stop", variant="stop", elem_id="sg-stop")
    relations = gr.Dataframe(label="Relations, judged on the map and on the picture read back",
                             headers=list(RELATION_HEADERS), datatype="str", interactive=False,
                             elem_id="sg-relations")
    return GenerateParts(seed, samples, choice, vocabulary, prompt_box, prompt, negative, go, stop, relations)


def maps_row() -> MapParts:
    gr.Markdown("Click an object in the **segmentation** or the **overlay** to pick it. Depth: bright is "
                "near. The overlay outlines the picked object.", elem_id="sg-maps-help")
    with gr.Row(elem_classes="sg-maps", elem_id="sg-maps"):
        # Short titles: the maps' corner buttons cover long ones.
        seg, depth, sketch, image, overlay = (
            gr.Image(label=label, format="png", interactive=False, height=MAP_HEIGHT, elem_id=f"sg-{name}",
                     elem_classes="sg-map", buttons=["download"])
            for name, label in (("seg", "Segmentation"), ("depth", "Depth"), ("sketch", "Sketch"),
                                ("image", "Image"), ("overlay", "Overlay")))
    compare = gr.ImageSlider(label="The picture read, and now (drag to compare)", visible=False, format="png",
                             elem_id="sg-compare", elem_classes="sg-map", interactive=False, max_height=DISPLAY)
    return MapParts(seg, depth, sketch, image, overlay, compare)


def edit_room(match: gr.Button) -> EditParts:
    """The legend and the picked object beside the controls that edit it, a row each: where (x, y,
    the step), the mask's buttons (edit_room.MASK_BUTTONS), paste, the reruns, and the edit by name.
    A new kind of operation is one more row here: the depth slider and the stroke on the sketch are.
    `match` (drawn under the relations) joins it."""
    with gr.Row():
        with gr.Column(scale=2):
            legend = gr.HTML(legend_html(None), js_on_load=LEGEND_JS, css_template=LEGEND_CSS, elem_id="sg-legend")
            picked = gr.Markdown("Click an object in the segmentation or a row above.", elem_id="sg-picked")
        with gr.Column(scale=3):
            with gr.Row():
                x = RawNumber(label="x", value=32, precision=0, min_width=60, elem_id="sg-x")
                y = RawNumber(label="y", value=40, precision=0, min_width=60, elem_id="sg-y")
                step = RawNumber(label="Step (px)", value=8, precision=0, minimum=1, maximum=63, min_width=80,
                                 elem_id="sg-step")
            with gr.Row():
                buttons = {b.name: gr.Button(b.label, size="sm", elem_id=f"sg-{b.name}") for b in MASK_BUTTONS}
            with gr.Row():
                source = gr.Dropdown([], value="", label="Paste from", allow_custom_value=True, scale=2,
                                     elem_id="sg-source")
                paste = gr.Button(PASTE.label, size="sm", scale=2, elem_id=f"sg-{PASTE.name}")
            with gr.Row():
                nearer = gr.Slider(-1, 1, value=0.3, step=0.05, label="Depth: nearer (+) or farther (−), a share of "
                                   "the range", scale=3, elem_id="sg-nearer")
                depth = gr.Button("Apply depth", size="sm", scale=1, elem_id="sg-apply-depth")
            with gr.Row():
                stroke = gr.Textbox(label="Stroke on the sketch (click the sketch map to add points)",
                                    placeholder="X0,Y0,X1,Y1,...", scale=3, elem_id="sg-stroke")
                draw = gr.Button("Draw stroke", size="sm", scale=1, elem_id="sg-draw-stroke")
                erase = gr.Button("Erase along it", size="sm", scale=1, elem_id="sg-erase-stroke")
                clear = gr.Button("Clear points", size="sm", scale=1, elem_id="sg-clear-stroke")
            with gr.Row():
                rerun_all = gr.Button("Rerun what the edits change", variant="primary", elem_id="sg-rerun")
                rerun_image = gr.Button("Rerun the image only", elem_id="sg-rerun-image")
            with gr.Accordion("Edit by name (as the API does)", open=False, elem_id="sg-by-name"):
                with gr.Row():
                    operation = gr.Dropdown(list(OPERATIONS), value="move_right", label="Operation",
                                            elem_id="sg-operation")
                    amount = RawNumber(label="Pixels or scale", value=8, elem_id="sg-amount")
                    apply = gr.Button("Apply", elem_id="sg-apply")
                    what = gr.Dropdown(list(RERUNS), value="depth", label="Rerun from", elem_id="sg-what")
                    again = gr.Button("Rerun", elem_id="sg-again")
    return EditParts(legend, picked, x, y, step, buttons, source, paste, rerun_all, rerun_image, operation, amount,
                     apply, what, again, match, nearer, depth, stroke, draw, erase, clear)


def results_row() -> ResultParts:
    with gr.Row():
        with gr.Column(scale=3):
            # As many columns as candidates (Gradio fits them to the count), in 3/5 of the width.
            gallery = gr.Gallery(label="SBPC candidates (click one to continue from it)", columns=8,
                                 height=240, object_fit="contain", allow_preview=False, format="png",
                                 elem_id="sg-candidates", elem_classes="sg-map")
        with gr.Column(scale=2):
            index = RawNumber(label="Candidate", value=0, precision=0, visible=False)
            zip_button = gr.Button("Download zip", elem_id="sg-download")
            zip_file = gr.File(label="Result", visible=False, elem_id="sg-zip")
            with gr.Accordion("report.json", open=False, elem_id="sg-report"):
                report = gr.JSON()
    return ResultParts(gallery, index, zip_button, zip_file, report)
