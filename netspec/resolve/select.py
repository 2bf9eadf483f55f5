"""Layer selection by name or glob pattern (``train: freeze:``, ``init_from: layers:``).

Pure Python over the IR: the checker reports a ``freeze:`` that names no layer,
the summary counts frozen layers as non-trainable, and training freezes them,
all with this one function.
"""

from __future__ import annotations

import fnmatch

from netspec.diagnostics import Diagnostic, NetspecError, did_you_mean, error
from netspec.ir import Graph
from netspec.spec.train import FreezeSpec


def select(graph: Graph, patterns: list[str], *, key: str) -> tuple[list[str], list[Diagnostic]]:
    """Layers of ``graph`` matched by names or glob patterns, in spec order, and a
    diagnostic for each pattern that matches nothing (``key`` names the setting)."""
    names = [node.name for node in graph.nodes if node.op != "input"]
    chosen: set[str] = set()
    problems = []
    for pattern in patterns:
        matched = [name for name in names if fnmatch.fnmatchcase(name, pattern)]
        if not matched:
            problems.append(error("unknown-layer", f"{key}: '{graph.name}' has no layer matching '{pattern}'",
                                  hint=did_you_mean(pattern, names) or "`netspec summary` lists the layer names"))
        chosen.update(matched)
    return [name for name in names if name in chosen], problems


def frozen_layers(graph: Graph, freeze: FreezeSpec | None) -> list[str]:
    """The names of the layers ``freeze`` selects, in spec order (raises a diagnostic
    per pattern or ``up_to`` that names no layer)."""
    if freeze is None:
        return []
    chosen, problems = select(graph, freeze.layers, key="train.freeze")
    if freeze.up_to is not None:
        names = [node.name for node in graph.nodes if node.op != "input"]
        inside = [name for name in names if name.startswith(freeze.up_to + "/")]  # a block: up to its last layer
        last = freeze.up_to if freeze.up_to in names else (inside[-1] if inside else None)
        if last is not None:
            chosen = sorted(set(chosen) | set(names[: names.index(last) + 1]), key=names.index)
        else:
            blocks = list(dict.fromkeys(name.split("/")[0] for name in names if "/" in name))
            hint = did_you_mean(freeze.up_to, names + blocks)
            if hint is None and blocks:
                hint = f"up_to takes a layer or a block; blocks: {', '.join(blocks[:20])}"
            problems.append(error("unknown-layer", f"train.freeze.up_to: '{graph.name}' has no layer or block "
                                                   f"'{freeze.up_to}'", hint=hint))
    if problems:
        raise NetspecError(problems)
    return chosen
