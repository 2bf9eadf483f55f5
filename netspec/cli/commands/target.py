"""What the commands that use a trained run are pointed at: a run folder alone
(``netspec eval runs/x``: the spec is the run's own ``spec.yaml``), or, as before,
a spec file with ``--checkpoint RUN``.

Not a command itself: ``eval``, ``predict``, ``features``, ``explain``,
``filters``, ``activations``, ``top-patches`` and ``maximize`` share it. JAX-free.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from netspec.diagnostics import NetspecError, error

TARGET_HELP = ("a run folder (uses its own spec.yaml and its best checkpoint), or the spec file "
               "the run was trained from, with --checkpoint")
CHECKPOINT_HELP = ("run folder (uses its best checkpoint) or one of its checkpoints/<name> folders; "
                   "not needed when RUN is a run folder")


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="RUN|SPEC", help=TARGET_HELP)
    parser.add_argument("--checkpoint", metavar="DIR", default=None, help=CHECKPOINT_HELP)


def _run_folder(path: Path) -> Path | None:
    from netspec.train import rundir

    for candidate in (path, path.parent.parent):
        if (candidate / rundir.RUN).is_file():
            return candidate
    return None


def resolve_target(args: argparse.Namespace) -> None:
    """Set ``args.spec`` (a spec file) and ``args.checkpoint`` from ``RUN|SPEC`` and ``--checkpoint``."""
    from netspec.train import rundir

    given = Path(args.spec)
    if given.is_dir():
        run = _run_folder(given)
        if run is None:
            raise NetspecError([error("not-a-run", f"{given} is not a netspec run folder (no {rundir.RUN})",
                                      hint="pass the folder `netspec train` printed as 'run folder: ...', "
                                           "or a spec file with --checkpoint")])
        spec = run / rundir.SPEC
        if not spec.is_file():
            raise NetspecError([error("no-spec", f"{run} has no {rundir.SPEC}",
                                      hint=f"pass the spec file it was trained from: SPEC --checkpoint {run}")])
        args.checkpoint = args.checkpoint or str(given)
        args.spec = str(spec)
        return
    if args.checkpoint is None:
        raise NetspecError([error("no-checkpoint", f"{given} is a spec file; say which trained run to use",
                                  hint=f"add --checkpoint RUN, or pass the run folder alone "
                                       f"(netspec {getattr(args, 'command', 'eval')} runs/NAME)")])
