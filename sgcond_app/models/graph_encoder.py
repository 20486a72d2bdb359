"""The graph encoder (SGDiff's idea with open-vocabulary words) and the image tower it is trained with.

Graph side: labels and predicates enter as frozen MiniLM vectors through a learned projection,
attributes as learned embeddings; several triple-convolution layers (sg2im's design, written as a
torch-geometric `MessagePassing`) update objects and predicates together; a per-graph "image" node
joined to every object carries the global context (as in sg2im). Outputs: one embedding per
object, one per graph, and a layout (a box and a disparity per object).

Image side (used for pretraining and retrieval): a small CNN to an 8x8 grid of tokens, a
transformer over them, a pooled global embedding. Pretraining (see `training/encoder.py`):
contrastive graph/image loss with hard negatives, masked reconstruction of object regions from the
graph's object embeddings, and box regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.aggr import AttentionalAggregation

from ..graph import vocab
from ..graph.mapping import ATTRIBUTE_ALIASES
from ..graph.scene_graph import SceneGraph
from .pretrained import register
from .words import WORD_DIM, WordTable

ATTRIBUTE_INDEX = {a: i for i, a in enumerate(vocab.ATTRIBUTES)}


@dataclass
class GraphBatch:
    """A batch of graphs as tensors. Objects of all graphs are concatenated (`obj_graph` says whose)."""

    obj_vec: torch.Tensor  # (N, 384) label vectors
    obj_attr: torch.Tensor  # (N, A) multi-hot attributes
    obj_graph: torch.Tensor  # (N,) graph index of each object
    edge_index: torch.Tensor  # (2, E) subject, object (global object indices)
    pred_vec: torch.Tensor  # (E, 384)
    num_graphs: int

    def to(self, device) -> GraphBatch:
        return GraphBatch(self.obj_vec.to(device), self.obj_attr.to(device), self.obj_graph.to(device),
                          self.edge_index.to(device), self.pred_vec.to(device), self.num_graphs)

    @property
    def counts(self) -> list[int]:
        return torch.bincount(self.obj_graph, minlength=self.num_graphs).tolist()


def attribute_index(word: str) -> int | None:
    word = ATTRIBUTE_ALIASES.get(word, word)
    return ATTRIBUTE_INDEX.get(word)


def tensorize(graphs: list[SceneGraph], words: WordTable) -> GraphBatch:
    """Graphs in any words (unknown ones are embedded on the fly) -> a GraphBatch on the CPU."""
    labels, attrs, owner, subj, obj, preds = [], [], [], [], [], []
    offset = 0
    for g_index, g in enumerate(graphs):
        for o in g.objects:
            labels.append(o.label)
            row = [0.0] * len(vocab.ATTRIBUTES)
            for a in o.attributes:
                k = attribute_index(a)
                if k is not None:
                    row[k] = 1.0
            attrs.append(row)
            owner.append(g_index)
        for r in g.relations:
            subj.append(offset + r.subject)
            obj.append(offset + r.object)
            preds.append(r.predicate)
        offset += len(g.objects)
    return GraphBatch(
        obj_vec=words.vectors(labels),
        obj_attr=torch.tensor(attrs, dtype=torch.float32).reshape(-1, len(vocab.ATTRIBUTES)),
        obj_graph=torch.tensor(owner, dtype=torch.long),
        edge_index=torch.tensor([subj, obj], dtype=torch.long).reshape(2, -1),
        pred_vec=words.vectors(preds),
        num_graphs=len(graphs),
    )


def _mlp(inp: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(inp, hidden), nn.GELU(), nn.Linear(hidden, out))


class TripleConv(MessagePassing):
    """One layer of triple convolution: every (subject, predicate, object) triple goes through an MLP
    that gives new subject, predicate and object vectors; each object averages what its triples
    sent it (as subject and as object), and objects and predicates are updated residually."""

    def __init__(self, dim: int) -> None:
        super().__init__(aggr="mean")
        self.triple = _mlp(3 * dim, 2 * dim, 3 * dim)
        self.node = _mlp(2 * dim, 2 * dim, dim)
        self.norm_x = nn.LayerNorm(dim)
        self.norm_p = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, p: torch.Tensor):
        s, o = edge_index
        ms, mp, mo = self.triple(torch.cat([x[s], p, x[o]], dim=-1)).chunk(3, dim=-1)
        targets = torch.cat([s, o])
        agg = self.propagate(torch.stack([targets, targets]), msg=torch.cat([ms, mo]),
                             size=(x.size(0), x.size(0)))
        x = self.norm_x(x + self.node(torch.cat([x, agg], dim=-1)))
        p = self.norm_p(p + mp)
        return x, p

    def message(self, msg: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return msg


@dataclass
class GraphOutput:
    objects: torch.Tensor  # (N, D)
    global_: torch.Tensor  # (B, D), not normalised
    boxes: torch.Tensor  # (N, 4) x0, y0, x1, y1 as fractions of the image
    disparity: torch.Tensor  # (N,) near is 1

    def split(self, batch: GraphBatch) -> list[torch.Tensor]:
        return list(self.objects.split(batch.counts))


class GraphEncoder(nn.Module):
    def __init__(self, dim: int, layers: int) -> None:
        super().__init__()
        self.label_proj = nn.Linear(WORD_DIM, dim)
        self.pred_proj = nn.Linear(WORD_DIM, dim)
        self.attr_emb = nn.Linear(len(vocab.ATTRIBUTES), dim, bias=False)
        self.obj_in = nn.Sequential(nn.GELU(), nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.pred_in = nn.Sequential(nn.GELU(), nn.Linear(dim, dim), nn.LayerNorm(dim))
        self.image_node = nn.Parameter(torch.randn(dim) * 0.02)
        self.in_image = nn.Parameter(torch.randn(dim) * 0.02)
        self.convs = nn.ModuleList(TripleConv(dim) for _ in range(layers))
        self.pool = AttentionalAggregation(gate_nn=nn.Linear(dim, 1), nn=nn.Linear(dim, dim))
        self.global_out = _mlp(2 * dim, 2 * dim, dim)
        self.layout = _mlp(dim, dim, 5)

    def forward(self, b: GraphBatch) -> GraphOutput:
        n, bsz = b.obj_vec.size(0), b.num_graphs
        x = self.obj_in(self.label_proj(b.obj_vec) + self.attr_emb(b.obj_attr))
        p = self.pred_in(self.pred_proj(b.pred_vec))
        # Node n + g is graph g's image node; every object is "in image" of its graph.
        x = torch.cat([x, self.image_node.expand(bsz, -1)])
        objs = torch.arange(n, device=x.device)
        edges = torch.cat([b.edge_index, torch.stack([objs, n + b.obj_graph])], dim=1)
        p = torch.cat([p, self.in_image.expand(n, -1)])
        for conv in self.convs:
            x, p = conv(x, edges, p)
        obj, img = x[:n], x[n:]
        pooled = self.pool(obj, b.obj_graph, dim_size=bsz)
        glob = self.global_out(torch.cat([pooled, img], dim=-1))
        raw = self.layout(obj).float()
        centre, extent = torch.sigmoid(raw[:, :2]), torch.sigmoid(raw[:, 2:4])
        boxes = torch.cat([centre - extent / 2, centre + extent / 2], dim=-1).clamp(0, 1)
        return GraphOutput(obj, glob, boxes, torch.sigmoid(raw[:, 4]))


class ImageEncoder(nn.Module):
    """64x64 RGB -> (grid tokens (B, 64, D) before the transformer, global (B, D))."""

    def __init__(self, dim: int, channels: tuple[int, ...], layers: int, heads: int, grid: int) -> None:
        super().__init__()
        blocks: list[nn.Module] = [nn.Conv2d(3, channels[0], 3, padding=1), nn.GroupNorm(8, channels[0]), nn.GELU()]
        chans = list(channels) + [dim]
        for a, c in zip(chans[:-1], chans[1:]):
            blocks += [nn.Conv2d(a, c, 4, stride=2, padding=1), nn.GroupNorm(8, c), nn.GELU(),
                       nn.Conv2d(c, c, 3, padding=1), nn.GroupNorm(8, c), nn.GELU()]
        self.cnn = nn.Sequential(*blocks)
        self.grid = grid
        self.pos = nn.Parameter(torch.randn(grid * grid, dim) * 0.02)
        self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
        layer = nn.TransformerEncoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.transformer = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, dim))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feat = self.cnn(image)
        if feat.shape[-1] != self.grid:
            feat = F.adaptive_avg_pool2d(feat, self.grid)
        tokens = feat.flatten(2).transpose(1, 2)
        h = torch.cat([self.cls.expand(tokens.size(0), -1, -1), tokens + self.pos], dim=1)
        h = self.transformer(h)
        return tokens, self.out(h[:, 0])


class MaskedDecoder(nn.Module):
    """Reconstructs the pixels of hidden grid cells from the visible ones and the graph's objects."""

    def __init__(self, dim: int, layers: int, heads: int, grid: int, patch: int) -> None:
        super().__init__()
        self.mask_token = nn.Parameter(torch.randn(dim) * 0.02)
        self.pos = nn.Parameter(torch.randn(grid * grid, dim) * 0.02)
        layer = nn.TransformerDecoderLayer(dim, heads, 2 * dim, dropout=0.0, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.decoder = nn.TransformerDecoder(layer, layers)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, patch * patch * 3))

    def forward(self, tokens: torch.Tensor, hidden: torch.Tensor, objects: torch.Tensor,
                object_pad: torch.Tensor) -> torch.Tensor:
        """tokens (B, G, D); hidden (B, G) bool; objects (B, O, D) padded where object_pad is True."""
        x = torch.where(hidden.unsqueeze(-1), self.mask_token.to(tokens.dtype), tokens) + self.pos
        return self.out(self.decoder(x, objects, memory_key_padding_mask=object_pad))


