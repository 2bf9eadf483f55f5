"""``netspec train SPEC --data SOURCE``: train a spec, writing a run folder.

``netspec train --resume DIR`` continues an interrupted run (the spec and
settings come from the run folder; ``--epochs`` may extend it). Exit status
0 when training ends (completed, early-stopped or ``--max-steps``), 1 on
errors (a non-finite loss included), 128 + the signal when interrupted
(130 Ctrl-C, 143 SIGTERM, 129 SIGHUP; a checkpoint is saved first).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from netspec.cli.options import (
    add_cluster_flags,
    add_data_flags,
    add_train_flags,
    data_options,
    enable_compilation_cache,
    load_dataset,
    options_from,
    overrides_from,
)
from netspec.diagnostics import NetspecError, error
from netspec.spec.cluster import ClusterOptions

HELP = "train a spec on data (progress bar, checkpoints, history, learning curves)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", nargs="?", help="spec file (YAML); optional with --resume")
    parser.add_argument("--out", default=None, metavar="DIR", help="run folder (default runs/<spec>-<time>); must be new or empty")
    parser.add_argument("--resume", metavar="DIR", default=None, help="continue the run in DIR from its last checkpoint")
    parser.add_argument("--max-steps", type=int, default=None, metavar="N", help="stop after this many steps in total (smoke tests)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or epoch rows")
    parser.add_argument("--allow-changes", action="store_true",
                        help="with --resume: accept settings that differ from the run's (recorded in run.json); "
                             "--epochs may always change")
    add_train_flags(parser)
    add_data_flags(parser)
    add_cluster_flags(parser)


def _spec_and_text(args: argparse.Namespace):
    from netspec.pipeline import load, read_spec_file

    if args.spec is None and args.resume is None:
        raise NetspecError([error("no-spec", "train needs a SPEC (or --resume DIR)",
                                  hint="e.g. netspec train specs/lenet.yaml --data mnist")])
    path = args.spec if args.spec is not None else str(Path(args.resume) / "spec.yaml")
    text, problems = read_spec_file(path)
    if text is None:
        raise NetspecError(problems)
    return load(path), text


def run(args: argparse.Namespace) -> int:
    cluster = options_from(args)
    if cluster is not None:
        from netspec.cli import supervise

        if not supervise.is_supervised():  # the training runs in a child; this process watches it
            return supervise.supervise(args.argv, cluster, args.resume or args.out)
        supervise.die_with_supervisor()
    return _train(args, cluster)


def _train(args: argparse.Namespace, cluster: ClusterOptions | None) -> int:
    from netspec.train.loop import fit
    from netspec.train.plan import plan_run
    from netspec.train.progress import Display
    from netspec.train.rundir import read_run

    if cluster is not None:  # before anything else touches JAX
        from netspec.train.cluster import initialize

        initialize(cluster)
    enable_compilation_cache()
    if args.resume is not None and args.out is not None:
        raise NetspecError([error("resume-out", "--resume continues a run in its own folder; drop --out")])
    if args.max_steps is not None and args.max_steps < 1:
        raise NetspecError([error("bad-max-steps", f"--max-steps must be at least 1, but got {args.max_steps}")])

    def prepare():
        # A bad --resume folder is reported before anything is loaded.
        run_info = read_run(Path(args.resume)) if args.resume is not None else None
        graph, text = _spec_and_text(args)
        plan = plan_run(graph, overrides_from(args), resume=args.resume, run=run_info)
        train = plan.train
        source = args.data or (run_info or {}).get("data") or train.data
        dataset = load_dataset(source, graph, val_split=train.val_split, seed=train.seed, args=args,
                               run_info=run_info)
        return run_info, graph, text, plan, source, dataset

    if cluster is None:
        run_info, graph, text, plan, source, dataset = prepare()
    else:  # a process that cannot read its spec or data stops every process, with its diagnostic
        from netspec.train.agreement import together

        run_info, graph, text, plan, source, dataset = together(prepare)
    display = Display(quiet=args.quiet)
    try:
        result = fit(graph, dataset, out=args.out, plan=plan, max_steps=args.max_steps,
                     display=display, data_source=source, data_options=data_options(args, run_info),
                     spec_text=text, allow_changes=args.allow_changes)
    except NetspecError as exc:
        if cluster is not None and any(d.code == "process-lost" for d in exc.diagnostics):
            from netspec.train.cluster import exit_now

            exit_now(exc)
        raise
    if result.stopped == "interrupted":  # 128 + the signal, as shells report it: 130 Ctrl-C, 143 SIGTERM
        return 128 + (result.signal or 2)
    return 0
