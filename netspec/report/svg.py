"""A small layered (Sugiyama-style) SVG renderer for network diagrams, so that
``netspec graph -o net.svg`` works without Graphviz.

Layout, top to bottom:

1. rank every layer by its longest path from the input; an edge spanning
   several ranks gets a thin placeholder in each rank it crosses, so it runs
   beside the layers in between (a residual's identity shortcut runs beside
   the body) instead of through them;
2. order each rank by the barycentre of its neighbours, sweeping down and up
   and keeping the order with the fewest crossings;
3. place each rank's items as close to the mean x of their predecessors as
   the minimum spacing allows (isotonic regression, pool-adjacent-violators);
4. space the ranks so that cluster boxes and their labels fit between them.

Pure Python; nothing here imports JAX. Text widths are estimated (no font
metrics are available), generously, so labels stay inside their boxes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html import escape

from netspec.infer.facts import Analysis
from netspec.ir import Graph
from netspec.report.diagram import OUTPUT, Cluster, box_color, box_lines, cluster_tree, edges

FONT_SIZE = 11
CHAR_WIDTH = 6.6  # px per character at FONT_SIZE (Helvetica averages ~0.55 em)
LINE_HEIGHT = 14
BOX_PADDING = (10, 6)  # x, y inside a layer's box
NODE_GAP = 34  # horizontal gap between neighbouring items of a rank
PLACEHOLDER_WIDTH = 44  # room for a long edge (and its shape label) in a rank it crosses
RANK_GAP = 34  # vertical gap between ranks, before room for cluster boxes
CLUSTER_PAD = 8
CLUSTER_LABEL = 15
MARGIN = 16
EDGE_COLOR = "#4b5563"


@dataclass
class Item:
    """One slot of a rank: a layer's box, or a point a long edge passes through."""

    key: str
    rank: int
    width: float
    height: float
    lines: tuple[str, ...] = ()
    fill: str = "#ffffff"
    tooltip: str = ""
    is_placeholder: bool = False
    origin: str = ""  # a placeholder's edge source (for the initial order) and target (for its cluster)
    target: str = ""
    predecessors: list[str] = field(default_factory=list)
    successors: list[str] = field(default_factory=list)
    x: float = 0.0
    y: float = 0.0  # centre

    @property
    def top(self) -> float:
        return self.y - self.height / 2

    @property
    def bottom(self) -> float:
        return self.y + self.height / 2


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return len(text) * CHAR_WIDTH * size / FONT_SIZE


def _items(graph: Graph, analysis: Analysis) -> dict[str, Item]:
    items: dict[str, Item] = {}
    for node in graph.nodes:
        rank = 1 + max((items[source].rank for source in node.inputs), default=-1)
        lines = tuple(box_lines(graph, node))
        facts = analysis.layers[node.name]
        width = max(80.0, max(text_width(line) for line in lines) + 2 * BOX_PADDING[0])
        items[node.name] = Item(node.name, rank, width, len(lines) * LINE_HEIGHT + 2 * BOX_PADDING[1], lines,
                                box_color(node),
                                f"{node.name}: {facts.output_shape}, {facts.params:,} params")
    last = items[graph.output].rank + 1
    items[OUTPUT] = Item(OUTPUT, last, 70.0, LINE_HEIGHT + 2 * BOX_PADDING[1], (OUTPUT,), "#ffffff", OUTPUT)
    return items


def _route_edges(items: dict[str, Item], all_edges) -> list[list[str]]:
    """The chain of items each edge passes through, adding placeholders for long edges."""
    routes = []
    for index, edge in enumerate(all_edges):
        chain = [edge.source]
        for rank in range(items[edge.source].rank + 1, items[edge.target].rank):
            key = f"\0{index}:{rank}"
            items[key] = Item(key, rank, PLACEHOLDER_WIDTH, 0.0, is_placeholder=True,
                              origin=edge.source, target=edge.target)
            chain.append(key)
        chain.append(edge.target)
        for upper, lower in zip(chain, chain[1:]):
            items[upper].successors.append(lower)
            items[lower].predecessors.append(upper)
        routes.append(chain)
    return routes


def _crossings(ranks: list[list[str]], items: dict[str, Item]) -> int:
    position = {key: i for rank in ranks for i, key in enumerate(rank)}
    total = 0
    for rank in ranks[:-1]:
        pairs = [(position[key], position[lower]) for key in rank for lower in items[key].successors]
        total += sum(1 for i, (a, b) in enumerate(pairs) for c, d in pairs[i + 1:] if (a - c) * (b - d) < 0)
    return total


