"""``netspec compare RUN RUN...``: runs side by side — final and best figures, the
settings that differ, and the learning curves overlaid (PNG)."""

from __future__ import annotations

import argparse

HELP = "compare runs: final/best metrics, the settings that differ, overlaid learning curves (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("runs", metavar="RUN", nargs="+", help="run folders")
    parser.add_argument("-o", "--output", metavar="PNG", default="compare.png",
                        help="the overlay plot (default compare.png here; an existing file is never replaced)")
    parser.add_argument("--format", choices=("table", "json"), default="table")


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from netspec.diagnostics import NetspecError, error
    from netspec.interpret.compare import comparison, read_run_summary, render, save_overlay_png

    output = Path(args.output)
    if output.exists():  # before any work
        raise NetspecError([error("output-exists", f"{output} already exists; netspec does not overwrite it",
                                  hint="choose another -o")])
    runs = [read_run_summary(folder) for folder in args.runs]
    result = comparison(runs)
    save_overlay_png(runs, output)
    result["plot"] = str(output)
    if args.format == "json":
        print(json.dumps(result, indent=2, default=str))
        return 0
    print(render(result))
    print(f"curves overlaid in {output}")
    return 0
