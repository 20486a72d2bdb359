"""The Gradio page: components and handlers. Nothing here imports torch; models sit behind backends."""

from .sample_page import create_demo

__all__ = ["create_demo"]
