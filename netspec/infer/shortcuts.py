"""Settling the shortcuts resolution left open (:class:`netspec.ir.PendingShortcut`).

``shortcut: auto`` is the identity when a residual body keeps its input's
shape, else a 1x1 projection; which one is a question of shapes, so
:func:`netspec.infer.rules.infer` answers it when it reaches the add, with the
shapes it has just inferred, and the settled graph is the model.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from netspec.ir import ConvAttrs, Node, PendingShortcut

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Settled:
    """What takes the add's place (the projection's nodes, then the add), and the names the
    nodes after it take (empty unless a projection was inserted)."""

    nodes: tuple[Node, ...]
    renames: dict[str, str]


def settle(add: Node, pending: PendingShortcut, shapes: dict[str, Shape]) -> Settled:
    """The add with its shortcut decided. ``add.inputs`` are ``(body, source)``; ``shapes`` holds
    the shapes inferred so far (none for a node that failed: then the shortcut stays the identity,
    and inference reports the real problem where it is)."""
    body, source = add.inputs
    body_shape, source_shape = shapes.get(body), shapes.get(source)
    known = body_shape is not None and source_shape is not None
    if not pending.projection or not (pending.always or known and body_shape != source_shape):
        return Settled((add,), {})
    conv, *rest = pending.projection
    attrs = conv.attrs
    if not isinstance(attrs, ConvAttrs) or body_shape is None and not attrs.filters:
        return Settled((add,), {})  # no channels to project to: the body's error is reported
    if body_shape is not None:  # the body's channels (the conv's filters stand in while unknown)
        conv = replace(conv, attrs=replace(attrs, filters=body_shape[-1]))
    projection = (conv, *rest)
    return Settled((*projection, replace(add, inputs=(body, projection[-1].name))), dict(pending.renames))


def renamed(node: Node, renames: dict[str, str]) -> Node:
    """``node`` with ``renames`` applied to its name and inputs."""
    if node.name not in renames and not any(name in renames for name in node.inputs):
        return node
    return replace(node, name=renames.get(node.name, node.name),
                   inputs=tuple(renames.get(name, name) for name in node.inputs))