def _order(ranks: list[list[str]], items: dict[str, Item], sweeps: int = 8) -> list[list[str]]:
    """Barycentre ordering (see the module docstring); ties keep the current order."""
    best, best_crossings = [list(rank) for rank in ranks], _crossings(ranks, items)
    position = {key: i for rank in ranks for i, key in enumerate(rank)}
    for sweep in range(sweeps):
        downward = sweep % 2 == 0
        indices = range(1, len(ranks)) if downward else range(len(ranks) - 2, -1, -1)
        for r in indices:
            def barycentre(key: str, downward: bool = downward) -> float:
                item = items[key]
                neighbours = item.predecessors if downward else item.successors
                return sum(position[n] for n in neighbours) / len(neighbours) if neighbours else position[key]

            ranks[r].sort(key=lambda key: (barycentre(key), position[key]))
            position.update({key: i for i, key in enumerate(ranks[r])})
        crossings = _crossings(ranks, items)
        if crossings < best_crossings:
            best, best_crossings = [list(rank) for rank in ranks], crossings
    return best


def _isotonic(values: list[float]) -> list[float]:
    """The non-decreasing sequence closest to ``values`` in squared error (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [sum, count]
    for value in values:
        blocks.append([value, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted: list[float] = []
    for total, count in blocks:
        fitted += [total / count] * int(count)
    return fitted


def _place_rank(rank: list[Item], desired: list[float]) -> None:
    """x of each item: closest to ``desired`` with at least NODE_GAP between boxes."""
    offsets = [0.0]
    for left, right in zip(rank, rank[1:]):
        offsets.append(offsets[-1] + (left.width + right.width) / 2 + NODE_GAP)
    shifted = _isotonic([want - offset for want, offset in zip(desired, offsets)])
    for item, value, offset in zip(rank, shifted, offsets):
        item.x = value + offset


def _room(cluster: Cluster, items: dict[str, Item], found: list) -> tuple[int, int, float, float]:
    """``(first rank, last rank, above, below)`` of a cluster, also appended to ``found``
    for every sub-cluster: how far its box reaches above its first rank's boxes and
    below its last rank's (nested boxes starting on one rank stack their labels)."""
    ranks = [items[name].rank for name in cluster.members()]
    first, last = min(ranks), max(ranks)
    above = below = 0.0
    for child in cluster.children:
        child_first, child_last, child_above, child_below = _room(child, items, found)
        if child_first == first:
            above = max(above, child_above)
        if child_last == last:
            below = max(below, child_below)
    extent = (first, last, above + CLUSTER_PAD + CLUSTER_LABEL, below + CLUSTER_PAD)
    found.append(extent)
    return extent


def _layout(graph: Graph, analysis: Analysis):
    items = _items(graph, analysis)
    all_edges = edges(graph, analysis)
    routes = _route_edges(items, all_edges)
    count = 1 + max(item.rank for item in items.values())
    ranks: list[list[str]] = [[] for _ in range(count)]
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    order[OUTPUT] = len(order)
    # Start from the spec's order, each placeholder just after its edge's source.
    for key, item in sorted(items.items(), key=lambda kv: order[kv[1].origin or kv[0]] + 0.5 * kv[1].is_placeholder):
        ranks[item.rank].append(key)
    ranks = _order(ranks, items)
    for rank in ranks:
        members = [items[key] for key in rank]
        desired = [sum(items[p].x for p in item.predecessors) / len(item.predecessors) if item.predecessors else 0.0
                   for item in members]
        _place_rank(members, desired)

    root = cluster_tree(graph)
    extents: list = []
    for child in root.children:
        _room(child, items, extents)
    starts: dict[int, float] = {}  # rank -> room the boxes starting there need above it
    ends: dict[int, float] = {}  # rank -> room the boxes ending there need below it
    for first, last, above, below in extents:
        starts[first] = max(starts.get(first, 0.0), above)
        ends[last] = max(ends.get(last, 0.0), below)
    top = starts.get(0, 0.0)
    label_y = []  # per rank: where the shape labels of edges leaving it go (clear of cluster boxes)
    for r, rank in enumerate(ranks):
        height = max((items[key].height for key in rank), default=0.0)
        for key in rank:
            items[key].y = top + height / 2
            if items[key].is_placeholder:
                items[key].height = height  # the edge runs straight down through the whole row
        label_y.append(top + height + ends.get(r, 0.0) + RANK_GAP / 2)
        top += height + RANK_GAP + ends.get(r, 0.0) + starts.get(r + 1, 0.0)
    return items, routes, all_edges, root, label_y


