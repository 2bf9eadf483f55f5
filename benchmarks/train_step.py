"""Train-step throughput: netspec's compiled models vs. hand-written Flax NNX + Optax.

For two models — LeNet-5 (``specs/lenet.yaml``, Adam, batch 128) and the
lectures' CIFAR-10 convnet (``examples/cifar10_convnet.yaml``, SGD with
momentum, batch 32, dropout) — three train steps are timed on the same
device-resident batch:

* ``netspec``: the train step ``netspec train`` runs (model built from the
  spec, ``nnx.Optimizer``, ``jax.jit`` over split state, metrics accumulated
  in the step);
* ``hand, nnx.jit``: the same network written by hand in Flax NNX, trained
  with ``@nnx.jit`` as in Flax's MNIST example;
* ``hand, jax.jit``: the hand-written network with the functional loop
  (``nnx.split`` once, ``jax.jit`` a pure step) — the fastest way to write
  it by hand.

Windows of ``--steps`` steps are interleaved across the variants (so a noisy,
shared machine slows all of them alike) and the median window is reported
as images per second. One run, one process::

    .venv/bin/python benchmarks/train_step.py [--windows 21] [--steps 5] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from netspec.allocator import keep_freed_memory

keep_freed_memory()  # before JAX starts its threads, as the netspec command line does

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from flax import nnx  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


# --- the hand-written networks --------------------------------------------------


class LeNet(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(1, 6, (5, 5), padding=((2, 2), (2, 2)), rngs=rngs)
        self.conv2 = nnx.Conv(6, 16, (5, 5), padding="VALID", rngs=rngs)
        self.fc1 = nnx.Linear(400, 120, rngs=rngs)
        self.fc2 = nnx.Linear(120, 84, rngs=rngs)
        self.logits = nnx.Linear(84, 10, rngs=rngs)

    def __call__(self, x):
        x = nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), (2, 2))
        x = nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), (2, 2))
        x = x.reshape(x.shape[0], -1)
        return self.logits(nnx.relu(self.fc2(nnx.relu(self.fc1(x)))))


class CifarNet(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs):
        self.conv1 = nnx.Conv(3, 32, (3, 3), padding="SAME", rngs=rngs)
        self.dropout1 = nnx.Dropout(0.2, rngs=rngs)
        self.conv2 = nnx.Conv(32, 32, (3, 3), padding="SAME", rngs=rngs)
        self.dense1 = nnx.Linear(16 * 16 * 32, 512, rngs=rngs)
        self.dropout2 = nnx.Dropout(0.5, rngs=rngs)
        self.dense2 = nnx.Linear(512, 10, rngs=rngs)

    def __call__(self, x):
        x = self.dropout1(nnx.relu(self.conv1(x)))
        x = nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), (2, 2))
        x = x.reshape(x.shape[0], -1)
        return self.dense2(self.dropout2(nnx.relu(self.dense1(x))))


def loss_fn(model, x, y):
    logits = model(x)
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), logits


def hand_nnx_jit(model, tx):
    """Flax's MNIST-example style: ``@nnx.jit`` over the module and optimizer."""
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    metrics = {"loss": jnp.zeros(()), "correct": jnp.zeros(())}

    @nnx.jit
    def step(model, optimizer, x, y):
        (loss, logits), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y)
        optimizer.update(model, grads)
        return loss, (logits.argmax(-1) == y).sum()

    def run(x, y):
        loss, correct = step(model, optimizer, x, y)
        metrics["loss"] = metrics["loss"] + loss
        metrics["correct"] = metrics["correct"] + correct
        return metrics["loss"]

    return run


def hand_jax_jit(model, tx):
    """The functional loop: split once, ``jax.jit`` a pure step, merge inside."""
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    graphdef, state = nnx.split((model, optimizer))
    holder = {"state": state}

    @jax.jit
    def step(state, x, y):
        model, optimizer = nnx.merge(graphdef, state)
        (loss, _), grads = nnx.value_and_grad(loss_fn, has_aux=True)(model, x, y)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    def run(x, y):
        holder["state"], loss = step(holder["state"], x, y)
        return loss

    return run


# --- netspec ---------------------------------------------------------------------


