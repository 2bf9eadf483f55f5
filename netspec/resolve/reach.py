"""Only what reaches the output is the model: find and drop the nodes that do not feed it.

Like Keras' functional ``Model(inputs, outputs)``, a netspec network is the
part of the graph between its input and its output. Nodes that do not lead
to the output (a dangling branch, the layers after an ``output:`` that names
an earlier node) are dropped before inference, so they are neither counted
nor built, and each gets an ``unused-layer`` warning (``allow: unused-layer``
acknowledges it).

>>> from netspec.ir import DenseAttrs, InputAttrs, Node
>>> nodes = [Node("input", "input", InputAttrs((4,)), ()), Node("a", "dense", DenseAttrs(2), ("input",)),
...          Node("b", "dense", DenseAttrs(3), ("input",))]
>>> kept, unused = split_unused(nodes, "a")
>>> [node.name for node in kept], [(depth, [node.name for node in group]) for depth, group in unused]
(['input', 'a'], [(0, ['b'])])
"""

from __future__ import annotations

from collections.abc import Sequence

from netspec.diagnostics import Diagnostic, warning
from netspec.ir import Node


def split_unused(nodes: Sequence[Node], output: str) -> tuple[list[Node], list[tuple[int, list[Node]]]]:
    """The nodes that feed ``output`` (in their order), and the others grouped for reporting: the
    outermost block whose nodes are all unused is one group, any other unused node a group of its own.
    Each group comes with the scope depth of its block (0: a node on its own)."""
    by_name = {node.name: node for node in nodes}
    used = {output}
    stack = [output]
    while stack:
        for name in by_name[stack.pop()].inputs:
            if name not in used:
                used.add(name)
                stack.append(name)
    used.add(nodes[0].name)  # the input is the model's even when nothing reads it
    kept = [node for node in nodes if node.name in used]
    unused = [node for node in nodes if node.name not in used]
    if not unused:
        return kept, []
    prefixes: dict[tuple[str, ...], list[Node]] = {}
    for node in nodes:
        path = tuple(scope.name for scope in node.scope)
        for depth in range(1, len(path) + 1):
            prefixes.setdefault(path[:depth], []).append(node)
    groups: dict[tuple[int, str], list[Node]] = {}
    for node in unused:
        path = tuple(scope.name for scope in node.scope)
        whole = next((path[:depth] for depth in range(1, len(path) + 1)
                      if all(member.name not in used for member in prefixes[path[:depth]])), None)
        key = (len(whole), "/".join(whole)) if whole else (0, node.name)
        groups.setdefault(key, []).append(node)
    return kept, [(depth, group) for (depth, _), group in groups.items()]


def unused_warning(depth: int, group: list[Node], output: str) -> Diagnostic | None:
    """The ``unused-layer`` warning for one group, or None when every node in it allows it."""
    if all("unused-layer" in node.allow for node in group):
        return None
    first = group[0]
    if depth:
        scope = first.scope[depth - 1]
        kind = f"template {scope.template}" if scope.kind == "template" else scope.kind
        subject = f"{kind} '{'/'.join(s.name for s in first.scope[:depth])}' ({len(group)} layers)"
        span = scope.span or first.span
    else:
        word = first.attrs.activation.name if first.op == "activation" else first.op
        subject, span = f"{word} '{first.name}'", first.span
    return warning("unused-layer", f"{subject} does not lead to the output '{output}', so it is not part "
                                   "of the model: it is neither counted nor built", span,
                   "take its output with from:, name it in output:, or remove it (allow: unused-layer if "
                   "it is meant to stay)")
