"""Blocks of the generated source: which scopes become sub-module classes.

The IR is flat (block expansion already happened in ``resolve``), but every
node keeps the scopes it was expanded from. Here the scopes are folded back
into a tree of :class:`Block` instances, each one function body in the
generated file:

* template instances and residual / inception / causal blocks become
  sub-modules; the parts of a block (``shortcut``, ``branch``) and repeats
  (whose iterations share one scope) stay inline in their block, their
  layers prefixed with the part's name;
* a block holding a single layer is inlined (a class for one layer adds
  nothing), and a block whose only content is one inner block is merged
  with it (``bottleneck_1`` wrapping ``residual`` is one class);
* a scope whose nodes interleave with the outside in a way one call
  cannot express (an outside node both fed by and feeding the scope) is
  inlined too, so any graph still emits.

Blocks with the same structure (same layers, wiring and names, up to the
integer slots of :mod:`netspec.emit.layers`) share one class; see
:mod:`netspec.emit.classes`. Pure Python, no JAX.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from netspec.ir import Graph, Node, Scope

# Scope kinds that become sub-module classes; other kinds (body, shortcut,
# branch, repeat, ...) stay inline inside the enclosing block.
BLOCK_KINDS = frozenset({"template", "residual", "inception", "causal"})


@dataclass
class Block:
    """One function body of the generated file: the network or a block instance.

    ``path`` is the scope path of the instance (its attribute name in the
    parent comes from the part below the parent's ``inner_path``);
    ``inner_path`` is the deepest scope merged into it, and member names are
    relative to it. ``scopes`` are the levels below the parent's
    ``inner_path`` down to ``inner_path``, outermost first. ``items`` are nodes and child blocks in execution order;
    ``inputs`` name the outside nodes it reads (its ``__call__`` arguments)
    and ``outputs`` the nodes it returns.
    """

    path: tuple[str, ...]
    inner_path: tuple[str, ...]
    scopes: tuple[Scope, ...]
    items: list[Node | Block] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def template(self) -> Scope | None:
        """The outermost template among the block's levels (the one its call site names)."""
        return next((s for s in self.scopes if s.kind == "template"), None)

    @property
    def templates(self) -> list[Scope]:
        return [s for s in self.scopes if s.kind == "template"]

    @property
    def kind(self) -> str:
        """The innermost block kind: what the class's body is (residual, inception, ...)."""
        return next((s.kind for s in reversed(self.scopes) if s.kind in BLOCK_KINDS), "network")

    def nodes(self) -> list[Node]:
        """Every node of the block, nested blocks included, in graph order."""
        out: list[Node] = []
        for item in self.items:
            out.extend(item.nodes() if isinstance(item, Block) else [item])
        return out


def scope_path(node: Node) -> tuple[str, ...]:
    return tuple(scope.name for scope in node.scope)


def block_depth(node: Node) -> list[int]:
    """Indices into ``node.scope`` of the scopes that are block candidates."""
    return [i for i, scope in enumerate(node.scope) if scope.kind in BLOCK_KINDS]


def relative_parts(node_name: str, inner_path: tuple[str, ...]) -> list[str]:
    """Components of ``node_name`` below ``inner_path`` (the whole name when
    the name does not start with the path)."""
    parts = node_name.split("/")
    if tuple(parts[:len(inner_path)]) == inner_path and len(parts) > len(inner_path):
        return parts[len(inner_path):]
    return parts


def build_block_tree(graph: Graph) -> Block:
    """Fold the graph's scopes back into a tree of blocks rooted at the network."""
    index = {node.name: i for i, node in enumerate(graph.nodes)}
    root = Block((), (), ())
    candidates: dict[tuple[str, ...], Block] = {}
    for node in graph.nodes[1:]:
        parent = root
        for depth in block_depth(node):
            path = scope_path(node)[:depth + 1]
            block = candidates.get(path)
            if block is None:
                block = Block(path, path, node.scope[len(parent.path):depth + 1])
                candidates[path] = block
                parent.items.append(block)
            parent = block
        parent.items.append(node)
    keep_extractable(root, graph, index)
    simplify(root)
    order_items(root, graph, index)
    wire(root, graph)
    return root


def keep_extractable(block: Block, graph: Graph, index: dict[str, int]) -> None:
    """Inline child blocks that one call cannot express (see module docstring)."""
    new_items: list[Node | Block] = []
    for item in block.items:
        if isinstance(item, Block):
            keep_extractable(item, graph, index)
            if is_extractable(item, graph, index):
                new_items.append(item)
            else:
                new_items.extend(item.items)
        else:
            new_items.append(item)
    block.items = new_items


def is_extractable(block: Block, graph: Graph, index: dict[str, int]) -> bool:
    """True when no node outside ``block`` is both fed by it and feeding it."""
    members = {node.name for node in block.nodes()}
    positions = sorted(index[name] for name in members)
    first, last = positions[0], positions[-1]
    fed_by_block: set[str] = set()
    for node in graph.nodes[first:last + 1]:
        if node.name in members:
            if any(source in fed_by_block for source in node.inputs):
                return False
        elif any(source in members or source in fed_by_block for source in node.inputs):
            fed_by_block.add(node.name)
    return True


def simplify(block: Block) -> None:
    """Inline one-layer blocks and merge a block into its only inner block."""
    for item in block.items:
        if isinstance(item, Block):
            simplify(item)
    new_items: list[Node | Block] = []
    for item in block.items:
        if isinstance(item, Block) and len(item.items) == 1 and not isinstance(item.items[0], Block):
            new_items.append(item.items[0])
        else:
            new_items.append(item)
    block.items = new_items
    while block.path and len(block.items) == 1 and isinstance(block.items[0], Block):
        inner = block.items[0]
        block.inner_path = inner.inner_path
        block.scopes = block.scopes + inner.scopes
        block.items = inner.items


def order_items(block: Block, graph: Graph, index: dict[str, int]) -> None:
    """Topologically order the items (a block runs where all its inputs exist),
    keeping graph order where the DAG leaves a choice."""
    for item in block.items:
        if isinstance(item, Block):
            order_items(item, graph, index)
    owner: dict[str, int] = {}
    for position, item in enumerate(block.items):
        for node in item.nodes() if isinstance(item, Block) else [item]:
            owner[node.name] = position
    needs: list[set[int]] = []
    for position, item in enumerate(block.items):
        sources = {owner[s] for node in (item.nodes() if isinstance(item, Block) else [item])
                   for s in node.inputs if s in owner}
        sources.discard(position)
        needs.append(sources)
    first_node = [min(index[n.name] for n in (item.nodes() if isinstance(item, Block) else [item]))
                  for item in block.items]
    ready = [(first_node[p], p) for p, sources in enumerate(needs) if not sources]
    heapq.heapify(ready)
    done: list[int] = []
    waiting = [set(sources) for sources in needs]
    while ready:
        _, position = heapq.heappop(ready)
        done.append(position)
        for other, sources in enumerate(waiting):
            if position in sources:
                sources.discard(position)
                if not sources:
                    heapq.heappush(ready, (first_node[other], other))
    block.items = [block.items[p] for p in done]


def wire(block: Block, graph: Graph) -> None:
    """Fill ``inputs`` and ``outputs`` of every block below the root."""
    consumers: dict[str, list[str]] = {}
    for node in graph.nodes:
        for source in node.inputs:
            consumers.setdefault(source, []).append(node.name)

    def visit(current: Block) -> None:
        for item in current.items:
            if isinstance(item, Block):
                visit(item)
        if not current.path:  # the network: reads the input node, returns the output node
            current.inputs, current.outputs = [graph.nodes[0].name], [graph.output]
            return
        members = {node.name for node in current.nodes()}
        for node in current.nodes():
            for source in node.inputs:
                if source not in members and source not in current.inputs:
                    current.inputs.append(source)
            outside = any(c not in members for c in consumers.get(node.name, []))
            if outside or node.name == graph.output:
                current.outputs.append(node.name)

    visit(block)
