"""Train on logits: split a network's final softmax/sigmoid off its graph.

A spec usually ends in ``softmax`` (as the lectures' Keras models do), so the
built module returns probabilities. Cross-entropy computed from probabilities
(``-log p``) loses precision and gradient once ``p`` saturates; computed
from logits it is exact. So training builds the graph *without* its final
activation and applies that activation itself wherever probabilities are
wanted (metrics use logits directly; predict applies softmax). The two graphs
have the same parameters: activations have none, and every other node keeps
its name.

Pure IR manipulation; no JAX here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

from netspec.ir import ActivationAttrs, Graph
from netspec.ops import OPS

Head = Literal["softmax", "sigmoid"] | None

# Ops whose attrs may carry a fused ``activation`` field.


def split_output_activation(graph: Graph) -> tuple[Graph, Head]:
    """Return ``(graph_without_final_activation, head)``.

    ``head`` is ``"softmax"`` or ``"sigmoid"`` when the output node applies
    one (as a separate activation node or fused into a dense/conv), else
    ``None`` and the graph is returned unchanged.
    """
    output = graph.node(graph.output)
    if output.op == "activation" and isinstance(output.attrs, ActivationAttrs):
        name = output.attrs.activation.name
        if name in ("softmax", "sigmoid") and len(output.inputs) == 1:
            nodes = tuple(n for n in graph.nodes if n.name != output.name)
            return _with(graph, nodes, output.inputs[0]), name
        return graph, None
    activation = getattr(output.attrs, "activation", None)
    if OPS[output.op].fuses_activation and activation is not None and activation.name in ("softmax", "sigmoid"):
        fused: Any = output.attrs  # an attrs class with an activation field (the op table's fuses_activation)
        stripped = dataclasses.replace(output, attrs=dataclasses.replace(fused, activation=None))
        nodes = tuple(stripped if n.name == output.name else n for n in graph.nodes)
        return _with(graph, nodes, output.name), activation.name
    return graph, None


def _with(graph: Graph, nodes: tuple, output: str) -> Graph:
    # The cached analysis describes the old graph; drop it so nothing reuses it.
    meta = {k: v for k, v in graph.meta.items() if k != "analysis"}
    return dataclasses.replace(graph, nodes=nodes, output=output, meta=meta)