def _cluster_boxes(cluster: Cluster, items: dict[str, Item], placeholders: dict[str, list[Item]],
                   boxes: list) -> tuple[float, float, float, float]:
    """Append ``(cluster, x0, y0, x1, y1)`` for ``cluster`` and its sub-clusters (outer first).

    The box also holds the long edges into its layers from the block's first
    rank on (a residual's identity shortcut belongs inside the residual's box).
    """
    index = len(boxes)
    boxes.append(None)
    x0 = y0 = float("inf")
    x1 = y1 = float("-inf")
    for name in cluster.nodes:
        item = items[name]
        x0, x1 = min(x0, item.x - item.width / 2), max(x1, item.x + item.width / 2)
        y0, y1 = min(y0, item.top), max(y1, item.bottom)
    first = min(items[name].rank for name in cluster.members())
    for name in cluster.nodes:
        for item in placeholders.get(name, []):
            if item.rank >= first:
                x0, x1 = min(x0, item.x - CLUSTER_PAD), max(x1, item.x + CLUSTER_PAD)
    for child in cluster.children:
        cx0, cy0, cx1, cy1 = _cluster_boxes(child, items, placeholders, boxes)
        x0, y0, x1, y1 = min(x0, cx0), min(y0, cy0), max(x1, cx1), max(y1, cy1)
    x0, y0, x1, y1 = x0 - CLUSTER_PAD, y0 - CLUSTER_PAD - CLUSTER_LABEL, x1 + CLUSTER_PAD, y1 + CLUSTER_PAD
    x1 = max(x1, x0 + text_width(cluster.label, FONT_SIZE - 1) + 2 * CLUSTER_PAD)
    boxes[index] = (cluster, x0, y0, x1, y1)
    return x0, y0, x1, y1


def _anchors(items: dict[str, Item], routes: list[list[str]]) -> dict[tuple[int, str], float]:
    """x where each edge leaves its source and enters its target, spread along the box
    edge in the order of the neighbouring points so arrows into a merge do not meet."""
    anchors: dict[tuple[int, str], float] = {}
    leaving: dict[str, list[tuple[float, int]]] = {}
    entering: dict[str, list[tuple[float, int]]] = {}
    for index, chain in enumerate(routes):
        leaving.setdefault(chain[0], []).append((items[chain[1]].x, index))
        entering.setdefault(chain[-1], []).append((items[chain[-2]].x, index))
    for side, groups in (("out", leaving), ("in", entering)):
        for key, group in groups.items():
            item = items[key]
            usable = item.width * 0.7
            for i, (_, index) in enumerate(sorted(group)):
                anchors[(index, side)] = item.x - usable / 2 + usable * (i + 1) / (len(group) + 1)
    return anchors


def render_svg(graph: Graph, analysis: Analysis, title: str) -> str:
    """The diagram of ``graph`` as a standalone SVG document (see the module docstring)."""
    items, routes, all_edges, root, label_y = _layout(graph, analysis)
    boxes = _cluster_box_list(items, root)
    paths, labels = _edge_paths(items, routes, all_edges, label_y)
    drawn = [i for i in items.values() if not i.is_placeholder]
    dx, dy, width, height = _canvas(drawn, boxes, labels, title)
    out = _svg_header(width, height, title)
    out += [_cluster_svg(box, dx, dy) for box in boxes]
    out += [_edge_svg(points, dx, dy) for points in paths]
    out += [_layer_svg(item, dx, dy) for item in drawn]
    out += [_shape_label_svg(label, dx, dy) for label in labels]
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _cluster_box_list(items: dict[str, Item], root) -> list:
    """(cluster, x0, y0, x1, y1) of every block's box, placeholders counted in their block."""
    placeholders: dict[str, list[Item]] = {}
    for item in items.values():
        if item.is_placeholder:
            placeholders.setdefault(item.target, []).append(item)
    boxes: list = []
    for child in root.children:
        _cluster_boxes(child, items, placeholders, boxes)
    return boxes


def _edge_paths(items: dict[str, Item], routes, all_edges, label_y) -> tuple[list, list[tuple[float, float, str]]]:
    """Each edge's polyline (through its placeholders), and one shape label per layer with outgoing edges."""
    anchors = _anchors(items, routes)
    paths = []
    label_at: dict[str, tuple[float, float, str]] = {}
    for index, (chain, edge) in enumerate(zip(routes, all_edges)):
        source, target = items[chain[0]], items[chain[-1]]
        points = [(anchors[(index, "out")], source.bottom)]
        for key in chain[1:-1]:
            points += [(items[key].x, items[key].top), (items[key].x, items[key].bottom)]
        points.append((anchors[(index, "in")], target.top))
        paths.append(points)
        # Every edge leaving a layer carries the same shape: label it once, right of the rightmost edge.
        (xa, ya), (xb, yb) = points[0], points[1]
        y = min(max(label_y[source.rank], ya), yb)
        x = xa + (xb - xa) * ((y - ya) / (yb - ya) if yb > ya else 0.5)
        if edge.source not in label_at or x > label_at[edge.source][0] - 5:
            label_at[edge.source] = (x + 5, y + 4, edge.label)
    return paths, list(label_at.values())


