"""What a run was trained with, so ``--resume`` continues exactly that run.

A run records two things in ``run.json`` (its own keys, ``fingerprints`` and
``setting_changes``; other keys belong to other parts of netspec):

* the *resolved network*: one line per layer (name, op, attributes, inputs)
  plus the spec's own ``train:`` section, and a SHA-256 of those lines. Any
  edit that changes what is built or how it is trained changes it, whatever
  file it came from; comments and formatting do not;
* every *setting* after the command-line overrides (``train`` already holds
  them; the fingerprint makes the comparison cheap to read).

On ``--resume`` the new network must equal the recorded one, and the
settings may differ only in ``epochs`` unless the user passes
``--allow-changes``; a few settings can never change on resume because the
checkpoint or the data order depends on them. A refusal shows a diff of
what changed; an allowed change is appended to ``setting_changes`` with the
epoch it took effect, so the first part's settings are never lost.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import time
from typing import Any, cast

from netspec.diagnostics import Diagnostic, error
from netspec.ir import Graph
from netspec.spec.train import TrainSpec

# May change on every resume: training longer is what resuming is for.
FREE_ON_RESUME = ("epochs",)
# Never change on resume: the batch order (batch_size, seed, val_split, drop_last), the
# checkpointed running totals (metrics, loss) and the saved statistics (standardize).
FIXED_ON_RESUME = ("batch_size", "seed", "val_split", "drop_last", "metrics", "loss", "standardize")
SHOWN_LINES = 20


def network_lines(graph: Graph) -> list[str]:
    """The resolved network, one line per layer, then the spec's ``train:`` section."""
    lines = [f"input {list(graph.input_shape)}"]
    for node in graph.nodes[1:]:
        lines.append(f"{node.name}: {node.op} {node.attrs!r} <- {', '.join(node.inputs)}")
    lines.append(f"output {graph.output}")
    train = cast(TrainSpec, graph.train).model_dump(mode="json") if graph.train is not None else {}
    lines += [f"train: {key} = {json.dumps(value, sort_keys=True)}" for key, value in flat(train).items()]
    return lines


def flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"optimizer": {"lr": 0.1}}`` -> ``{"optimizer.lr": 0.1}`` (lists stay values)."""
    found: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and value:
            found.update(flat(value, f"{prefix}{key}."))
        else:
            found[f"{prefix}{key}"] = value
    return found


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def record(graph: Graph, train: dict[str, Any]) -> dict[str, Any]:
    """The ``fingerprints`` entry of a new run's ``run.json``."""
    lines = network_lines(graph)
    return {"network": digest(lines), "network_lines": lines, "settings": digest(train)}


def network_problem(graph: Graph, recorded: dict[str, Any]) -> Diagnostic | None:
    """A diagnostic with a diff when ``graph`` is not the network the run trained."""
    lines = network_lines(graph)
    if recorded.get("network") in (None, digest(lines)):
        return None  # runs from before fingerprints cannot be checked
    diff = [line for line in difflib.unified_diff(recorded.get("network_lines", []), lines, "the run's network",
                                                  "this spec", lineterm="", n=0) if not line.startswith("@@")]
    shown = diff[:SHOWN_LINES] + ([f"... and {len(diff) - SHOWN_LINES} more lines"] if len(diff) > SHOWN_LINES else [])
    return error("resume-spec-changed",
                 "the spec is not the one this run was trained with:\n" + "\n".join(shown),
                 hint="resume with the run's own spec (netspec train --resume DIR, no SPEC), "
                      "or start a new run with --out")


def setting_changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list]:
    """``{key: [old, new]}`` for every flattened setting that differs."""
    old, new = flat(before), flat(after)
    return {key: [old.get(key), new.get(key)] for key in sorted(set(old) | set(new)) if old.get(key) != new.get(key)}


def settings_problem(changes: dict[str, list], allow_changes: bool) -> Diagnostic | None:
    """A diagnostic listing the changes a resume may not make (None when all are allowed)."""
    fixed = {k: v for k, v in changes.items() if k.split(".")[0] in FIXED_ON_RESUME}
    refused = fixed or {k: v for k, v in changes.items() if k not in FREE_ON_RESUME and not allow_changes}
    if not refused:
        return None
    listing = "\n".join(f"  {key}: {json.dumps(old)} -> {json.dumps(new)}" for key, (old, new) in refused.items())
    if fixed:
        return error("resume-changed", "a resumed run keeps the settings that fix its batch order, metrics "
                     f"and statistics, but these changed:\n{listing}",
                     hint="drop those options, or start a new run with --out")
    return error("resume-settings-changed", f"resuming would change these settings:\n{listing}",
                 hint="pass --allow-changes to continue with them (run.json records the change), "
                      "or drop those options; --epochs may always change")


def change_entry(changes: dict[str, list], epoch: int, global_step: int) -> dict[str, Any]:
    """One item of ``run.json``'s ``setting_changes``."""
    return {"from_epoch": epoch + 1, "global_step": global_step, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
            "changes": changes}
