"""Every event of the Studio tab, in one place: which component's event calls which handler, with
which inputs and outputs, under which API name.

First the API: each endpoint on a hidden button, its handler wrapped by `page.as_api` (a mistake
raises, so that a client gets the message as an AppError), the maps returned at their own 64 px
into hidden images. Then the page's events, room by room, each handler wrapped by `page.on_page(n)`
(a mistake is one message and the n outputs keep what they showed), the maps shown UP times
larger. Both run the same handlers on the same session (`gr.State`); a handler that needs the
page's backends gets the `Studio` bound first (`bound`)."""

from __future__ import annotations

import functools
import inspect
from types import MappingProxyType

import gradio as gr

from . import edit_room, generate_room, graph_room, pictures_room
from .layout import StudioParts
from .page import as_api, on_page
from .state import Studio

PRIVATE = MappingProxyType({"api_visibility": "private"})
API_NAMES = ("generate", "rerun", "choose", "edit_mask", "match_graph", "download", "export_graph", "read_picture",
             "apply_graph", "invert", "apply_concepts", "edit_depth", "edit_sketch")
# After Generate, once the new segmentation is on screen, the maps are scrolled into view (on a
# 1000 px high window they start below the fold); nothing moves when Generate was refused. It runs
# as the Generate event's own js (which hands the inputs on unchanged): a separate js-only listener
# ran only after the first map had arrived.
SCROLL_TO_MAPS_JS = """
(...inputs) => {
  const img = () => document.querySelector('#sg-seg img');
  const old = img() ? img().src : null, start = Date.now();
  const tick = () => {
    const now = img();
    if (now && now.src !== old) {
      document.getElementById('sg-maps').scrollIntoView({behavior: 'smooth', block: 'nearest'});
    } else if (Date.now() - start < 60000) setTimeout(tick, 100);
  };
  setTimeout(tick, 100);
  return inputs;
}
"""


def bound(fn, *args, **kwargs):
    """fn with its first arguments (and some keywords) given, as Gradio must see it: with the
    signature and the type hints of the arguments left. (Gradio finds where to put gr.Request,
    gr.SelectData and gr.EventData by the handler's type hints, which a functools.partial hides.)"""
    given = functools.partial(fn, *args, **kwargs)
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def call(*a, **k):
            yield from given(*a, **k)
    else:
        @functools.wraps(fn)
        def call(*a, **k):
            return given(*a, **k)
    call.__signature__ = inspect.signature(given)
    return call


