"""The network as a diagram: Graphviz DOT, and SVG with or without Graphviz.

One box per layer (its name, op and key hyper-parameters), one arrow per
tensor labelled with that tensor's shape (batch excluded), and the blocks the
layers were expanded from (templates, repeats, residual and inception blocks,
their branches) drawn as nested clusters, ``subgraph cluster_…`` in DOT. The
layers a spec takes from its ``base:`` network are one more cluster, ``base``;
:mod:`netspec.report.collapse` draws a cluster as one box.

This module is the diagram's model (clusters, edges, box text) and its DOT
text; :mod:`netspec.report.render` turns it into SVG. Pure Python; nothing
here imports JAX.

>>> from netspec.pipeline import analysis_of, load
>>> graph = load("name: tiny\\ninput: [4, 4, 1]\\nlayers: [flatten, {dense: {units: 2}}]\\n")
>>> '"input" -> "flatten_1" [label="4×4×1"' in to_dot(graph, analysis_of(graph))
True
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netspec.diagnostics import NetspecError
from netspec.infer.facts import Analysis
from netspec.ir import Graph, Node, Scope
from netspec.ops import OPS, format_extent
from netspec.report.summary import type_label

OUTPUT = "output"  # the pseudo-node the network's result flows into
GROUP = "group"  # the op of a box standing for a collapsed cluster (netspec.report.collapse)
GROUP_COLOR = "#e5e7eb"

# Border and fill of a cluster, by block kind; the parts of a block are dashed.
CLUSTER_STYLES = {
    "template": ("#2563eb", "#f5f9ff"), "repeat": ("#6b7280", "#fafafa"),
    "residual": ("#059669", "#f3fcf8"), "inception": ("#d97706", "#fffbf2"),
    "causal": ("#7c3aed", "#faf7ff"), "base": ("#0f766e", "#f0fdfa"),
}
PART_KINDS = ("branch", "body", "shortcut")


@dataclass
class Cluster:
    """A block in the drawing: the scopes it stands for (a chain of scopes with
    nothing else in between is drawn as one box), its layers and sub-blocks."""

    key: tuple[str, ...]
    scopes: list[Scope]
    nodes: list[str] = field(default_factory=list)
    children: list[Cluster] = field(default_factory=list)
    title: str | None = None  # the label, when the scopes do not make it (the base network)

    @property
    def kind(self) -> str:
        return self.scopes[-1].kind

    @property
    def label(self) -> str:
        if self.title is not None:
            return self.title
        return " › ".join(_scope_label(scope) for scope in self.scopes)

    @property
    def identifier(self) -> str:
        return "cluster_" + re.sub(r"\W", "_", "/".join(self.key))

    @property
    def dashed(self) -> bool:
        return self.kind in PART_KINDS

    @property
    def colors(self) -> tuple[str, str]:
        return CLUSTER_STYLES.get(self.kind, ("#9ca3af", "#ffffff"))

    def height(self) -> int:
        """Levels of nested boxes below this one (0 for a box holding only layers)."""
        return 1 + max((child.height() for child in self.children), default=-1)

    def members(self) -> list[str]:
        """Every layer inside, sub-blocks included."""
        found = list(self.nodes)
        for child in self.children:
            found += child.members()
        return found


def _scope_label(scope: Scope) -> str:
    if scope.kind == "template":
        params = " ".join(f"{key}={value}" for key, value in scope.params)
        return f"{scope.name} ({scope.template}{' ' + params if params else ''})"
    if scope.kind in PART_KINDS or scope.name.startswith(scope.kind):
        return scope.name
    return f"{scope.name} ({scope.kind})"


def cluster_tree(graph: Graph) -> Cluster:
    """The blocks of ``graph`` as a tree (the root stands for the whole network); the layers
    of its ``base:`` network (``graph.meta["base"]``) are the first block, ``base``."""
    root = Cluster((), [])
    index: dict[tuple[str, ...], Cluster] = {(): root}
    base = graph.meta.get("base") or {}
    base_layers = set(base.get("layers", ()))
    for node in graph.nodes:
        parent = root
        if node.name in base_layers:
            if ("base",) not in index:
                index[("base",)] = Cluster(("base",), [Scope("base", "base")],
                                           title=f"base: {base['network']} up to {base['up_to']}")
                root.children.append(index[("base",)])
            parent = index[("base",)]
        for depth, scope in enumerate(node.scope):
            key = tuple(s.name for s in node.scope[: depth + 1])
            cluster = index.get(key)
            if cluster is None:
                cluster = index[key] = Cluster(key, [scope])
                parent.children.append(cluster)
            parent = cluster
        parent.nodes.append(node.name)
    _merge_chains(root)
    return root


def _merge_chains(cluster: Cluster) -> None:
    """Fold a block whose only content is one sub-block into it (one box, both names)."""
    for i, child in enumerate(cluster.children):
        while not child.nodes and len(child.children) == 1:
            inner = child.children[0]
            child = Cluster(inner.key, child.scopes + inner.scopes, inner.nodes, inner.children, inner.title)
        cluster.children[i] = child
        _merge_chains(child)


def shape_label(shape: tuple[int, ...]) -> str:
    """A tensor shape without the batch axis, e.g. ``28×28×20``."""
    return format_extent(shape) or "scalar"


def box_lines(graph: Graph, node: Node) -> list[str]:
    """The text of ``node``'s box: :func:`node_lines`, or a collapsed cluster's own lines."""
    return list(graph.meta.get("groups", {}).get(node.name, ())) or node_lines(node)


def box_color(node: Node) -> str:
    return GROUP_COLOR if node.op == GROUP else OPS[node.op].color


def node_lines(node: Node) -> list[str]:
    """The text of a layer's box: its local name, then its op and key hyper-parameters."""
    if node.op == "input":
        return ["input"]
    label = type_label(node)
    # "relu_1: relu" says nothing twice; "conv2d_1: conv 3×3 K=64 same" does not.
    return [node.local_name] if node.local_name.startswith(label) else [node.local_name, label]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str


