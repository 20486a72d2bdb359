"""Scene graphs: the value type, parsing, the vocabulary and its open-vocabulary mapping, the judge."""

from .scene_graph import Relation, SceneGraph, SGObject

__all__ = ["Relation", "SceneGraph", "SGObject"]
