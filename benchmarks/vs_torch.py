"""netspec vs. a hand-written Flax NNX step vs. PyTorch eager: training throughput.

Four networks — LeNet-5 (``specs/lenet.yaml``), the VGG-style CIFAR net
(``benchmarks/specs/vgg_cifar.yaml``: 4 conv 3x3 + 2 pools + dense 512), the
lectures' cats-vs-dogs net (``examples/cats_vs_dogs.yaml``, 150x150, sigmoid
head) and ResNet-18 (``specs/resnet18.yaml`` fed 32x32 images); for a GPU also
ResNet-50 (``specs/resnet50.yaml``, 224x224, Keras' v1) — each trained with
SGD + momentum 0.9 on one synthetic batch by:

* ``netspec``: the train step ``netspec train`` runs, lowering ``auto``;
* ``flax``: the same network written by hand in Flax NNX (``nnx.Conv``,
  ``nnx.max_pool``), the functional loop (split once, ``jax.jit`` a pure step);
* ``torch``: the same network in PyTorch eager, ``zero_grad / backward / step``.

Windows of ``--steps`` steps (more where that is shorter than ``--min-window``
seconds: LeNet's 5-step windows were too short to time) alternate across the three in a rotating order in
one process, so load on a shared machine hits each alike; the median window is
reported as img/s, with the ratios netspec/torch and netspec/flax. Each window
starts after a ``--settle`` pause and one untimed step: torch's OpenMP threads
(libgomp) and XLA's thread pool spin-wait after their work, and without the
pause the library timed next shares its two cores with the last one's spinning
threads (on a 2-core Zen 5 that cost netspec's VGG window 35 %). ``--bf16``
computes in bfloat16 in all three (netspec ``precision: mixed``, Flax
``dtype=bfloat16``, ``torch.autocast``); torch runs on CUDA when it has it. The
torch column needs the optional ``bench`` extra; without torch the script
compares netspec with Flax alone::

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python benchmarks/vs_torch.py [--windows 7] [--steps 3] [--nets lenet vgg] [--quick]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import statistics
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
LR, MOMENTUM = 0.01, 0.9


# --- hand-written Flax NNX --------------------------------------------------------


class FlaxLeNet(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.conv1 = nnx.Conv(1, 6, (5, 5), padding=((2, 2), (2, 2)), rngs=rngs, dtype=dtype)
        self.conv2 = nnx.Conv(6, 16, (5, 5), padding="VALID", rngs=rngs, dtype=dtype)
        self.fc1, self.fc2 = nnx.Linear(400, 120, rngs=rngs, dtype=dtype), nnx.Linear(120, 84, rngs=rngs, dtype=dtype)
        self.logits = nnx.Linear(84, 10, rngs=rngs, dtype=dtype)

    def __call__(self, x):
        x = nnx.max_pool(nnx.relu(self.conv1(x)), (2, 2), (2, 2))
        x = nnx.max_pool(nnx.relu(self.conv2(x)), (2, 2), (2, 2))
        x = x.reshape(x.shape[0], -1)
        return self.logits(nnx.relu(self.fc2(nnx.relu(self.fc1(x)))))


class FlaxVgg(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, dtype=jnp.float32):
        widths = [(3, 32), (32, 32), (32, 64), (64, 64)]
        self.convs = nnx.List([nnx.Conv(a, b, (3, 3), padding="SAME", rngs=rngs, dtype=dtype) for a, b in widths])
        self.fc1, self.logits = nnx.Linear(8 * 8 * 64, 512, rngs=rngs, dtype=dtype), nnx.Linear(512, 10, rngs=rngs, dtype=dtype)

    def __call__(self, x):
        for index, conv in enumerate(self.convs):
            x = nnx.relu(conv(x))
            if index % 2:
                x = nnx.max_pool(x, (2, 2), (2, 2))
        return self.logits(nnx.relu(self.fc1(x.reshape(x.shape[0], -1))))


class FlaxCatsDogs(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.convs = nnx.List([nnx.Conv(a, b, (3, 3), padding="VALID", rngs=rngs, dtype=dtype)
                               for a, b in [(3, 32), (32, 32), (32, 64)]])
        self.fc1, self.dropout = nnx.Linear(17 * 17 * 64, 64, rngs=rngs), nnx.Dropout(0.5, rngs=rngs)
        self.logit = nnx.Linear(64, 1, rngs=rngs, dtype=dtype)

    def __call__(self, x):
        for conv in self.convs:
            x = nnx.max_pool(nnx.relu(conv(x)), (2, 2), (2, 2))
        return self.logit(self.dropout(nnx.relu(self.fc1(x.reshape(x.shape[0], -1)))))


class FlaxBasicBlock(nnx.Module):
    def __init__(self, cin: int, cout: int, stride: int, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.conv1 = nnx.Conv(cin, cout, (3, 3), (stride, stride), padding=1, use_bias=False, rngs=rngs, dtype=dtype)
        self.bn1 = nnx.BatchNorm(cout, momentum=0.9, epsilon=1e-5, rngs=rngs, dtype=dtype)
        self.conv2 = nnx.Conv(cout, cout, (3, 3), padding=1, use_bias=False, rngs=rngs, dtype=dtype)
        self.bn2 = nnx.BatchNorm(cout, momentum=0.9, epsilon=1e-5, rngs=rngs, dtype=dtype)
        if stride != 1 or cin != cout:  # assigned once: Flax fixes an attribute's kind (data/static) then
            self.project = nnx.Conv(cin, cout, (1, 1), (stride, stride), use_bias=False, rngs=rngs, dtype=dtype)
            self.project_bn = nnx.BatchNorm(cout, momentum=0.9, epsilon=1e-5, rngs=rngs, dtype=dtype)
        else:
            self.project = None

    def __call__(self, x):
        y = self.bn2(self.conv2(nnx.relu(self.bn1(self.conv1(x)))))
        shortcut = x if self.project is None else self.project_bn(self.project(x))
        return nnx.relu(y + shortcut)


class FlaxResNet18(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.stem = nnx.Conv(3, 64, (7, 7), (2, 2), padding=3, use_bias=False, rngs=rngs, dtype=dtype)
        self.stem_bn = nnx.BatchNorm(64, momentum=0.9, epsilon=1e-5, rngs=rngs, dtype=dtype)
        blocks, cin = [], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            blocks += [FlaxBasicBlock(cin, cout, stride, rngs=rngs, dtype=dtype),
                       FlaxBasicBlock(cout, cout, 1, rngs=rngs, dtype=dtype)]
            cin = cout
        self.blocks = nnx.List(blocks)
        self.fc = nnx.Linear(512, 1000, rngs=rngs, dtype=dtype)

    def __call__(self, x):
        x = nnx.relu(self.stem_bn(self.stem(x)))
        x = nnx.max_pool(x, (3, 3), (2, 2), padding=((1, 1), (1, 1)))
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean(axis=(1, 2)))


class FlaxBottleneck(nnx.Module):
    def __init__(self, cin: int, width: int, stride: int, *, rngs: nnx.Rngs, dtype=jnp.float32):
        cout = 4 * width
        self.convs = nnx.List([nnx.Conv(cin, width, (1, 1), (stride, stride), rngs=rngs, dtype=dtype),
                               nnx.Conv(width, width, (3, 3), padding="SAME", rngs=rngs, dtype=dtype),
                               nnx.Conv(width, cout, (1, 1), rngs=rngs, dtype=dtype)])
        self.bns = nnx.List([nnx.BatchNorm(c, momentum=0.99, epsilon=1.001e-5, rngs=rngs, dtype=dtype)
                             for c in (width, width, cout)])
        if stride != 1 or cin != cout:
            self.project = nnx.Conv(cin, cout, (1, 1), (stride, stride), rngs=rngs, dtype=dtype)
            self.project_bn = nnx.BatchNorm(cout, momentum=0.99, epsilon=1.001e-5, rngs=rngs, dtype=dtype)
        else:
            self.project = None

    def __call__(self, x):
        y = x
        for index, (conv, bn) in enumerate(zip(self.convs, self.bns)):
            y = bn(conv(y))
            y = nnx.relu(y) if index < 2 else y
        shortcut = x if self.project is None else self.project_bn(self.project(x))
        return nnx.relu(y + shortcut)


class FlaxResNet50(nnx.Module):
    def __init__(self, *, rngs: nnx.Rngs, dtype=jnp.float32):
        self.stem = nnx.Conv(3, 64, (7, 7), (2, 2), padding=3, rngs=rngs, dtype=dtype)
        self.stem_bn = nnx.BatchNorm(64, momentum=0.99, epsilon=1.001e-5, rngs=rngs, dtype=dtype)
        blocks, cin = [], 64
        for width, count, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for index in range(count):
                blocks.append(FlaxBottleneck(cin, width, stride if index == 0 else 1, rngs=rngs, dtype=dtype))
                cin = 4 * width
        self.blocks = nnx.List(blocks)
        self.fc = nnx.Linear(2048, 1000, rngs=rngs, dtype=dtype)

    def __call__(self, x):
        x = nnx.relu(self.stem_bn(self.stem(x)))
        x = nnx.max_pool(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), (3, 3), (2, 2))  # Keras: zero pad, then pool
        for block in self.blocks:
            x = block(x)
        return self.fc(x.mean(axis=(1, 2)))


def flax_step(model: nnx.Module, binary: bool):
    optimizer = nnx.Optimizer(model, optax.sgd(LR, momentum=MOMENTUM), wrt=nnx.Param)
    graphdef, state = nnx.split((model, optimizer))
    holder = {"state": state}

    def loss_fn(model, x, y):
        logits = model(x).astype(jnp.float32)
        if binary:
            return optax.sigmoid_binary_cross_entropy(logits[:, 0], y.astype(jnp.float32)).mean()
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def step(state, x, y):
        model, optimizer = nnx.merge(graphdef, state)
        loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
        optimizer.update(model, grads)
        return nnx.state((model, optimizer)), loss

    def run(x, y):
        holder["state"], loss = step(holder["state"], x, y)
        return lambda: jax.block_until_ready(loss)

    return run


# --- PyTorch eager ----------------------------------------------------------------


def torch_models():
    import torch
    from torch import nn

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.body = nn.Sequential(
                nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(),
                nn.Conv2d(cout, cout, 3, 1, 1, bias=False), nn.BatchNorm2d(cout))
            self.project = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
                            if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return torch.relu(self.body(x) + self.project(x))

    def resnet18():
        layers, cin = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                       nn.MaxPool2d(3, 2, 1)], 64
        for cout, stride in [(64, 1), (128, 2), (256, 2), (512, 2)]:
            layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
            cin = cout
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(512, 1000))

    class Bottleneck(nn.Module):  # Keras' ResNet50 v1: stride on the first 1x1 conv, biased convs
        def __init__(self, cin, width, stride):
            super().__init__()
            cout = 4 * width
            self.body = nn.Sequential(
                nn.Conv2d(cin, width, 1, stride), nn.BatchNorm2d(width, eps=1.001e-5), nn.ReLU(),
                nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width, eps=1.001e-5), nn.ReLU(),
                nn.Conv2d(width, cout, 1), nn.BatchNorm2d(cout, eps=1.001e-5))
            self.project = (nn.Sequential(nn.Conv2d(cin, cout, 1, stride), nn.BatchNorm2d(cout, eps=1.001e-5))
                            if stride != 1 or cin != cout else nn.Identity())

        def forward(self, x):
            return torch.relu(self.body(x) + self.project(x))

    def resnet50():
        layers, cin = [nn.Conv2d(3, 64, 7, 2, 3), nn.BatchNorm2d(64, eps=1.001e-5), nn.ReLU(),
                       nn.ZeroPad2d(1), nn.MaxPool2d(3, 2)], 64
        for width, count, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            for index in range(count):
                layers.append(Bottleneck(cin, width, stride if index == 0 else 1))
                cin = 4 * width
        return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, 1000))

    return {
        "lenet": lambda: nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
            nn.Linear(84, 10)),
        "vgg": lambda: nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.Conv2d(64, 64, 3, padding=1),
            nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4096, 512), nn.ReLU(), nn.Linear(512, 10)),
        "cats_vs_dogs": lambda: nn.Sequential(
            nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(17 * 17 * 64, 64),
            nn.ReLU(), nn.Dropout(0.5), nn.Linear(64, 1)),
        "resnet18": resnet18,
        "resnet50": resnet50,
    }


def torch_step(make, binary: bool, x: np.ndarray, y: np.ndarray, bf16: bool):
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model = make().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.BCEWithLogitsLoss() if binary else torch.nn.CrossEntropyLoss()
    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))).to(device)
    yt = torch.from_numpy(y.astype(np.float32) if binary else y.astype(np.int64)).to(device)

    def run(_x, _y):
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
            logits = model(xt).float()
        loss = loss_fn(logits[:, 0], yt) if binary else loss_fn(logits, yt)
        loss.backward()
        optimizer.step()
        # eager on the CPU: already finished; on a GPU, wait for the queued kernels
        return torch.cuda.synchronize if device == "cuda" else (lambda: None)

    return run


# --- netspec ------------------------------------------------------------------------


def netspec_step(spec_text: str, batch: int, bf16: bool):
    import netspec
    from netspec.data.standardize import Standardizer
    from netspec.train.session import Session, settings

    graph = netspec.load(spec_text)
    train = settings(graph, {"optimizer": {"name": "sgd", "lr": LR, "momentum": MOMENTUM}, "batch_size": batch,
                             "precision": "mixed" if bf16 else "float32"})
    session = Session(graph, train, task=None, standardizer=Standardizer.fit(np.zeros(1), "none"),
                      train_examples=batch, directory=None)
    holder: dict = {}

    def run(x, y):
        if "batch" not in holder:
            holder["batch"] = session.placement.shard_batch((x, y))
        session.train_step(*holder["batch"])
        return lambda: jax.block_until_ready(session.totals)

    return run


NETS = {  # name -> (spec text, batch, input shape, binary head, hand-written Flax class)
    "lenet": ("specs/lenet.yaml", 128, (28, 28, 1), False, FlaxLeNet),
    "vgg": ("benchmarks/specs/vgg_cifar.yaml", 128, (32, 32, 3), False, FlaxVgg),
    "cats_vs_dogs": ("examples/cats_vs_dogs.yaml", 32, (150, 150, 3), True, FlaxCatsDogs),
    "resnet18": ("specs/resnet18.yaml", 128, (32, 32, 3), False, FlaxResNet18),
    "resnet50": ("specs/resnet50.yaml", 32, (224, 224, 3), False, FlaxResNet50),  # for a GPU (benchmarks/gpu.sh)
}


def spec_text(name: str) -> str:
    text = (ROOT / NETS[name][0]).read_text()
    return text.replace("input: [224, 224, 3]", "input: [32, 32, 3]") if name == "resnet18" else text


def measure(name: str, windows: int, steps: int, settle: float, *, min_window: float = 0.0,
            batch: int | None = None, bf16: bool = False, with_torch: bool = True) -> dict[str, float]:
    """img/s per library: the median over ``windows`` rotating windows of at least ``steps``
    steps, more where a window of ``steps`` would be shorter than ``min_window`` seconds."""
    _, default_batch, shape, binary, flax_class = NETS[name]
    batch = batch or default_batch
    rng = np.random.default_rng(0)
    x = rng.random((batch, *shape), dtype=np.float32)
    y = rng.integers(0, 2 if binary else 10, batch).astype(np.int32)
    runs = {"netspec": netspec_step(spec_text(name), batch, bf16),
            "flax": flax_step(flax_class(rngs=nnx.Rngs(0), dtype=jnp.bfloat16 if bf16 else jnp.float32), binary),
            **({"torch": torch_step(torch_models()[name], binary, x, y, bf16)} if with_torch else {})}
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    window_steps = {}
    for label, run in runs.items():  # compile and warm up; time one step to size the windows
        run(xj, yj)()
        started = time.perf_counter()
        run(xj, yj)()
        window_steps[label] = max(steps, math.ceil(min_window / max(time.perf_counter() - started, 1e-6)))
    samples: dict[str, list[float]] = {label: [] for label in runs}
    labels = list(runs)
    for window in range(windows):
        for label in labels[window % len(labels):] + labels[:window % len(labels)]:
            time.sleep(settle)  # the previous library's worker threads stop spinning
            runs[label](xj, yj)()  # wake this library's threads outside the timing
            started = time.perf_counter()
            for _ in range(window_steps[label]):
                done = runs[label](xj, yj)
            done()
            samples[label].append((time.perf_counter() - started) / window_steps[label])
    return {label: batch / statistics.median(times) for label, times in samples.items()}


def main() -> None:
    try:
        import torch
    except ImportError:  # netspec vs Flax only (e.g. on a GPU machine without the bench extra)
        torch = None

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=7)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--settle", type=float, default=0.3,
                        help="seconds of pause before each window (default 0.3)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch intra-op threads")
    parser.add_argument("--min-window", type=float, default=0.5,
                        help="seconds: more steps per window where --steps would be shorter (default 0.5)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: 128 (cats-vs-dogs 32, ResNet-50 32)")
    parser.add_argument("--bf16", action="store_true",
                        help="bfloat16 compute for all three: netspec precision: mixed, Flax modules with "
                             "dtype=bfloat16, torch.autocast")
    parser.add_argument("--nets", nargs="*", choices=list(NETS), default=None,
                        help="default: lenet vgg cats_vs_dogs resnet18 (resnet50, at 224x224, is for a GPU)")
    parser.add_argument("--quick", action="store_true",
                        help="3 windows of 2 steps on LeNet, the VGG-style net and cats-vs-dogs "
                             "(under 5 minutes on 2 idle cores); --nets still chooses")
    args = parser.parse_args()
    if args.quick:
        args.windows, args.steps = 3, 2
    if args.nets is None:
        args.nets = ["lenet", "vgg", "cats_vs_dogs"] if args.quick else ["lenet", "vgg", "cats_vs_dogs", "resnet18"]
    if torch is not None:
        torch.set_num_threads(args.threads)
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; "
          f"jax {jax.__version__} ({jax.default_backend()}), "
          + (f"torch {torch.__version__} ({args.threads} threads)" if torch is not None else "no torch"))
    print(f"{'network':<14} {'netspec':>9} {'flax':>9} {'torch':>9} {'ns/torch':>9} {'ns/flax':>8}  (img/s)")
    for name in args.nets:
        rates = measure(name, args.windows, args.steps, args.settle, min_window=args.min_window,
                        batch=args.batch_size, bf16=args.bf16, with_torch=torch is not None)
        rates.setdefault("torch", float("nan"))
        print(f"{name:<14} {rates['netspec']:>9.1f} {rates['flax']:>9.1f} {rates['torch']:>9.1f} "
              f"{rates['netspec'] / rates['torch']:>8.2f}x {rates['netspec'] / rates['flax']:>7.2f}x", flush=True)


if __name__ == "__main__":
    main()
