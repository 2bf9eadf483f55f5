"""Composition: a base network plus a head in one spec.

::

    input: [150, 150, 3]
    base: {spec: ../../specs/vgg16.yaml, up_to: block5_pool, weights: imagenet}
    layers: [flatten, {dense: {units: 256, activation: relu}}, {dropout: 0.5}, ...]

The base spec is loaded (its path relative to this spec's file), and its
layers up to ``up_to`` (that layer and everything it depends on) are put
after this spec's input under their own names, with shapes recomputed for
this input; ``layers:`` continues from ``up_to``. The base's ``preprocess:``
comes along unless this spec states its own. ``weights:`` (a file, or
``imagenet``: :mod:`netspec.weights.published`) is recorded in
``graph.meta["base"]`` and loaded into exactly the base's layers by
``netspec.build`` and by training (:mod:`netspec.train.pretrained`). A base
that (directly or not) uses itself, a missing file and an unknown ``up_to``
are diagnostics at their line.

The resolver (:mod:`netspec.resolve.expand`) calls :func:`expand_base` with
the function that loads the base spec file (``load``), so this module does
not import the resolver back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from netspec.diagnostics import NetspecError, did_you_mean, render
from netspec.ir import Graph
from netspec.spec.base import BaseNetwork

_LOADING = threading.local()  # the spec files being composed, outermost first (cycle detection)


def _stack() -> list[str]:
    if not hasattr(_LOADING, "paths"):
        _LOADING.paths = []
    return _LOADING.paths


def spec_folder(doc_path: str | None) -> Path:
    """The folder a spec's relative paths start from (the current one for text specs)."""
    if doc_path and not doc_path.startswith("<") and Path(doc_path).exists():
        return Path(doc_path).resolve().parent
    return Path.cwd()


def _ancestors(graph: Graph, last: str) -> set[str]:
    by_name = {node.name: node for node in graph.nodes}
    keep, todo = set(), [last]
    while todo:
        name = todo.pop()
        if name not in keep:
            keep.add(name)
            todo.extend(by_name[name].inputs)
    return keep


def expand_base(resolver: Any, base: BaseNetwork, previous: str, *, own_preprocess: bool, context: Any,
                load: Callable[[str], Graph]) -> str | None:
    """Add the base's layers to ``resolver`` after ``previous``; the name the head continues
    from (None after a diagnostic). ``load`` loads a spec file into a shape-checked graph
    (raising :class:`~netspec.diagnostics.NetspecError`)."""
    doc = resolver.doc
    span = doc.span(("base", "spec")) or doc.span(("base",))
    path = (spec_folder(doc.path) / base.spec).resolve()
    stack = _stack()
    here = str(Path(doc.path).resolve()) if doc.path and Path(doc.path).exists() else None
    if str(path) in stack or str(path) == here:
        chain = " -> ".join([*stack, str(path)]) if stack else f"{here} -> {path}"
        resolver.error("base-cycle", f"base: {base.spec} builds on itself ({chain})", span, context,
                       hint="a base spec cannot use, directly or not, the spec that uses it")
        return None
    if not path.is_file():
        resolver.error("base-missing", f"base: no spec file {path}", span, context,
                       hint="base.spec is relative to this spec's folder")
        return None
    stack.extend([here] if here and not stack else [])
    stack.append(str(path))
    try:
        graph = load(str(path))
    except NetspecError as exc:
        resolver.error("base-invalid", f"base: {base.spec} has errors", span, context,
                       notes=(render(exc.diagnostics),))
        return None
    finally:
        stack.pop()
        if len(stack) == 1 and stack[0] == here:
            stack.pop()
    names = [node.name for node in graph.nodes]
    up_to = base.up_to or graph.output
    if up_to not in names:
        local = [name for name in names if name.rsplit("/", 1)[-1] == up_to]
        if len(local) != 1:
            resolver.error("base-up-to", f"base: '{graph.name}' has no layer '{up_to}'",
                           doc.span(("base", "up_to")) or span, context,
                           hint=did_you_mean(up_to, names) or f"`netspec summary {base.spec}` lists its layers")
            return None
        up_to = local[0]
    keep = _ancestors(graph, up_to)
    renamed = {"input": previous}
    for node in graph.nodes:
        if node.name not in keep or node.op == "input":
            continue
        if node.op == "preprocess" and own_preprocess:
            renamed[node.name] = renamed[node.inputs[0]]
            continue
        inputs = tuple(renamed.get(name, name) for name in node.inputs)
        renamed[node.name] = resolver.add_node(node.name, node.op, node.attrs, inputs, node.span,
                                               context, node.allow)
    weights = None
    if base.weights is not None:
        weights = base.weights if base.weights == "imagenet" else str(spec_folder(doc.path) / base.weights)
    resolver.base_info = {"spec": str(path), "network": graph.name, "up_to": up_to, "weights": weights,
                          "layers": [name for name in names if name in keep and name != "input"],
                          "top": up_to == graph.output}
    return renamed[up_to]
