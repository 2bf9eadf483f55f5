"""``netspec export SPEC -o model.py``: write the generated Flax NNX source.

The file is exactly what ``netspec.build`` compiles, and runs on its own
(it imports only jax and flax). An existing file is never replaced unless
``--force`` is given; the write goes through a temporary file, so an
interrupted export leaves the old file intact.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from netspec.cli.colour import use_color
from netspec.diagnostics import NetspecError, error, render
from netspec.emit.lowering import BACKENDS, LOWERINGS, Lowering

HELP = "write the Flax NNX source of a spec as a standalone Python file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="spec file (YAML)")
    parser.add_argument("-o", "--output", metavar="FILE", default="-",
                        help="where to write the module ('-', the default, prints it)")
    parser.add_argument("--force", action="store_true", help="replace FILE if it already exists")
    parser.add_argument("--lowering", choices=LOWERINGS, default="auto",
                        help="how convs and pools are written: auto (the rule table for --backend, the default), "
                             "lax (Flax's own calls), im2col (convs by slices + matmul), im2col-grad (XLA's conv, the "
                             "kernel gradient by im2col) or shifts (forward by shifted multiply-adds, gradients as "
                             "im2col-grad's); all but lax pool tiling windows by strided slices")
    parser.add_argument("--backend", choices=BACKENDS, default="cpu",
                        help="the backend 'auto' chooses for (default cpu, what netspec.build picks there)")


def run(args: argparse.Namespace) -> int:
    from netspec.emit.program import emit_source
    from netspec.pipeline import analysis_of, load

    graph = load(args.spec)
    source = emit_source(graph, analysis_of(graph), Lowering(args.lowering, args.backend))
    warnings = graph.meta.get("warnings", [])
    if warnings:
        print(render(warnings, color=use_color(sys.stderr)), file=sys.stderr)
    if args.output == "-":
        sys.stdout.write(source)
        return 0
    target = Path(args.output)
    check_target(target, Path(args.spec), force=args.force)
    write_atomically(target, source)
    analysis = analysis_of(graph)
    print(f"wrote {target} ({graph.name}: {analysis.total_params:,} parameters)", file=sys.stderr)
    return 0


def check_target(target: Path, spec: Path, *, force: bool) -> None:
    """Raise a diagnostic unless writing ``target`` is safe."""
    if target.is_dir():
        raise NetspecError([error("output-is-directory", f"{target} is a directory",
                                  hint="give a file name, e.g. -o model.py")])
    if target.exists() and spec.exists() and target.resolve() == spec.resolve():
        raise NetspecError([error("output-is-spec", f"refusing to overwrite the spec {spec} with Python code",
                                  hint="choose another -o path")])
    if target.exists() and not force:
        raise NetspecError([error("output-exists", f"{target} already exists; not overwriting it",
                                  hint="pass --force to replace it, or choose another -o path")])


def write_atomically(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file in the same folder."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(text)
            umask = os.umask(0)  # mkstemp makes the file private; give it the usual mode
            os.umask(umask)
            os.chmod(temporary, 0o666 & ~umask)
            os.replace(temporary, target)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise NetspecError([error("cannot-write", f"cannot write {target}: {exc.strerror or exc}")]) from None
