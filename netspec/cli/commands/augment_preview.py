"""``netspec augment-preview SPEC|RUN --data SOURCE``: a grid of training examples,
each followed by augmented copies drawn as the train step draws them (PNG)."""

from __future__ import annotations

import argparse

from netspec.cli.options import add_data_flags
from netspec.cli.output_files import add_force_flag, check_output, replaced_atomically

HELP = "show what augmentation does: training examples and augmented copies, as a grid (PNG)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC|RUN", help="a spec file, or a run folder (its resolved settings)")
    parser.add_argument("--data", default=None, help="data source (default: the spec's or run's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a train: key first, e.g. --set 'augment={rotation: 30}'")
    parser.add_argument("-n", "--examples", type=int, default=6, help="training examples to show (default 6)")
    parser.add_argument("--copies", type=int, default=7, help="augmented copies of each (default 7)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", metavar="PNG", default="augment-preview.png",
                        help="where to write the PNG (default augment-preview.png here)")
    add_force_flag(parser)
    add_data_flags(parser)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from netspec.cli.options import load_dataset, set_overrides
    from netspec.diagnostics import NetspecError, error
    from netspec.pipeline import load
    from netspec.spec.train import TrainSpec
    from netspec.train.session import settings

    output = Path(args.output)
    check_output(output, force=args.force, inputs=(args.spec,))
    if args.examples < 1 or args.copies < 1:
        raise NetspecError([error("bad-count", "--examples and --copies must be at least 1")])
    given = Path(args.spec)
    run_info = None
    if given.is_dir():
        from netspec.train.resume import read_run

        run_info = read_run(given)
        graph = load(str(given / "spec.yaml"))
        base = TrainSpec.model_validate(run_info["train"])
    else:
        graph, base = load(args.spec), None
    train = settings(graph, set_overrides(args.set), base)  # read as train reads --set: the loader's limits
    source = args.data or (run_info or {}).get("data") or train.data
    dataset = load_dataset(source, graph, val_split=train.val_split, seed=train.seed, args=args, run_info=run_info)
    if len(graph.input_shape) != 3:
        raise NetspecError([error("not-images", f"augmentation applies to images; '{graph.name}' takes "
                                                f"{graph.input_shape}")])

    from netspec.train.augment_preview import augmented_examples, describe, save_preview_png

    line = describe(train.augment)
    if train.augment is None or not train.augment.active:
        raise NetspecError([error("no-augment", f"'{graph.name}' trains without augmentation ({line})",
                                  hint="add augment: to its train: section, or try one: "
                                       "--set 'augment={rotation: 15, shift: 0.1}'")])
    originals = dataset.train.x[:args.examples]
    augmented = augmented_examples(train.augment, originals, args.copies, seed=args.seed)
    with replaced_atomically(output) as temporary:
        save_preview_png(originals, augmented, temporary, title=f"{graph.name} on {dataset.name}: {line}")
    print(f"{line}\n{len(originals)} training examples × {args.copies} augmented copies written to {output}")
    return 0
