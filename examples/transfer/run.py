"""The lectures' transfer-learning recipe, end to end, on MNIST digits shipped
inside netspec (no download). See README.md next to this file.

    python examples/transfer/run.py [--out DIR]

1. data: the 10,000 embedded MNIST images split into two tasks — digits 0-4
   (plenty of images) and digits 5-9 (only 20 training images per class);
2. baseline: base.yaml trained from scratch on the 100 images of 5-9;
3. base: base.yaml trained on digits 0-4 (the "pre-trained network");
4. bottleneck features: its pool2 outputs for the 5-9 images (netspec.features,
   what ``netspec features`` runs);
5. head: head.yaml, a small dense classifier, trained on those features;
6. fine-tuning: finetune.yaml, the base's convolutions and the head's dense
   layers (init_from), block 1 frozen, block 2 and the head trained with SGD
   at a small learning rate.

Each stage's accuracy on the held-out 5-9 test images (0-4 for the base) is
printed, saved to DIR/results.json and written as the README's table to
DIR/results.md — read back from each run folder's run.json (its recorded
data and its test figures), so the table is what the runs hold, not what
this script believes. Runs go to DIR/runs (default DIR: examples/transfer/work).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np

from netspec.data import load_data
from netspec.interpret.features import extract_features, write_features
from netspec.interpret.trained import open_trained
from netspec.pipeline import load
from netspec.train import fit, rundir

HERE = Path(__file__).resolve().parent
SEED = 0
PER_CLASS_TRAIN, PER_CLASS_VAL = 20, 50  # the new task has little data (the lectures: 1,000 cats and 1,000 dogs)


def _save_task(path: Path, x: np.ndarray, y: np.ndarray, splits: dict[str, np.ndarray], names: list[str]) -> None:
    pixels = np.round(x[..., 0] * 255).astype(np.uint8)  # stored as bytes; npz: data scales them back to [0, 1]
    arrays = {f"{key}_{split}": value for split, index in splits.items()
              for key, value in (("x", pixels[index]), ("y", y[index]))}
    np.savez_compressed(path, class_names=np.array(names), **arrays)


def make_data(folder: Path) -> tuple[Path, Path]:
    """``digits_0_4.npz`` and ``digits_5_9.npz`` (labels 0-4 in both) from the embedded MNIST images."""
    mnist = load_data("mnist", input_shape=(28, 28, 1), download=False, val_split=0.1, seed=SEED)
    x = np.concatenate([mnist.train.x, mnist.val.x])
    y = np.concatenate([mnist.train.y, mnist.val.y])
    rng = np.random.default_rng(SEED)
    folder.mkdir(parents=True, exist_ok=True)

    first = rng.permutation(np.flatnonzero(y < 5))
    _save_task(folder / "digits_0_4.npz", x, y, {"test": first[:1000], "val": first[1000:1500], "train": first[1500:]},
               [str(d) for d in range(5)])

    train, val, test = [], [], []
    for digit in range(5, 10):
        mine = rng.permutation(np.flatnonzero(y == digit))
        train.append(mine[:PER_CLASS_TRAIN])
        val.append(mine[PER_CLASS_TRAIN:PER_CLASS_TRAIN + PER_CLASS_VAL])
        test.append(mine[PER_CLASS_TRAIN + PER_CLASS_VAL:])
    splits = {"train": np.concatenate(train), "val": np.concatenate(val), "test": np.concatenate(test)}
    _save_task(folder / "digits_5_9.npz", x, y - 5, splits, [str(d) for d in range(5, 10)])
    return folder / "digits_0_4.npz", folder / "digits_5_9.npz"


def train(spec: str, data: Path, out: Path, **overrides) -> dict:
    """Train ``spec`` on ``npz:data`` into run folder ``out``; the last epoch's row and the test metrics."""
    graph = load(HERE / spec)
    dataset = load_data(f"npz:{data}", input_shape=graph.input_shape, seed=SEED)
    run = fit(graph, dataset, out=out.resolve(), quiet=True, data_source=f"npz:{data}", **overrides)
    last = run.history[-1]
    print(f"  {spec} on {data.name}: {len(run.history)} epochs, val accuracy {last['val_accuracy']:.4f}, "
          f"test accuracy {run.test['accuracy']:.4f}  ({out})")
    return {"epochs": len(run.history), "val_accuracy": last["val_accuracy"], "test_accuracy": run.test["accuracy"],
            "train_examples": len(dataset.train), "test_examples": len(dataset.test)}


