"""Calibrate netspec's training-memory estimate against XLA's own figure.

For each spec, the train step ``netspec train`` runs (``Session.steps.train``,
the jitted step over model and optimizer state) is lowered and compiled for
the given batch size, and ``compiled.memory_analysis()`` gives XLA's buffer
sizes. XLA's peak is taken as ``arguments + outputs + temporaries − aliased``
(what the step holds at once: inputs, results, and its scratch buffers).
The static estimate (``netspec.infer.memory.estimate``) is printed next to it::

    .venv/bin/python benchmarks/memory_calibration.py specs/vgg16.yaml specs/resnet50.yaml --batch-size 2 \
        --json vgg_resnet.json
    .venv/bin/python benchmarks/memory_calibration.py --reestimate vgg_resnet.json   # no compiling

``tests/test_memory.py`` runs the same comparison on the small zoo networks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def xla_train_step_bytes(spec: str | Path, batch_size: int, optimizer: str | None = None) -> dict[str, int]:
    """XLA's memory analysis of the compiled train step of ``spec`` at ``batch_size``."""
    import numpy as np

    from netspec.cli.commands.bench import synthetic_batch
    from netspec.data.standardize import Standardizer
    from netspec.pipeline import load
    from netspec.train.session import Session, settings

    graph = load(spec)
    overrides = {"batch_size": batch_size, "augment": None}
    if optimizer is not None:
        overrides["optimizer"] = optimizer
    train = settings(graph, overrides)
    session = Session(graph, train, task=None, standardizer=Standardizer.fit(np.zeros((1,)), "none"),
                      train_examples=batch_size, directory=None)
    x, y = synthetic_batch(batch_size, graph.input_shape, session.output_shape, session.loss_name)
    import jax

    # Donated state, as netspec's step runs on accelerators: the new weights and optimizer
    # state reuse the old buffers (XLA reports them as aliased).
    step = jax.jit(session.steps._train, donate_argnums=(0, 1, 2))
    lowered = step.lower(session.model_state, session.opt_state, session.totals, x, y)
    stats = lowered.compile().memory_analysis()
    figures = {"argument_bytes": stats.argument_size_in_bytes, "output_bytes": stats.output_size_in_bytes,
               "temp_bytes": stats.temp_size_in_bytes, "alias_bytes": stats.alias_size_in_bytes}
    figures["peak_bytes"] = (figures["argument_bytes"] + figures["output_bytes"] + figures["temp_bytes"]
                             - figures["alias_bytes"])
    return figures | {"optimizer": train.optimizer.name, "momentum": train.optimizer.momentum}


def static_estimate(spec: str | Path, batch_size: int, optimizer: str, momentum: float):
    from netspec.infer.memory import estimate
    from netspec.pipeline import analysis_of, load

    return estimate(analysis_of(load(spec)), batch_size, optimizer, momentum)


def compare(spec: str | Path, batch_size: int, optimizer: str | None = None) -> dict:
    started = time.perf_counter()
    xla = xla_train_step_bytes(spec, batch_size, optimizer)
    seconds = time.perf_counter() - started
    ours = static_estimate(spec, batch_size, xla["optimizer"], xla["momentum"])
    return {"spec": str(spec), "batch_size": batch_size, "xla": xla, "estimate": ours.to_dict(),
            "ratio": ours.peak_bytes / xla["peak_bytes"], "compile_s": seconds}


def reestimate(recorded: list[str]) -> None:
    """The table again from XLA figures recorded with --json, with the estimate as it is now
    (compiling a large network takes minutes; the estimate takes milliseconds)."""
    print("| spec | optimizer | batch | estimate MiB | XLA MiB | estimate / XLA | lower + compile s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for path in recorded:
        for result in json.loads(Path(path).read_text()):
            xla = result["xla"]
            ours = static_estimate(ROOT / result["spec"], result["batch_size"], xla["optimizer"], xla["momentum"])
            name = xla["optimizer"] + ("+momentum" if xla["momentum"] else "")
            print(f"| `{result['spec']}` | {name} | {result['batch_size']} | {ours.peak_bytes / 2**20:,.1f} | "
                  f"{xla['peak_bytes'] / 2**20:,.1f} | {ours.peak_bytes / xla['peak_bytes']:.2f} | "
                  f"{result.get('compile_s', float('nan')):.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--optimizer", default=None)
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--reestimate", nargs="+", metavar="JSON", default=None,
                        help="print the table from XLA figures recorded with --json, without compiling")
    args = parser.parse_args()
    if args.reestimate:
        reestimate(args.reestimate)
        return 0
    if not args.specs:
        parser.error("give at least one spec, or --reestimate JSON...")
    results = []
    for spec in args.specs:
        result = compare(spec, args.batch_size, args.optimizer)
        results.append(result)
        xla, ours = result["xla"], result["estimate"]
        print(f"{spec}: batch {args.batch_size}, {xla['optimizer']}: estimate {ours['peak_bytes'] / 2**20:,.1f} MiB, "
              f"XLA {xla['peak_bytes'] / 2**20:,.1f} MiB (args {xla['argument_bytes'] / 2**20:,.1f}, "
              f"out {xla['output_bytes'] / 2**20:,.1f}, temp {xla['temp_bytes'] / 2**20:,.1f}), "
              f"ratio {result['ratio']:.2f}, lower + compile {result['compile_s']:.0f} s", flush=True)
        if args.json:  # after every network: a long run interrupted keeps what it measured
            Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
