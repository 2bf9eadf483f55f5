"""How much of ``netspec.build`` is netspec's own work? (ResNet-152 by default)

Times each stage of building a model on the current JAX device:

* load: YAML -> validated spec -> IR (the front end)
* infer: static shapes and counts
* emit: IR -> Python source
* compile: ``compile()`` + ``exec`` of that source (defines the classes)
* init: instantiating the module, i.e. Flax creating and initialising every
  parameter (run twice: the first run also pays JAX's one-off op compilation)

and prints netspec's overhead (emit + compile, and the whole static path)
as a fraction of Flax's own initialisation.

    .venv/bin/python benchmarks/build_overhead.py [specs/resnet152.yaml] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(function, repeat: int) -> tuple[float, object]:
    """(median seconds, last result) of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "resnet152.yaml"))
    parser.add_argument("--repeat", type=int, default=3, help="runs of each static stage (median shown)")
    args = parser.parse_args()

    from netspec.emit.program import emit_program
    from netspec.infer.rules import infer
    from netspec.pipeline import load

    text = Path(args.spec).read_text()
    load_time, graph = timed(lambda: load(text), args.repeat)
    infer_time, analysis = timed(lambda: infer(graph), args.repeat)
    emit_time, program = timed(lambda: emit_program(graph, analysis), args.repeat)

    def compile_source() -> dict:
        namespace: dict = {}
        exec(compile(program.source, f"<netspec:{program.class_name}>", "exec"), namespace)
        return namespace

    import jax
    from flax import nnx

    compile_time, namespace = timed(compile_source, args.repeat)
    network = namespace[program.class_name]

    def initialise():
        model = network(rngs=nnx.Rngs(params=0, dropout=1))
        jax.block_until_ready(nnx.state(model))
        return model

    first_init, _ = timed(initialise, 1)
    init_time, model = timed(initialise, 1)
    count = sum(leaf.size for leaf in jax.tree.leaves(nnx.state(model, nnx.Param)))

    rows = [("load (YAML -> IR)", load_time), ("infer (static facts)", infer_time),
            ("emit (IR -> source)", emit_time), ("compile + exec source", compile_time),
            ("Flax init, first run", first_init), ("Flax init, warm", init_time)]
    print(f"{graph.name}: {len(graph.nodes)} layers, {count:,} trainable parameters, "
          f"{len(program.source.splitlines())} lines of source, device {jax.devices()[0].platform}")
    for label, seconds in rows:
        print(f"  {label:<24} {seconds * 1000:10.1f} ms")
    own = emit_time + compile_time
    static = load_time + infer_time
    print(f"  emit + compile = {own * 1000:.1f} ms = {own / init_time:.1%} of warm Flax init "
          f"({own / first_init:.1%} of the first)")
    print(f"  whole netspec path (load + infer + emit + compile) = {(own + static) * 1000:.1f} ms "
          f"= {(own + static) / init_time:.1%} of warm Flax init")


if __name__ == "__main__":
    main()