def bottleneck_features(run: Path, data: Path, out: Path) -> Path:
    """pool2 outputs of the trained base for every split of ``data`` (what ``netspec features`` writes)."""
    trained = open_trained(str(HERE / "base.yaml"), str(run.resolve()))
    dataset = load_data(f"npz:{data}", input_shape=(28, 28, 1), seed=SEED)
    splits = {name: (extract_features(trained.model, split.x, "pool2", normalize=trained.normalize), split.y)
              for name in ("train", "val", "test") if (split := getattr(dataset, name)) is not None}
    write_features(out, splits, class_names=dataset.class_names, layer="pool2", overwrite=True)
    print(f"  pool2 features {splits['train'][0].shape[1:]} of {sum(len(y) for _, y in splits.values()):,} "
          f"images -> {out}")
    return out


STAGES = (  # (run folder, README label)
    ("runs/scratch", "from scratch on 5-9"),
    ("runs/base", "base, on 0-4"),
    ("runs/head", "head on the base's bottleneck features"),
    ("runs/finetune", "fine-tuned (block 1 frozen, SGD lr 0.001)"),
)


def results_table(root: Path) -> str:
    """The README's results table, from each run folder's run.json (training examples and the
    test accuracy of the checkpoint ``netspec eval`` reads), with the seed and the machine."""
    rows = ["| stage | training images | test accuracy | checkpoint | last weights |",
            "| --- | ---: | ---: | --- | ---: |"]
    seeds = set()
    for folder, label in STAGES:
        run = rundir.read_run(root / folder)
        splits = run["data_record"]["splits"]
        which = run.get("test_checkpoint") or {}
        seeds.add(run["train"]["seed"])
        last = run.get("test_last")  # recorded when the final weights are not the checkpoint's
        last_text = f"{100 * last['accuracy']:.2f}%" if last else "the same"
        rows.append(f"| {label} | {splits['train']['examples']:,} | {100 * run['test']['accuracy']:.2f}% "
                    f"| {which.get('name', '?')}, epoch {which.get('epoch', '?')} "
                    f"| {last_text} |")
    machine = f"{platform.machine()} CPU, {os.cpu_count()} cores, Python {platform.python_version()}"
    import jax

    return ("\n".join(rows) + f"\n\nSeed {', '.join(map(str, sorted(seeds)))}; {machine}, "
            f"JAX {jax.__version__} on {jax.default_backend()}.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE / "work", help="folder for data and runs")
    parser.add_argument("--table", action="store_true",
                        help="only write DIR/results.md again from the run folders of an earlier run")
    args = parser.parse_args()
    out = args.out.resolve()
    if args.table:
        (out / "results.md").write_text(results_table(out))
        print((out / "results.md").read_text(), end="")
        return
    if (out / "runs").exists():
        parser.error(f"{out / 'runs'} exists; pass another --out or remove it (runs are never overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    os.chdir(out)  # finetune.yaml names the runs it starts from relative to here: runs/base, runs/head

    print("1. data")
    old_task, new_task = make_data(out / "data")
    results = {}
    print("2. baseline: the base network trained from scratch on 100 images of 5-9")
    results["scratch"] = train("base.yaml", new_task, Path("runs/scratch"), epochs=30)
    print("3. base: trained on digits 0-4")
    results["base (digits 0-4)"] = train("base.yaml", old_task, Path("runs/base"))
    print("4. bottleneck features of 5-9 from the base's pool2")
    features = bottleneck_features(Path("runs/base"), new_task, out / "data" / "bottleneck_5_9.npz")
    print("5. head: a dense classifier trained on the features")
    results["head on bottleneck features"] = train("head.yaml", features, Path("runs/head"))
    print("6. fine-tuning: base + head, block 1 frozen, SGD lr 0.001")
    results["fine-tuned"] = train("finetune.yaml", new_task, Path("runs/finetune"))

    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    table = results_table(out)
    (out / "results.md").write_text(table)
    print(f"\n{table}\n(written to {out / 'results.md'}; README.md's table is this file)")


if __name__ == "__main__":
    main()
