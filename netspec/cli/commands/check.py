"""``netspec check SPEC...``: validate and shape-check spec files."""

from __future__ import annotations

import argparse
import json
import sys

from netspec.cli.colour import use_color
from netspec.cli.options import add_budget
from netspec.diagnostics import render

HELP = "validate and shape-check spec files (exit 0 when all are clean, 1 when any has errors)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", metavar="SPEC", help="spec files (YAML)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text diagnostics like a compiler, or JSON for tools")
    parser.add_argument("--strict", action="store_true", help="treat warnings as errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only problems")
    add_budget(parser)


def run(args: argparse.Namespace) -> int:
    from netspec.pipeline import check_file

    results = [check_file(path, budget=tuple(args.budget)) for path in args.specs]
    failed = [r for r in results if r.errors or (args.strict and r.diagnostics)]
    if args.format == "json":
        print(json.dumps([_result_dict(r) for r in results], indent=2))
        return 1 if failed else 0
    color = use_color(sys.stderr)
    for result in results:
        if result.diagnostics:
            print(render(result.diagnostics, color=color), file=sys.stderr)
        if not args.quiet and result.ok and result.analysis is not None:
            analysis = result.analysis
            warnings = len(result.diagnostics)
            suffix = f", {warnings} warning(s)" if warnings else ""
            print(f"{result.path}: ok — {analysis.graph.name}, output {_shape(analysis.output.output_shape)}, "
                  f"{analysis.total_params:,} params{suffix}")
            for line in _budget_lines(analysis, args.budget):
                print(f"  within budget: {line}")
    if len(results) > 1 and not args.quiet:
        print(f"{len(results) - len(failed)} of {len(results)} spec(s) clean")
    return 1 if failed else 0


def _budget_lines(analysis, overrides) -> list[str]:
    from netspec.infer.budget import budget_usage
    from netspec.spec.budget import merge_limits

    return budget_usage(analysis, merge_limits(analysis.graph.meta.get("budget", ()), tuple(overrides)))


def _shape(shape: tuple[int, ...]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _result_dict(result) -> dict:
    out = {"path": result.path, "ok": result.ok,
           "diagnostics": [d.to_dict() for d in result.diagnostics]}
    if result.analysis is not None and result.ok:
        analysis = result.analysis
        out.update(name=analysis.graph.name, output_shape=list(analysis.output.output_shape),
                   total_params=analysis.total_params, trainable_params=analysis.trainable_params,
                   non_trainable_params=analysis.non_trainable_params, macs=analysis.macs,
                   flops=2 * analysis.macs)
    return out