def netspec_step(spec: str, overrides: dict):
    import netspec
    from netspec.data.standardize import Standardizer
    from netspec.train.session import Session, settings

    graph = netspec.load(str(ROOT / spec))
    train = settings(graph, overrides)
    session = Session(graph, train, task="classification", standardizer=Standardizer.fit(np.zeros(1), "none"),
                      train_examples=train.batch_size, directory=None)

    def run(x, y):
        session.train_step(x, y)
        return session.totals

    return run


# --- timing ------------------------------------------------------------------------


def time_window(run, x, y, steps: int) -> float:
    started = time.perf_counter()
    for _ in range(steps):
        out = run(x, y)
    jax.block_until_ready(out)
    return time.perf_counter() - started


def benchmark(name: str, variants: dict, batch: int, input_shape, windows: int, steps: int) -> dict:
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.random((batch, *input_shape), dtype=np.float32))
    y = jnp.asarray(rng.integers(0, 10, batch).astype(np.int32))
    compile_s = {}
    for label, run in variants.items():
        started = time.perf_counter()
        jax.block_until_ready(run(x, y))
        compile_s[label] = time.perf_counter() - started
        time_window(run, x, y, steps)  # warm-up window
    samples = {label: [] for label in variants}
    labels = list(variants)
    for window in range(windows):
        # Interleaved, in a rotating order, so load on a shared machine hits every variant alike.
        for label in labels[window % len(labels):] + labels[:window % len(labels)]:
            samples[label].append(time_window(variants[label], x, y, steps))
    results = {}
    for label, times in samples.items():
        step_s = statistics.median(times) / steps
        results[label] = {"images_per_s": round(batch / step_s, 1), "step_ms": round(1000 * step_s, 3),
                          "best_step_ms": round(1000 * min(times) / steps, 3),
                          "compile_s": round(compile_s[label], 2)}
    return {"model": name, "batch_size": batch, "windows": windows, "steps": steps, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=21, help="timed windows per variant (median reported)")
    parser.add_argument("--steps", type=int, default=5, help="steps per window")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args(argv)

    reports = []
    lenet = {
        "netspec": netspec_step("specs/lenet.yaml", {"optimizer": {"name": "adam", "lr": 1e-3}, "batch_size": 128}),
        "hand, nnx.jit": hand_nnx_jit(LeNet(rngs=nnx.Rngs(0)), optax.adam(1e-3)),
        "hand, jax.jit": hand_jax_jit(LeNet(rngs=nnx.Rngs(0)), optax.adam(1e-3)),
    }
    reports.append(benchmark("LeNet-5 (Adam)", lenet, 128, (28, 28, 1), args.windows, args.steps))
    cifar = {
        "netspec": netspec_step("examples/cifar10_convnet.yaml",
                                {"optimizer": {"name": "sgd", "lr": 0.01, "momentum": 0.9}, "batch_size": 32}),
        "hand, nnx.jit": hand_nnx_jit(CifarNet(rngs=nnx.Rngs(0)), optax.sgd(0.01, momentum=0.9)),
        "hand, jax.jit": hand_jax_jit(CifarNet(rngs=nnx.Rngs(0)), optax.sgd(0.01, momentum=0.9)),
    }
    reports.append(benchmark("CIFAR-10 convnet (SGD, dropout)", cifar, 32, (32, 32, 3), args.windows, args.steps))

    device = jax.devices()[0]
    print(f"device: {device.platform} ({device.device_kind}), {jax.device_count()} device(s), jax {jax.__version__}")
    print(f"{'model':<34}{'variant':<16}{'images/s':>10}{'step ms':>10}{'best ms':>10}{'vs hand':>9}"
          f"{'compile s':>11}")
    for report in reports:
        reference = report["results"]["hand, nnx.jit"]["images_per_s"]
        for label, result in report["results"].items():
            print(f"{report['model']:<34}{label:<16}{result['images_per_s']:>10,.0f}{result['step_ms']:>10.2f}"
                  f"{result['best_step_ms']:>10.2f}{result['images_per_s'] / reference:>8.2f}x"
                  f"{result['compile_s']:>11.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"device": str(device), "reports": reports}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
