"""A semantic diff of two resolved networks (pure Python, no JAX).

Both specs are expanded first (templates, repeats, blocks, a chosen scale),
so a diff compares networks, not texts: moving a block into a template
changes nothing, one more repeat shows as the layers it adds.

Layers are matched by name first; the layers left over on both sides are
then paired by position (in execution order) when they have the same op.
What is still unmatched is added (only in B) or removed (only in A). Added
and removed layers are grouped by the outermost block that is new or gone as
a whole (``conv4/repeat_1/identity_block_6``), so ResNet-101 against ResNet-50
reads as 17 extra conv4 blocks rather than 170 layers.

A matched pair is *changed* when its op, a hyper-parameter (named with both
values), its output shape or its parameter count differ. Totals compare
parameters, MACs, FLOPs, activation memory and the output's receptive field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields

from netspec.infer.facts import Analysis
from netspec.infer.flops import FLOPS_PER_MAC
from netspec.ir import Node
from netspec.ops import format_extent
from netspec.spec.units import human_bytes, human_count

BYTES_PER_VALUE = 4


@dataclass(frozen=True)
class Change:
    """A layer present in both networks whose definition or figures differ."""

    name_a: str
    name_b: str
    op: str
    hyper: tuple[tuple[str, str, str], ...]  # (hyper-parameter, value in A, value in B)
    shape_a: tuple[int, ...]
    shape_b: tuple[int, ...]
    params_a: int
    params_b: int

    def to_dict(self) -> dict:
        return {"name_a": self.name_a, "name_b": self.name_b, "op": self.op,
                "hyperparameters": [{"name": key, "a": a, "b": b} for key, a, b in self.hyper],
                "output_shape_a": list(self.shape_a), "output_shape_b": list(self.shape_b),
                "params_a": self.params_a, "params_b": self.params_b, "params_delta": self.params_b - self.params_a}


@dataclass(frozen=True)
class Group:
    """Layers only one network has, under one block path (or one layer)."""

    path: str
    side: str  # "added" (only in B) or "removed" (only in A)
    layers: tuple[str, ...]
    params: int
    macs: int

    def to_dict(self) -> dict:
        return {"path": self.path, "layers": list(self.layers), "params": self.params, "macs": self.macs}


@dataclass(frozen=True)
class Totals:
    params: int
    trainable_params: int
    macs: int
    activation_bytes: int
    receptive_field: tuple[int, ...]
    output_shape: tuple[int, ...]

    @property
    def flops(self) -> int:
        return FLOPS_PER_MAC * self.macs

    def to_dict(self) -> dict:
        return {"params": self.params, "trainable_params": self.trainable_params, "macs": self.macs,
                "flops": self.flops, "activation_bytes": self.activation_bytes,
                "receptive_field": list(self.receptive_field), "output_shape": list(self.output_shape)}


@dataclass(frozen=True)
class NetworkDiff:
    """Everything that differs between network A and network B."""

    name_a: str
    name_b: str
    added: tuple[Group, ...]
    removed: tuple[Group, ...]
    changed: tuple[Change, ...]
    renamed: tuple[tuple[str, str], ...]  # matched by position, otherwise identical
    matched: int
    totals_a: Totals
    totals_b: Totals

    @property
    def equal(self) -> bool:
        return not (self.added or self.removed or self.changed or self.renamed) and self.totals_a == self.totals_b

    def to_dict(self) -> dict:
        deltas = {key: value - self.totals_a.to_dict()[key] for key, value in self.totals_b.to_dict().items()
                  if isinstance(value, int)}
        return {"a": self.name_a, "b": self.name_b, "equal": self.equal, "matched_layers": self.matched,
                "added": [g.to_dict() for g in self.added], "removed": [g.to_dict() for g in self.removed],
                "changed": [c.to_dict() for c in self.changed],
                "renamed": [{"a": a, "b": b} for a, b in self.renamed],
                "totals": {"a": self.totals_a.to_dict(), "b": self.totals_b.to_dict(), "delta": deltas}}

    def json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    # --- text ---------------------------------------------------------------------------------------

    def _total_rows(self) -> list[tuple[str, str, str, str]]:
        a, b = self.totals_a, self.totals_b
        rows = []
        for label, x, y, show in (
                ("params", a.params, b.params, _count),
                ("trainable params", a.trainable_params, b.trainable_params, _count),
                ("MACs", a.macs, b.macs, _human),
                ("FLOPs", a.flops, b.flops, _human),
                ("activation memory / example", a.activation_bytes, b.activation_bytes, _bytes)):
            rows.append((label, show(x), show(y), _signed(y - x, show)))
        rows.append(("receptive field", format_extent(a.receptive_field) or "-",
                     format_extent(b.receptive_field) or "-",
                     "=" if a.receptive_field == b.receptive_field else
                     " ".join(_signed(y - x, str) for x, y in zip(a.receptive_field, b.receptive_field))))
        rows.append(("output shape", str(a.output_shape), str(b.output_shape),
                     "=" if a.output_shape == b.output_shape else "changed"))
        return rows

    def _lines(self, bullet: str, code) -> list[str]:
        out = []
        for title, groups, sign in (("Added (only in B)", self.added, "+"), ("Removed (only in A)", self.removed, "-")):
            if not groups:
                continue
            out.append(f"{title}:")
            for parent, members in _siblings(groups):
                out.append(f"{bullet}{sign} {code(parent)}: {len(members)} blocks "
                           f"({members[0].path.rsplit('/', 1)[1]} … {members[-1].path.rsplit('/', 1)[1]}), "
                           f"{_signed(sum(g.params for g in members) * (1 if sign == '+' else -1), _count)} params")
            for group in groups:
                what = f"{len(group.layers)} layer{'s' if len(group.layers) != 1 else ''}"
                out.append(f"{bullet}{sign} {code(group.path)}  {what}, {_signed(group.params if sign == '+' else -group.params, _count)} params, "
                           f"{human_count(group.macs)} MACs")
            out.append("")
        if self.changed:
            out.append("Changed:")
            for change in self.changed:
                name = change.name_a if change.name_a == change.name_b else f"{change.name_a} → {change.name_b}"
                parts = [f"{key} {a} → {b}" for key, a, b in change.hyper]
                if change.shape_a != change.shape_b:
                    parts.append(f"output {change.shape_a} → {change.shape_b}")
                if change.params_a != change.params_b:
                    parts.append(f"params {_signed(change.params_b - change.params_a, _count)}")
                out.append(f"{bullet}~ {code(name)}  " + "; ".join(parts))
            out.append("")
        if self.renamed:
            out.append("Renamed (same layer):")
            out += [f"{bullet}= {code(a)} → {code(b)}" for a, b in self.renamed]
            out.append("")
        return out

    def table(self) -> str:
        head = f"A: {self.name_a}\nB: {self.name_b}"
        if self.equal:
            return head + f"\nthe networks are equal ({self.matched} layers)"
        out = [head, f"{self.matched} layers matched, {sum(len(g.layers) for g in self.added)} added, "
                     f"{sum(len(g.layers) for g in self.removed)} removed, {len(self.changed)} changed, "
                     f"{len(self.renamed)} renamed", ""]
        out += self._lines("  ", str)
        rows = [("", "A", "B", "delta"), *self._total_rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        out += ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
                for row in rows]
        return "\n".join(out)

    def markdown(self) -> str:
        out = [f"### `{self.name_a}` → `{self.name_b}`", ""]
        if self.equal:
            return "\n".join(out + [f"The networks are equal ({self.matched} layers)."])
        out += self._lines("- ", lambda text: f"`{text}`")
        out += ["| | A | B | delta |", "|---|---:|---:|---:|"]
        out += [f"| {label} | {a} | {b} | {d} |" for label, a, b, d in self._total_rows()]
        return "\n".join(out)


def _siblings(groups: tuple[Group, ...]) -> list[tuple[str, list[Group]]]:
    """Runs of two or more block groups under one parent path (``conv4/repeat_1``: 17 blocks)."""
    parents: dict[str, list[Group]] = {}
    for group in groups:
        if "/" in group.path:
            parents.setdefault(group.path.rsplit("/", 1)[0], []).append(group)
    return [(parent, members) for parent, members in parents.items() if len(members) > 1]


def _count(value: int) -> str:
    return f"{value:,}"


def _human(value: int) -> str:
    return f"{human_count(abs(value))}" if abs(value) >= 1000 else str(abs(value))


def _bytes(value: int) -> str:
    return human_bytes(abs(value))


def _signed(delta: int, show) -> str:
    if delta == 0:
        return "="
    return ("+" if delta > 0 else "-") + show(abs(delta)).lstrip("-")


# --- matching -----------------------------------------------------------------------------------------


def _hyper(a: Node, b: Node) -> tuple[tuple[str, str, str], ...]:
    if type(a.attrs) is not type(b.attrs):
        return (("op", a.op, b.op),)
    out = []
    for field in fields(a.attrs):
        x, y = getattr(a.attrs, field.name), getattr(b.attrs, field.name)
        if x != y:
            out.append((field.name, _value(x), _value(y)))
    return tuple(out)


def _value(value) -> str:
    if isinstance(value, tuple) and value and all(isinstance(v, int) for v in value):
        return format_extent(value)
    if hasattr(value, "name") and hasattr(value, "alpha"):  # Activation
        return value.name if value.alpha is None else f"{value.name}({value.alpha:g})"
    return str(value)


def _match(a: Analysis, b: Analysis) -> list[tuple[str | None, str | None]]:
    names_b = {node.name for node in b.graph.nodes}
    pairs: dict[str, str] = {n.name: n.name for n in a.graph.nodes if n.name in names_b}
    left = [n for n in a.graph.nodes if n.name not in pairs]
    right = [n for n in b.graph.nodes if n.name not in pairs.values()]
    used: set[str] = set()
    position = 0
    for node in left:  # pair leftovers in order, same op only
        for index in range(position, len(right)):
            if right[index].op == node.op and right[index].name not in used:
                pairs[node.name] = right[index].name
                used.add(right[index].name)
                position = index + 1
                break
    matched_b = set(pairs.values())
    return ([(name, pairs.get(name)) for name in (n.name for n in a.graph.nodes)]
            + [(None, n.name) for n in b.graph.nodes if n.name not in matched_b])


def _groups(names: list[str], analysis: Analysis, other_names: set[str], side: str) -> tuple[Group, ...]:
    """Group unmatched layers by the outermost block path none of whose layers the other network has."""
    if not names:
        return ()
    def prefixes(name: str) -> list[str]:
        parts = name.split("/")
        return ["/".join(parts[:depth]) for depth in range(1, len(parts))]

    total: dict[str, int] = {}
    missing: dict[str, int] = {}
    unmatched = set(names)
    for node in analysis.graph.nodes:
        for prefix in prefixes(node.name):
            total[prefix] = total.get(prefix, 0) + 1
            missing[prefix] = missing.get(prefix, 0) + (node.name in unmatched)
    elsewhere = {prefix for name in other_names for prefix in prefixes(name)}
    groups: dict[str, list[str]] = {}
    for name in names:
        key = next((prefix for prefix in prefixes(name)
                    if missing[prefix] == total[prefix] and prefix not in elsewhere), name)
        groups.setdefault(key, []).append(name)
    out = []
    for path, members in groups.items():
        out.append(Group(path, side, tuple(members), sum(analysis.layers[m].params for m in members),
                         sum(analysis.layers[m].macs for m in members)))
    return tuple(out)


def _totals(analysis: Analysis) -> Totals:
    output = analysis.output
    return Totals(params=analysis.total_params, trainable_params=analysis.trainable_params, macs=analysis.macs,
                  activation_bytes=BYTES_PER_VALUE * sum(f.activation_size for f in analysis.layers.values()),
                  receptive_field=output.receptive_field, output_shape=output.output_shape)


def diff(a: Analysis, b: Analysis, label_a: str | None = None, label_b: str | None = None) -> NetworkDiff:
    """The semantic diff of two error-free analyses (see the module docstring)."""
    pairs = _match(a, b)
    removed = [x for x, y in pairs if y is None and x is not None]
    added = [y for x, y in pairs if x is None and y is not None]
    changed, renamed = [], []
    for x, y in pairs:
        if x is None or y is None:
            continue
        node_a, node_b = a.graph.node(x), b.graph.node(y)
        facts_a, facts_b = a.layers[x], b.layers[y]
        hyper = _hyper(node_a, node_b)
        if hyper or facts_a.output_shape != facts_b.output_shape or facts_a.params != facts_b.params:
            changed.append(Change(x, y, node_b.op, hyper, facts_a.output_shape, facts_b.output_shape,
                                  facts_a.params, facts_b.params))
        elif x != y:
            renamed.append((x, y))
    names_a = {n.name for n in a.graph.nodes}
    names_b = {n.name for n in b.graph.nodes}
    return NetworkDiff(
        name_a=label_a or a.graph.name, name_b=label_b or b.graph.name,
        added=_groups(added, b, names_a, "added"), removed=_groups(removed, a, names_b, "removed"),
        changed=tuple(changed), renamed=tuple(renamed), matched=sum(1 for x, y in pairs if x and y),
        totals_a=_totals(a), totals_b=_totals(b))
