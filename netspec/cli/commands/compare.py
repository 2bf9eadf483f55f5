"""``netspec compare RUN RUN...``: runs side by side — final and best figures, the
settings that differ, and the learning curves overlaid (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "compare runs: final/best metrics, the settings that differ, overlaid learning curves (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUN", nargs="+", help="run folders")
    parser.add_argument("-o", "--output", metavar="PNG", default="compare.png",
                        help="the overlay plot (default compare.png here)")
    add_force_flag(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from netspec.interpret.compare import comparison, read_run_summary, render, save_overlay_png

    output = Path(args.output)
    check_output(output, force=args.force)  # before any work
    runs = [read_run_summary(folder) for folder in args.runs]
    result = comparison(runs)
    with replaced_atomically(output) as temporary:
        save_overlay_png(runs, temporary)
    result["plot"] = str(output)
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(render(result))
    print(f"curves overlaid in {output}")
    return 0
