"""Checks over a finished static analysis: receptive-field alignment of merges
and the spec's budget. Their diagnostics join the analysis' own, so every
reader (check, summary, load) sees them."""

from __future__ import annotations

from dataclasses import replace

from netspec.infer.budget import check_budget, with_origin
from netspec.infer.facts import Analysis
from netspec.infer.geometry import geometry, geometry_warnings
from netspec.spec.budget import Limit, merge_limits


def checked_analysis(analysis: Analysis, overrides: tuple[Limit, ...] = ()) -> Analysis:
    """``analysis`` with misaligned-merge warnings and over-budget errors added
    (nothing is added while inference itself has errors: figures would be partial)."""
    if analysis.errors:
        return analysis
    found = geometry(analysis)
    analysis.graph.meta["geometry"] = found
    extra = geometry_warnings(analysis, found)
    limits = merge_limits(analysis.graph.meta.get("budget", ()), tuple(overrides))
    extra += with_origin(check_budget(analysis, limits), analysis.graph.source_path or analysis.graph.name)
    if not extra:
        return analysis
    return replace(analysis, diagnostics=analysis.diagnostics + tuple(extra))
