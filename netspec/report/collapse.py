"""Draw a cluster of the diagram as one box (``netspec graph --collapse base``).

A collapsed cluster (the ``base`` network of a spec with ``base:``, or any
block by its path, e.g. ``conv2`` or ``layer*``; see
:func:`netspec.report.diagram.cluster_tree`) becomes one node of op
:data:`~netspec.report.diagram.GROUP`, standing where its last layer stood:
it takes the cluster's inputs from outside, gives its output to the layers
that took the last layer's, and carries the cluster's parameter and MAC
totals. Only the drawing changes; the network (and its parameter paths) is
the same. Pure Python; nothing here imports JAX.

>>> from netspec.pipeline import analysis_of, load
>>> graph = load("specs/resnet18.yaml")
>>> small, facts = collapse(graph, analysis_of(graph), ["layer*"])
>>> [node.name for node in small.nodes][-6:]
['layer1', 'layer2', 'layer3', 'layer4', 'avgpool', 'fc']
>>> facts.layers["layer4"].output_shape, facts.total_params == analysis_of(graph).total_params
((7, 7, 512), True)
"""

from __future__ import annotations

import fnmatch
from dataclasses import replace

from netspec.diagnostics import NetspecError, did_you_mean, error
from netspec.infer.facts import Analysis, LayerFacts
from netspec.ir import Graph, Node
from netspec.report.diagram import GROUP, Cluster, cluster_tree


def clusters_by_path(graph: Graph) -> dict[str, Cluster]:
    """Every cluster of the diagram, by its path (``base``, ``conv2``, ``conv2/block1``, ...)."""
    found: dict[str, Cluster] = {}

    def walk(cluster: Cluster) -> None:
        for child in cluster.children:
            found["/".join(child.key)] = child
            walk(child)

    walk(cluster_tree(graph))
    return found


def _chosen(graph: Graph, patterns: list[str]) -> list[Cluster]:
    """The clusters the patterns name, outermost only (a cluster inside a chosen one goes with it)."""
    clusters = clusters_by_path(graph)
    problems, chosen = [], []
    for pattern in patterns:
        matched = [path for path in clusters if fnmatch.fnmatchcase(path, pattern)]
        if not matched:
            known = ", ".join(list(clusters)[:12]) or "none (this network has no blocks)"
            problems.append(error("unknown-group", f"--collapse: '{graph.name}' has no block '{pattern}'",
                                  hint=did_you_mean(pattern, list(clusters)) or f"blocks: {known}"))
        chosen += [path for path in matched if path not in chosen]
    if problems:
        raise NetspecError(problems)
    outermost = [path for path in chosen if not any(path.startswith(other + "/") for other in chosen)]
    return [clusters[path] for path in outermost]


def collapse(graph: Graph, analysis: Analysis, patterns: list[str]) -> tuple[Graph, Analysis]:
    """``graph`` and ``analysis`` with each cluster ``patterns`` names drawn as one box
    (raises a diagnostic for a pattern that names no cluster, or a cluster whose layers
    feed the rest of the network from more than one layer)."""
    nodes = {node.name: node for node in graph.nodes}
    replaced: dict[str, str] = {}  # member layer -> the box standing for its cluster
    boxes: dict[str, tuple[Node, LayerFacts, list[str]]] = {}  # exit layer -> (box, its facts, its lines)
    for cluster in _chosen(graph, patterns):
        members = cluster.members()
        inside = set(members)
        exits = [name for name in members if name == graph.output
                 or any(consumer.name not in inside for consumer in graph.consumers(name))]
        path = "/".join(cluster.key)
        if len(exits) != 1:
            raise NetspecError([error("group-exits", f"--collapse: block '{path}' cannot be one box: "
                                                     f"{len(exits)} of its layers feed the rest of the network "
                                                     f"({', '.join(exits[:4])})")])
        (last,) = exits
        inputs = tuple(dict.fromkeys(source for name in members for source in nodes[name].inputs
                                     if source not in inside))
        name = path if path not in nodes else f"{path} (block)"
        scope = nodes[last].scope[:len(cluster.key) - len(cluster.scopes)]  # the blocks around the cluster
        box = Node(name, GROUP, nodes[last].attrs, inputs, None, scope)
        facts = [analysis.layers[member] for member in members]
        end = analysis.layers[last]
        box_facts = LayerFacts(
            name, GROUP, tuple(analysis.layers[source].output_shape for source in inputs), end.output_shape,
            sum(f.trainable_params for f in facts), sum(f.non_trainable_params for f in facts),
            sum(f.macs for f in facts), end.receptive_field, end.jump)
        lines = [cluster.label, f"{len(members)} layers, {box_facts.params:,} params"]
        boxes[last] = (box, box_facts, lines)
        replaced.update(dict.fromkeys(members, name))
    kept: list[Node] = []
    layers: dict[str, LayerFacts] = {}
    for node in graph.nodes:
        if node.name in boxes:
            box, box_facts, _ = boxes[node.name]
            kept.append(replace(box, inputs=tuple(dict.fromkeys(replaced.get(source, source)
                                                                for source in box.inputs))))
            layers[box.name] = box_facts
        elif node.name not in replaced:
            kept.append(replace(node, inputs=tuple(replaced.get(source, source) for source in node.inputs)))
            layers[node.name] = analysis.layers[node.name]
    meta = {**graph.meta, "groups": {box.name: lines for box, _, lines in boxes.values()}}
    small = replace(graph, nodes=tuple(kept), output=replaced.get(graph.output, graph.output), meta=meta)
    return small, Analysis(small, layers, analysis.diagnostics)
