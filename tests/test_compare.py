"""`netspec compare`: the table of final and best figures, the settings that differ,
and the overlay plot, from run folders' records alone."""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from netspec import cli
from netspec.interpret.compare import comparison, read_run_summary


def fake_run(folder, *, lr, losses, monitor=None):
    folder.mkdir(parents=True)
    info = {"spec": "net", "data": "mnist", "loss": "cross_entropy",
            "train": {"epochs": len(losses), "optimizer": {"name": "sgd", "lr": lr}, "metrics": ["accuracy"]},
            "test": {"loss": losses[-1] + 0.01, "accuracy": 0.9}}
    if monitor:
        info["best_checkpoint"] = monitor
    history = [{"epoch": e + 1, "loss": v + 0.1, "accuracy": 0.5 + e / 10, "val_loss": v, "val_accuracy": 0.6 + e / 20}
               for e, v in enumerate(losses)]
    (folder / "run.json").write_text(json.dumps(info))
    (folder / "history.json").write_text(json.dumps(history))
    return folder


def test_compare_finds_best_epochs_and_the_settings_that_differ(tmp_path):
    a = fake_run(tmp_path / "a", lr=0.1, losses=[0.9, 0.4, 0.5])
    b = fake_run(tmp_path / "b", lr=0.01, losses=[0.8, 0.7, 0.6, 0.65],
                 monitor={"monitor": "val_accuracy", "mode": "max"})
    result = comparison([read_run_summary(a), read_run_summary(b)])
    first, second = result["runs"]
    assert first["best"] == {"monitor": "val_loss", "mode": "min", "epoch": 2, "value": 0.4}
    assert second["best"]["monitor"] == "val_accuracy" and second["best"]["epoch"] == 4  # its own "best"
    assert first["final"]["val_loss"] == 0.5 and first["test"]["accuracy"] == 0.9
    assert result["differing_settings"] == {"train.epochs": [3, 4], "train.optimizer.lr": [0.1, 0.01]}


def test_compare_command_prints_the_table_and_draws_each_run(tmp_path, capsys):
    a = fake_run(tmp_path / "a", lr=0.1, losses=[0.9, 0.4, 0.5])
    b = fake_run(tmp_path / "b", lr=0.01, losses=[0.8, 0.7, 0.6])
    plot = tmp_path / "both.png"
    assert cli.main(["compare", str(a), str(b), "-o", str(plot)]) == 0
    out = capsys.readouterr().out
    assert "val_loss 0.4 @2" in out and "train.optimizer.lr" in out and "a: 0.1" in out and "b: 0.01" in out
    pixels = np.asarray(Image.open(plot).convert("RGB")).astype(int)
    for colour in ([31, 119, 180], [255, 127, 14]):  # one colour per run
        assert (np.abs(pixels - colour).sum(axis=-1) < 30).sum() > 200
    assert cli.main(["compare", str(a), str(b), "-o", str(plot)]) == 1  # never replaces a file
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["compare", str(a), str(tmp_path), "-o", str(tmp_path / "x.png")]) == 1
    assert "is not a netspec run folder" in capsys.readouterr().err
