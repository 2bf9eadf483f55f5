"""Runs record their data and their "best": run.json's data_record, the resolved spec,
the improvement lines, end-of-training test figures equal to eval's, and eval refusing
(or warning about) data that is not the run's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netspec import cli, load
from netspec.data.provenance import check_against_run, differences, record

SPEC = """\
name: tiny
input: [8, 8, 1]
layers:
  - conv: {K: 4, F: 3, P: same, activation: relu}
  - flatten
  - dense: {units: 3}
  - softmax
train:
  optimizer: {name: adam, lr: 1e-2}
  batch_size: 16
  epochs: 2
"""
FULL_MNIST = Path("/work/shared/data/mnist")


@pytest.fixture(autouse=True)
def shared_compile_cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("NETSPEC_JAX_CACHE", str(tmp_path_factory.getbasetemp() / "jax-cache-record"))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One run trained through the CLI with overrides; its folder and what train printed."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("record")
    spec = folder / "tiny.yaml"
    spec.write_text(SPEC)
    out = folder / "run"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        status = cli.main(["train", str(spec), "--data", "synthetic:300", "--out", str(out), "--epochs", "4",
                           "--seed", "3"])
    assert status == 0
    return out, printed.getvalue()


def test_run_json_records_the_data_source_paths_and_fingerprint(run):
    out, _ = run
    info = json.loads((out / "run.json").read_text())
    data = info["data_record"]
    assert data["source"] == "synthetic:300" and data["name"] == "synthetic"
    assert data["paths"] == []  # generated: no files
    assert {name: split["examples"] for name, split in data["splits"].items()} == {"train": 270, "val": 30, "test": 30}
    assert all(len(split["checksum"]) == 32 for split in data["splits"].values())
    assert info["best_checkpoint"] == {"monitor": "val_loss", "mode": "min"}


def test_train_prints_where_the_data_came_from_and_each_improvement(run):
    _, printed = run
    assert "data read from generated in memory (no files)" in printed
    history = json.loads((run[0] / "history.json").read_text())
    improved = [line for line in printed.splitlines() if line.startswith("val_loss improved")]
    # One line per epoch whose val_loss was the lowest so far, naming that epoch.
    lowest, expected = float("inf"), []
    for row in history:
        if row["val_loss"] < lowest:
            lowest = row["val_loss"]
            expected.append(row["epoch"])
    assert [int(line.rsplit("epoch ", 1)[1].rstrip(")")) for line in improved] == expected


def test_the_run_folder_holds_the_resolved_spec_with_overrides(run):
    out, _ = run
    assert (out / "spec.yaml").read_text() == SPEC
    resolved = load(str(out / "spec.resolved.yaml"))
    assert resolved.train.epochs == 4 and resolved.train.seed == 3  # the command-line overrides
    assert resolved.train.optimizer.lr == 0.01 and resolved.train.loss == "cross_entropy"
    assert resolved.train.data == "synthetic:300"
    assert [node.name for node in resolved.nodes] == [node.name for node in load(str(out / "spec.yaml")).nodes]


def test_end_of_training_test_figures_equal_eval(run, capsys):
    out, printed = run
    info = json.loads((out / "run.json").read_text())
    assert info["test_checkpoint"]["name"] == "best"
    assert "what netspec eval reports" in printed
    capsys.readouterr()
    assert cli.main(["eval", str(out / "spec.yaml"), "--checkpoint", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["same_data_as_training"] is True
    assert report["loss"] == info["test"]["loss"] and report["accuracy"] == info["test"]["accuracy"]


def test_eval_refuses_other_data_unless_named_and_warns_when_named(run, capsys):
    out, _ = run
    capsys.readouterr()
    # The same source string naming other data: the run's record shows the difference.
    info = json.loads((out / "run.json").read_text())
    info["data"] = "synthetic:200"
    (out / "run.json").write_text(json.dumps(info))
    try:
        assert cli.main(["eval", str(out / "spec.yaml"), "--checkpoint", str(out)]) == 1
        err = capsys.readouterr().err
        assert "not the data the run was trained on" in err
        assert "--data synthetic:300 -> synthetic (270 train, 30 val, 30 test)" in err
        assert "--data synthetic:200 -> synthetic (180 train, 20 val, 20 test)" in err
        assert cli.main(["eval", str(out / "spec.yaml"), "--checkpoint", str(out), "--data", "synthetic:200",
                         "--format", "json"]) == 0
        captured = capsys.readouterr()
        assert "warning" in captured.err and "not the data the run was trained on" in captured.err
        assert json.loads(captured.out)["same_data_as_training"] is False
    finally:
        info["data"] = "synthetic:300"
        (out / "run.json").write_text(json.dumps(info))


def test_differences_name_each_changed_split():
    from netspec.data import load_data

    a = load_data("synthetic:100", input_shape=(4, 4, 1), output_shape=(2,))
    b = load_data("synthetic:100", input_shape=(4, 4, 1), output_shape=(2,), seed=1)
    found = differences(record(a, "synthetic:100"), record(b, "synthetic:100"))
    assert [line.split(":")[0] for line in found] == ["train split", "val split", "test split"]
    assert check_against_run({}, b, "synthetic:100", explicit=False) == []  # an old run: nothing to compare


@pytest.mark.skipif(not (FULL_MNIST / "train-images-idx3-ubyte.gz").is_file(), reason="full MNIST files absent")
def test_a_full_mnist_run_evaluated_without_netspec_data_is_refused(tmp_path, monkeypatch, capsys):
    """The issue's acceptance test: trained with NETSPEC_DATA at full MNIST, evaluated in a
    shell without it (and no cache), eval names both sources and refuses; with --data it warns."""
    spec = tmp_path / "linear.yaml"
    spec.write_text("name: linear\ninput: [28, 28, 1]\nlayers: [flatten, {dense: {units: 10}}, softmax]\n")
    monkeypatch.setenv("NETSPEC_DATA", str(FULL_MNIST))
    out = tmp_path / "run"
    assert cli.main(["train", str(spec), "--data", "mnist", "--out", str(out), "--max-steps", "2",
                     "--batch-size", "64", "--quiet", "--no-download"]) == 0
    printed = capsys.readouterr().out
    assert f"data read from {FULL_MNIST.resolve() / 'train-images-idx3-ubyte.gz'}" in printed
    recorded = json.loads((out / "run.json").read_text())["data_record"]
    assert recorded["splits"]["train"]["examples"] == 54_000 and recorded["data_env"] == str(FULL_MNIST)

    monkeypatch.delenv("NETSPEC_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # no ~/.cache/netspec or ~/.keras with MNIST in it
    assert cli.main(["eval", str(spec), "--checkpoint", str(out), "--no-download"]) == 1
    err = capsys.readouterr().err
    assert "--data mnist -> mnist (54,000 train, 6,000 val, 10,000 test) read from" in err
    assert "--data mnist -> mnist (embedded test split) (9,000 train, 1,000 val)" in err
    assert f"NETSPEC_DATA was {FULL_MNIST} when trained, unset now" in err
    assert f"set NETSPEC_DATA={FULL_MNIST} as when training" in err
    assert cli.main(["eval", str(spec), "--checkpoint", str(out), "--data", "mnist", "--no-download"]) == 0
    captured = capsys.readouterr()
    assert "warning" in captured.err and "embedded test split" in captured.out


def test_eval_draws_the_confusion_matrix_and_reports_each_class(run, capsys):
    from PIL import Image

    out, _ = run
    capsys.readouterr()
    assert cli.main(["eval", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    import numpy as np

    matrix = np.array(report["confusion_matrix"])
    for index, row in enumerate(report["per_class"]):
        assert row["support"] == matrix[index].sum()
        assert row["recall"] == round(matrix[index, index] / matrix[index].sum(), 4)
        if matrix[:, index].sum():
            assert row["precision"] == round(matrix[index, index] / matrix[:, index].sum(), 4)
    picture = Path(report["confusion_png"])
    assert picture.parent == out and picture.name.startswith("confusion-test")
    with Image.open(picture) as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)
    dark_blue = (np.abs(pixels - [8, 48, 107]).sum(axis=-1) < 40).sum()  # "Blues" at 1.0: the diagonal
    assert dark_blue > 2000
    before = picture.read_bytes()
    assert cli.main(["eval", str(out), "--format", "json"]) == 0  # a second eval keeps the first picture
    second = Path(json.loads(capsys.readouterr().out)["confusion_png"])
    assert second != picture and second.is_file() and picture.read_bytes() == before


def test_eval_of_a_regression_run_reports_mae_rmse_mape(tmp_path, capsys):
    import math

    spec = tmp_path / "sine.yaml"
    spec.write_text("name: sine\ninput: [16, 1]\nlayers:\n  - conv: {K: 4, F: 3, P: causal, activation: relu}\n"
                    "  - flatten\n  - dense: {units: 1}\ntrain: {batch_size: 32, epochs: 1, optimizer: adam}\n")
    out = tmp_path / "run"
    assert cli.main(["train", str(spec), "--data", "synthetic:sine:400", "--out", str(out)]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch"))
    assert "samples/s" in header and "images/s" not in header  # a series is not images
    assert cli.main(["eval", str(out), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["rmse"] == pytest.approx(math.sqrt(report["loss"]), rel=1e-3)
    assert 0 < report["mae"] <= report["rmse"] and report["mape"] > 0


def test_curves_show_a_title_the_best_epoch_and_the_test_point(run):
    import numpy as np
    from PIL import Image

    out, _ = run
    with Image.open(out / "curves.png") as image:
        pixels = np.asarray(image.convert("RGB")).astype(int)

    def count(rgb):
        return int((np.abs(pixels - rgb).sum(axis=-1) < 30).sum())

    assert count([214, 39, 40]) > 100  # the red test star (in both panels)
    assert count([44, 160, 44]) > 100  # the green dashed line at the best epoch
    assert (pixels[:25] < 100).all(axis=-1).sum() > 50  # dark title text along the top


def test_no_test_point_or_best_line_without_them(tmp_path):
    import numpy as np
    from PIL import Image

    from netspec.train.rundir import plot_curves

    history = [{"epoch": e, "loss": 1.0 / e, "val_loss": 1.2 / e} for e in (1, 2, 3)]
    plot_curves(history, tmp_path / "plain.png")
    pixels = np.asarray(Image.open(tmp_path / "plain.png").convert("RGB")).astype(int)
    assert (np.abs(pixels - [214, 39, 40]).sum(axis=-1) < 30).sum() == 0
    assert (np.abs(pixels - [44, 160, 44]).sum(axis=-1) < 30).sum() == 0
