"""gr.Number and gr.Slider that hand their handler the value as it was sent, to be checked there
with one clear message (gr.Number's own check fails on a string with a TypeError: an internal
error, and through the API the client's generic "the upstream app has raised an exception").

Subclasses, not patched instances: for a session whose event answered a component with gr.skip()
or gr.update(), Gradio rebuilds that component from its class. Gradio writes a type-stub file
(raw_inputs.pyi) beside any module that defines a component; git ignores it.
"""

from __future__ import annotations

import gradio as gr


class RawNumber(gr.Number):
    """A number box whose value reaches the handler unchecked (the handler checks it)."""

    is_template = True  # drawn by the page as a gr.Number

    def preprocess(self, payload):  # type: ignore[override]
        return payload


class RawSlider(gr.Slider):
    """A slider whose value reaches the handler unchecked (the handler checks it)."""

    is_template = True  # drawn by the page as a gr.Slider

    def preprocess(self, payload):  # type: ignore[override]
        return payload
