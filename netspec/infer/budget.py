"""Budgets: compare a network's figures with the limits of its ``budget:`` section.

The limits come from :mod:`netspec.spec.budget` (:func:`~netspec.spec.budget.spec_limits`
reads the validated section with the line of each key, :func:`~netspec.spec.budget.parse_override`
one ``--budget KEY=VALUE`` flag). :func:`check_budget` returns one error per
exceeded limit, at the limit's line, naming the figure, the limit and the
layers that contribute most.
"""

from __future__ import annotations

from dataclasses import replace
from typing import cast

from netspec.diagnostics import Diagnostic
from netspec.infer.facts import Analysis
from netspec.infer.flops import FLOPS_PER_MAC
from netspec.infer.memory import BYTES_PER_VALUE, MemoryEstimate, estimate
from netspec.resolve.select import frozen_layers
from netspec.spec.budget import Limit
from netspec.spec.train import TrainSpec
from netspec.spec.units import human_bytes, human_count

TOP_LAYERS = 3
DEFAULT_OPTIMIZER = "adam"


# --- the figures ------------------------------------------------------------------------------------------


def _per_layer(analysis: Analysis, key: str, frozen: set[str]) -> dict[str, int]:
    layers = analysis.layers
    if key == "max_params":
        return {name: f.params for name, f in layers.items()}
    if key == "max_trainable_params":
        return {name: 0 if name in frozen else f.trainable_params for name, f in layers.items()}
    if key == "max_macs":
        return {name: f.macs for name, f in layers.items()}
    if key == "max_flops":
        return {name: FLOPS_PER_MAC * f.macs for name, f in layers.items()}
    if key == "max_activation_memory":
        return {name: BYTES_PER_VALUE * f.activation_size for name, f in layers.items()}
    raise KeyError(key)


_WHAT = {"max_params": "parameters", "max_trainable_params": "trainable parameters",
         "max_macs": "MACs per example", "max_flops": "FLOPs per example",
         "max_activation_memory": "of activations per example"}


def _amount(key: str, value: int) -> str:
    if key in ("max_activation_memory", "max_train_memory"):
        return human_bytes(value)
    return f"{value:,}" if value < 10**6 else f"{value:,} ({human_count(value)})"


def _top(per_layer: dict[str, int], key: str, total: int) -> str:
    ranked = sorted(((value, name) for name, value in per_layer.items() if value > 0), reverse=True)[:TOP_LAYERS]
    shown = [f"'{name}' {_amount(key, value)} ({100 * value / total:.1f}%)" for value, name in ranked]
    return "largest: " + ", ".join(shown)


def _frozen_layers(analysis: Analysis) -> set[str]:
    freeze = getattr(analysis.graph.train, "freeze", None)
    if freeze is None:
        return set()
    return set(frozen_layers(analysis.graph, freeze))


def _train_memory(analysis: Analysis, limit: Limit, frozen: set[str]) -> MemoryEstimate:
    train = cast("TrainSpec | None", analysis.graph.train)
    optimizer = limit.optimizer or (train.optimizer.name if train is not None else DEFAULT_OPTIMIZER)
    momentum = train.optimizer.momentum if train is not None and train.optimizer.name == optimizer else 0.0
    return estimate(analysis, limit.batch_size or 1, optimizer, momentum, frozenset(frozen))


def _exceeded(key: str, figure: int, limit: Limit, top: str, extra: str = "") -> Diagnostic:
    over = figure - limit.value
    share = f", {100 * over / limit.value:.1f}% over" if limit.value else ""
    what = _WHAT.get(key, "")
    message = (f"{limit.origin} {key} is {_amount(key, limit.value)}, but the network has "
               f"{_amount(key, figure)} {what}{extra}{share}").replace("  ", " ")
    return Diagnostic("error", "over-budget", message, limit.span,
                      "make the network smaller, or raise the limit if it is meant to grow", (top,))


def _figures(analysis: Analysis, limit: Limit, frozen: set[str]) -> tuple[int, dict[str, int], str]:
    """(the network's figure for ``limit``, its per-layer parts, words describing how it was found)."""
    if limit.key == "max_train_memory":
        found = _train_memory(analysis, limit, frozen)
        extra = (f" (estimated train-step peak, batch {found.batch_size}, {found.optimizer}: "
                 f"weights {human_bytes(found.param_bytes)}, gradients {human_bytes(found.gradient_bytes)}, "
                 f"optimizer {human_bytes(found.optimizer_bytes)}, activations {human_bytes(found.activation_bytes)}, "
                 f"batch {human_bytes(found.batch_bytes)}, workspace {human_bytes(found.workspace_bytes)})")
        return found.peak_bytes, {layer.name: layer.total_bytes for layer in found.layers}, extra
    per_layer = _per_layer(analysis, limit.key, frozen)
    return sum(per_layer.values()), per_layer, ""


def check_budget(analysis: Analysis, limits: tuple[Limit, ...]) -> list[Diagnostic]:
    """One ``over-budget`` error per limit the network exceeds (none when within)."""
    out: list[Diagnostic] = []
    frozen = _frozen_layers(analysis) if limits else set()
    for limit in limits:
        figure, per_layer, extra = _figures(analysis, limit, frozen)
        if figure > limit.value:
            out.append(_exceeded(limit.key, figure, limit, _top(per_layer, limit.key, figure), extra))
    return out


def budget_usage(analysis: Analysis, limits: tuple[Limit, ...]) -> list[str]:
    """One line per limit: the figure, the limit and the share used (for check's report)."""
    frozen = _frozen_layers(analysis) if limits else set()
    lines = []
    for limit in limits:
        figure, _, _ = _figures(analysis, limit, frozen)
        share = f" ({100 * figure / limit.value:.0f}%)" if limit.value else ""
        batch = f" at batch {limit.batch_size}" if limit.batch_size else ""
        lines.append(f"{limit.key}{batch}: {_amount(limit.key, figure)} of {_amount(limit.key, limit.value)}{share}")
    return lines


def with_origin(diagnostics: list[Diagnostic], path: str) -> list[Diagnostic]:
    """``--budget`` errors have no span; name the file they were checked against."""
    return [d if d.span is not None else replace(d, notes=d.notes + (f"checked against {path}",))
            for d in diagnostics]