def edges(graph: Graph, analysis: Analysis) -> list[Edge]:
    """Every tensor: ``source -> target`` labelled with the source's output shape,
    then the network's output into the :data:`OUTPUT` pseudo-node."""
    found = [Edge(source, node.name, shape_label(analysis.layers[source].output_shape))
             for node in graph.nodes for source in node.inputs]
    found.append(Edge(graph.output, OUTPUT, shape_label(analysis.layers[graph.output].output_shape)))
    return found


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(graph: Graph, analysis: Analysis) -> str:
    """Graphviz DOT of the network, top to bottom (see the module docstring).

    ``analysis`` is ``netspec.infer.infer(graph)`` without errors (its shapes label the edges).
    """
    if analysis.errors:
        raise NetspecError(analysis.diagnostics)
    lines = [
        f"digraph {_quote(graph.name)} {{",
        "  rankdir=TB;",
        '  graph [fontname="Helvetica", fontsize=11, nodesep=0.3, ranksep=0.35, '
        f'label={_quote(title(graph, analysis))}, labelloc=t];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10, margin="0.12,0.04"];',
        '  edge [fontname="Helvetica", fontsize=9, color="#4b5563", arrowsize=0.7];',
    ]
    nodes = {node.name: node for node in graph.nodes}

    def emit_node(name: str, indent: str) -> None:
        node = nodes[name]
        facts = analysis.layers[name]
        tooltip = f"{name}: {facts.output_shape}, {facts.params:,} params"
        extra = ", peripheries=2" if node.op == GROUP else ""
        lines.append(f"{indent}{_quote(name)} [label={_quote(chr(10).join(box_lines(graph, node)))}, "
                     f"fillcolor={_quote(box_color(node))}, tooltip={_quote(tooltip)}{extra}];")

    def emit_cluster(cluster: Cluster, indent: str) -> None:
        border, fill = cluster.colors
        style = "dashed,rounded" if cluster.dashed else "filled,rounded"
        lines.append(f"{indent}subgraph {cluster.identifier} {{")
        lines.append(f"{indent}  label={_quote(cluster.label)}; labeljust=l; style={_quote(style)}; "
                     f"color={_quote(border)}; fillcolor={_quote(fill)};")
        for name in cluster.nodes:
            emit_node(name, indent + "  ")
        for child in cluster.children:
            emit_cluster(child, indent + "  ")
        lines.append(f"{indent}}}")

    root = cluster_tree(graph)
    for name in root.nodes:
        emit_node(name, "  ")
    for child in root.children:
        emit_cluster(child, "  ")
    lines.append(f'  {_quote(OUTPUT)} [shape=ellipse, style=filled, fillcolor="#ffffff"];')
    for edge in edges(graph, analysis):
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)} [label={_quote(edge.label)}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def title(graph: Graph, analysis: Analysis) -> str:
    """The diagram's caption: the network's name and parameter count."""
    return f"{graph.name}: {analysis.total_params:,} parameters"