def _canvas(drawn: list[Item], boxes: list, labels: list[tuple[float, float, str]],
            title: str) -> tuple[float, float, float, float]:
    """(dx, dy, width, height): the shift that puts everything inside the margins, and the page size."""
    xs = [i.x - i.width / 2 for i in drawn] + [b[1] for b in boxes]
    xe = [i.x + i.width / 2 for i in drawn] + [b[3] for b in boxes] + [x + text_width(t) for x, _, t in labels]
    ys = [i.top for i in drawn] + [b[2] for b in boxes]
    ye = [i.bottom for i in drawn] + [b[4] for b in boxes]
    dx, dy = MARGIN - min(xs), MARGIN + 24 - min(ys)
    width, height = max(xe) - min(xs) + 2 * MARGIN, max(ye) - min(ys) + 2 * MARGIN + 24
    return dx, dy, max(width, text_width(title, 13) + 2 * MARGIN), height


def _svg_header(width: float, height: float, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="Helvetica, Arial, sans-serif" font-size="{FONT_SIZE}">',
        "<defs>",
        '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        f'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{EDGE_COLOR}"/></marker>',
        "</defs>",
        '<rect width="100%" height="100%" fill="#ffffff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 6}" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]


def _cluster_svg(box, dx: float, dy: float) -> str:
    cluster, x0, y0, x1, y1 = box
    border, fill = cluster.colors
    dash = ' stroke-dasharray="4 3"' if cluster.dashed else ""
    return (f'<g class="cluster"><title>{escape("/".join(cluster.key))}</title>'
            f'<rect x="{x0 + dx:.1f}" y="{y0 + dy:.1f}" width="{x1 - x0:.1f}" height="{y1 - y0:.1f}" '
            f'rx="6" fill="{fill if not cluster.dashed else "none"}" stroke="{border}"{dash}/>'
            f'<text x="{x0 + dx + CLUSTER_PAD:.1f}" y="{y0 + dy + CLUSTER_LABEL - 3:.1f}" '
            f'font-size="{FONT_SIZE - 1}" fill="{border}">{escape(cluster.label)}</text></g>')


def _edge_svg(points, dx: float, dy: float) -> str:
    d = " ".join(f"{'M' if i == 0 else 'L'}{x + dx:.1f},{y + dy:.1f}" for i, (x, y) in enumerate(points))
    return f'<path d="{d}" fill="none" stroke="{EDGE_COLOR}" stroke-width="1.2" marker-end="url(#arrow)"/>'


def _layer_svg(item: Item, dx: float, dy: float) -> str:
    """A layer's box (the output's ellipse) with its lines of text and its tooltip."""
    x0, y0 = item.x - item.width / 2 + dx, item.top + dy
    shape = (f'<ellipse cx="{item.x + dx:.1f}" cy="{item.y + dy:.1f}" rx="{item.width / 2:.1f}" '
             f'ry="{item.height / 2:.1f}" fill="{item.fill}" stroke="#374151"/>' if item.key == OUTPUT else
             f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{item.width:.1f}" height="{item.height:.1f}" rx="4" '
             f'fill="{item.fill}" stroke="#374151"/>')
    texts = []
    for i, line in enumerate(item.lines):
        weight = ' font-weight="bold"' if i == 0 else ""
        baseline = y0 + BOX_PADDING[1] + LINE_HEIGHT * (i + 1) - 3
        texts.append(f'<text x="{item.x + dx:.1f}" y="{baseline:.1f}" text-anchor="middle"{weight}>'
                     f"{escape(line)}</text>")
    return f'<g class="layer"><title>{escape(item.tooltip)}</title>{shape}{"".join(texts)}</g>'


def _shape_label_svg(label: tuple[float, float, str], dx: float, dy: float) -> str:
    x, y, text = label
    return (f'<text class="shape" x="{x + dx:.1f}" y="{y + dy:.1f}" font-size="{FONT_SIZE - 1}" '
            f'fill="#1f2937" stroke="#ffffff" stroke-width="3" paint-order="stroke">{escape(text)}</text>')