@register
class SceneGraphEncoder(nn.Module):
    """Graph encoder + image tower + masked decoder, trained together; `graph` is what the chain uses."""

    @dataclass
    class Config:
        dim: int = 128
        graph_layers: int = 5
        image_channels: tuple[int, ...] = (32, 64, 96)
        image_layers: int = 2
        decoder_layers: int = 2
        heads: int = 4
        image_size: int = 64
        grid: int = 8

    def __init__(self, config: Config) -> None:
        super().__init__()
        self.config = config
        c = config
        self.graph = GraphEncoder(c.dim, c.graph_layers)
        self.image = ImageEncoder(c.dim, tuple(c.image_channels), c.image_layers, c.heads, c.grid)
        self.decoder = MaskedDecoder(c.dim, c.decoder_layers, c.heads, c.grid, c.image_size // c.grid)
        self.logit_scale = nn.Parameter(torch.tensor(2.66))  # log(1 / 0.07), as CLIP starts

    @property
    def patch(self) -> int:
        return self.config.image_size // self.config.grid

    def encode_graphs(self, batch: GraphBatch) -> GraphOutput:
        return self.graph(batch)

    def encode_images(self, images: torch.Tensor) -> torch.Tensor:
        """images: (B, 3, H, W) in [-1, 1] -> (B, D) unit-norm global embeddings."""
        return F.normalize(self.image(images)[1].float(), dim=-1)

    def graph_embeddings(self, batch: GraphBatch) -> torch.Tensor:
        return F.normalize(self.graph(batch).global_.float(), dim=-1)


def image_tensor(images) -> torch.Tensor:
    """uint8 (B, H, W, 3) numpy or tensor -> float (B, 3, H, W) in [-1, 1]."""
    t = torch.as_tensor(images)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    return t.permute(0, 3, 1, 2).float() / 127.5 - 1.0


def pad_objects(objects: torch.Tensor, obj_graph: torch.Tensor, num_graphs: int):
    """(N, D) concatenated object vectors -> (B, O, D) padded and (B, O) pad mask (True = padding)."""
    counts = torch.bincount(obj_graph, minlength=num_graphs)
    width = int(counts.max().item()) if counts.numel() else 0
    start = torch.cumsum(counts, 0) - counts
    slot = torch.arange(objects.size(0), device=objects.device) - start[obj_graph]
    out = objects.new_zeros(num_graphs, max(width, 1), objects.size(1))
    out[obj_graph, slot] = objects
    pad = torch.ones(num_graphs, max(width, 1), dtype=torch.bool, device=objects.device)
    pad[obj_graph, slot] = False
    return out, pad
