"""One conv layer's three parts — forward, input gradient, kernel gradient — per lowering.

Calibrates the CPU rule of ``netspec.emit.lowering.RULES``: for each conv shape
of the benchmark networks (LeNet-5, the VGG-style CIFAR net, cats-vs-dogs, ResNet-18 at 32x32), builds a
one-layer spec under ``lax``, ``im2col-grad``, ``im2col`` and ``shifts`` and times, jitted
and alternating in one process, ``y = conv(x)``, the gradient with respect to
``x``, the gradient with respect to the kernel (and bias), and all three in
one program (what a train step runs: im2col's forward columns serve its
kernel gradient there). Prints the median
milliseconds per part and lowering::

    .venv/bin/python benchmarks/conv_parts.py [--batch 128] [--windows 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from netspec.allocator import keep_freed_memory

keep_freed_memory()  # before JAX starts its threads, as the netspec command line does

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

import netspec  # noqa: E402

LOWERINGS = ("lax", "im2col-grad", "im2col", "shifts")
SHAPES = {  # name -> (input H, W, C; filters, window, padding)
    "lenet conv1": (28, 28, 1, 6, 5, 2),
    "lenet conv2": (14, 14, 6, 16, 5, 0),
    "vgg conv1": (32, 32, 3, 32, 3, "same"),
    "vgg conv2": (32, 32, 32, 32, 3, "same"),
    "vgg conv3": (16, 16, 32, 64, 3, "same"),
    "vgg conv4": (16, 16, 64, 64, 3, "same"),
    "cats conv1": (150, 150, 3, 32, 3, "valid"),  # the lectures' cats-vs-dogs net (batch 32 in vs_torch.py)
    "cats conv2": (74, 74, 32, 32, 3, "valid"),
    "cats conv3": (36, 36, 32, 64, 3, "valid"),
    "r18 8x8x64": (8, 8, 64, 64, 3, "same"),  # ResNet-18's stages fed 32x32 images
    "r18 4x4x128": (4, 4, 128, 128, 3, "same"),
    "r18 2x2x256": (2, 2, 256, 256, 3, "same"),
    "r18 1x1x512": (1, 1, 512, 512, 3, "same"),
    "16x16x64": (16, 16, 64, 64, 3, "same"),  # between VGG's conv4 and ResNet's first stage
    "8x8x128": (8, 8, 128, 128, 3, "same"),
}


def parts(shape, lowering: str, batch: int):
    height, width, channels, filters, window, padding = shape
    spec = (f"name: one\ninput: [{height}, {width}, {channels}]\n"
            f"layers: [{{conv: {{K: {filters}, F: {window}, P: {padding}, name: conv}}}}]\n")
    model = netspec.build(spec, seed=0, lowering=lowering)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    x = jnp.asarray(np.random.default_rng(0).random((batch, height, width, channels), np.float32))
    y = nnx.merge(graphdef, params, rest)(x)

    def apply(params, x):
        return nnx.merge(graphdef, params, rest)(x)

    forward = jax.jit(apply)
    input_grad = jax.jit(lambda params, x, g: jax.vjp(lambda x: apply(params, x), x)[1](g)[0])
    kernel_grad = jax.jit(lambda params, x, g: jax.vjp(lambda p: apply(p, x), params)[1](g)[0])
    both = jax.jit(lambda params, x, g: jax.vjp(apply, params, x)[1](g))
    return {"forward": lambda: forward(params, x), "input grad": lambda: input_grad(params, x, y),
            "kernel grad": lambda: kernel_grad(params, x, y), "all three": lambda: both(params, x, y)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--shapes", nargs="*", choices=list(SHAPES), default=list(SHAPES))
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; jax {jax.__version__} ({jax.default_backend()}), "
          f"batch {args.batch}; median ms")
    print(f"{'conv':<11} {'part':<12} " + " ".join(f"{name:>12}" for name in LOWERINGS))
    for name in args.shapes:
        runs = {lowering: parts(SHAPES[name], lowering, args.batch) for lowering in LOWERINGS}
        for part in ("forward", "input grad", "kernel grad", "all three"):
            for lowering in LOWERINGS:  # compile and warm up
                jax.block_until_ready(runs[lowering][part]())
            times: dict[str, list[float]] = {lowering: [] for lowering in LOWERINGS}
            for window in range(args.windows):
                for lowering in LOWERINGS[window % len(LOWERINGS):] + LOWERINGS[:window % len(LOWERINGS)]:
                    started = time.perf_counter()
                    jax.block_until_ready(runs[lowering][part]())
                    times[lowering].append((time.perf_counter() - started) * 1000)
            print(f"{name:<11} {part:<12} " + " ".join(f"{statistics.median(times[k]):>12.2f}" for k in LOWERINGS),
                  flush=True)


if __name__ == "__main__":
    main()