def wire(studio: Studio, p: StudioParts) -> None:
    """Connect the Studio tab's events (inside the gr.Blocks that holds `p`)."""
    g, pic, gen, m, e, r = p.graph, p.pictures, p.generate, p.maps, p.edit, p.results
    s = p.session
    graph_out = [g.canvas, g.text, g.table, g.notes]
    page_out = [m.seg, m.depth, m.sketch, m.image, m.overlay, r.report, gen.relations, s]
    page_edit = [m.seg, m.depth, m.sketch, m.overlay, gen.relations, e.x, e.y, e.picked, s]
    # What follows every new result and every edit, on the page only (the API's too).
    follow = dict(fn=on_page(5)(bound(edit_room.after_result, studio)), inputs=[g.canvas, s],
                  outputs=[g.canvas, e.legend, r.gallery, e.source, m.compare], **PRIVATE)
    show_file = dict(fn=lambda: gr.update(visible=True), inputs=None, **PRIVATE)

    # --- the API ------------------------------------------------------------------------------------
    # Registered before the page's events: Gradio names a private event after its function too, and
    # the API's names are taken first.
    api = {name: gr.Button(visible=False) for name in API_NAMES}
    hidden_maps = [gr.Image(format="png", visible=False) for _ in range(5)]
    api_out = [*hidden_maps, r.report, gen.relations, s]
    erasing = gr.Checkbox(False, visible=False)  # edit_sketch's second argument: erase along the stroke
    api["export_graph"].click(as_api(graph_room.export_graph), [g.text], [g.exported], api_name="export_graph")
    api["download"].click(as_api(generate_room.download), [s], [r.zip_file], api_name="download")
    api_runs = [
        api["generate"].click(as_api(bound(generate_room.generate, studio)),
                              [g.text, gen.seed, gen.samples, s, gen.choice, gen.prompt, gen.negative], api_out,
                              api_name="generate"),
        api["rerun"].click(as_api(bound(edit_room.rerun, studio)), [e.what, s], api_out, api_name="rerun"),
        api["choose"].click(as_api(bound(generate_room.choose, studio)), [r.index, s], api_out, api_name="choose"),
        api["read_picture"].click(as_api(bound(pictures_room.read_picture, studio)),
                                  [pic.picture, gen.seed, s, gen.choice], api_out, api_name="read_picture"),
        api["apply_graph"].click(as_api(bound(pictures_room.apply_graph, studio)), [g.text, s], api_out,
                                 api_name="apply_graph"),
        api["invert"].click(as_api(bound(pictures_room.invert, studio)), [s], api_out, api_name="invert"),
        api["apply_concepts"].click(as_api(bound(pictures_room.apply_concepts, studio)), [pic.concepts, s], api_out,
                                    api_name="apply_concepts"),
        api["edit_mask"].click(as_api(edit_room.edit_mask_api), [e.operation, e.x, e.y, e.amount, e.source, s],
                               [*hidden_maps[:2], gen.relations, e.x, e.y, s], api_name="edit_mask"),
        api["edit_depth"].click(as_api(edit_room.edit_depth_api), [e.x, e.y, e.nearer, s],
                                [hidden_maps[0], hidden_maps[1], gen.relations, e.x, e.y, s], api_name="edit_depth"),
        api["edit_sketch"].click(as_api(edit_room.edit_sketch_api), [e.stroke, erasing, s], [hidden_maps[2], s],
                                 api_name="edit_sketch"),
    ]
    for event in api_runs:
        event.then(**follow)
    api["match_graph"].click(as_api(edit_room.match_graph), [s], [g.text, gen.relations, s], api_name="match_graph")

    # --- the graph room -----------------------------------------------------------------------------
    g.canvas.edit(on_page(4)(bound(graph_room.from_canvas, studio)), [g.canvas, s], graph_out, **PRIVATE)
    g.use_text.click(on_page(4)(bound(graph_room.from_text, studio)), [g.text, g.canvas, s], graph_out, **PRIVATE)
    g.use_table.click(on_page(4)(bound(graph_room.from_table, studio)), [g.table, g.canvas, s], graph_out,
                      **PRIVATE)
    g.examples.select(on_page(4)(bound(graph_room.from_example, studio)), [g.canvas, s], graph_out, **PRIVATE)
    g.upload.upload(on_page(6)(bound(graph_room.import_graph, studio)), [g.upload, g.canvas, s],
                    [*graph_out, g.offered, g.imported], **PRIVATE)
    g.offered.select(on_page(4)(bound(graph_room.from_imported, studio)), [g.imported, g.canvas, s], graph_out,
                     **PRIVATE)
    g.export.click(on_page(1)(graph_room.export_graph), [g.text], [g.exported], **PRIVATE).then(
        outputs=[g.exported], **show_file)

    # --- the generate room --------------------------------------------------------------------------
    # A run streams into page_out (and the views, where it makes a new graph); `follow` comes after.
    runs = [
        gen.go.click(on_page(12)(bound(generate_room.generate_from_views, studio)),
                     [g.text, g.table, g.canvas, gen.seed, gen.samples, s, gen.choice, gen.prompt, gen.negative],
                     [*page_out, *graph_out], js=SCROLL_TO_MAPS_JS, **PRIVATE),
        r.gallery.select(on_page(8)(bound(generate_room.choose_selected, studio)), [s], page_out, **PRIVATE),
    ]
    gen.stop.click(bound(generate_room.request_stop, studio), None, None, concurrency_limit=None, **PRIVATE)
    gen.choice.input(on_page(3)(bound(generate_room.pick_backend, studio)), [gen.choice],
                     [gen.choice, gen.prompt_box, gen.vocabulary], **PRIVATE).then(
        on_page(1)(bound(generate_room.prompt_hint, studio)), [g.text, gen.choice], [gen.prompt], **PRIVATE)
    g.text.change(on_page(1)(bound(generate_room.prompt_hint, studio)), [g.text, gen.choice], [gen.prompt],
                  trigger_mode="always_last", **PRIVATE)
    r.zip_button.click(on_page(1)(generate_room.download), [s], [r.zip_file], **PRIVATE).then(
        outputs=[r.zip_file], **show_file)

    # --- the pictures room --------------------------------------------------------------------------
    runs += [
        pic.read.click(on_page(12)(bound(pictures_room.read_from_page, studio)),
                       [pic.picture, gen.seed, g.canvas, s, gen.choice], [*page_out, *graph_out],
                       js=SCROLL_TO_MAPS_JS, **PRIVATE),
        pic.apply_graph.click(on_page(12)(bound(pictures_room.apply_graph_from_page, studio)),
                              [g.text, g.table, g.canvas, s], [*page_out, *graph_out], **PRIVATE),
        pic.invert.click(on_page(8)(bound(pictures_room.invert, studio, display=True)), [s], page_out, **PRIVATE),
        pic.apply_concepts.click(on_page(12)(bound(pictures_room.apply_concepts_from_page, studio)),
                                 [pic.concepts, g.canvas, s], [*page_out, *graph_out], **PRIVATE),
    ]

    # --- the edit room ------------------------------------------------------------------------------
    # An edit answers page_edit (edit_room.EDIT_OUTPUTS); a new operation's events go here.
    by_place = [e.x, e.y, e.step, e.source, s]
    edits = [e.apply.click(on_page(9)(bound(edit_room.edit_mask, display=True)),
                           [e.operation, e.x, e.y, e.amount, e.source, s], page_edit, **PRIVATE)]
    for button in edit_room.MASK_BUTTONS:
        edits.append(e.buttons[button.name].click(on_page(9)(bound(edit_room.press, button)), by_place, page_edit,
                                                  **PRIVATE))
    edits.append(e.paste.click(on_page(9)(bound(edit_room.press, edit_room.PASTE)), by_place, page_edit, **PRIVATE))
    edits.append(e.depth.click(on_page(9)(bound(edit_room.edit_depth, display=True)), [e.x, e.y, e.nearer, s],
                               page_edit, **PRIVATE))
    stroke_out = [m.sketch, e.stroke, e.picked, s]
    for button, erase in ((e.draw, False), (e.erase, True)):
        edits.append(button.click(on_page(4)(bound(edit_room.edit_sketch, erase=erase, display=True)),
                                  [e.stroke, s], stroke_out, **PRIVATE))
    m.sketch.select(on_page(1)(edit_room.add_point), [e.stroke], [e.stroke], **PRIVATE)
    e.clear.click(lambda: "", None, [e.stroke], **PRIVATE)
    pick_out = [e.x, e.y, m.overlay, e.picked]
    for picture in (m.seg, m.overlay):
        picture.select(on_page(4)(edit_room.pick_selected), [s], pick_out, **PRIVATE)
    e.legend.pick(on_page(4)(edit_room.pick_row), [s], pick_out, **PRIVATE)
    runs += [
        e.again.click(on_page(8)(bound(edit_room.rerun, studio, display=True)), [e.what, s], page_out, **PRIVATE),
        e.rerun_all.click(on_page(8)(bound(edit_room.rerun, studio, "depth", display=True)), [s], page_out,
                          **PRIVATE),
        e.rerun_image.click(on_page(8)(bound(edit_room.rerun, studio, "image", display=True)), [s], page_out,
                            **PRIVATE),
    ]
    e.match.click(on_page(3)(edit_room.match_graph), [s], [g.text, gen.relations, s], **PRIVATE).then(
        on_page(4)(bound(graph_room.from_text, studio)), [g.text, g.canvas, s], graph_out, **PRIVATE)

    for event in (*runs, *edits):
        event.then(**follow)
