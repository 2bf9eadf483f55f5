"""The ``train``, ``eval``, ``predict`` and ``bench`` commands, end to end through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest

from netspec import cli

TRAINING_COMMANDS = ("train", "eval", "predict", "bench")
SPEC = """\
name: small
input: [8, 8, 1]
layers:
  - conv: {K: 4, F: 3, P: same, activation: relu}
  - pool: {F: 2}
  - flatten
  - dense: {units: 3}
  - softmax
train:
  optimizer: {name: adam, lr: 0.01}
  batch_size: 16
  epochs: 2
  standardize: per_pixel
"""


@pytest.fixture(autouse=True)
def shared_compile_cache(monkeypatch, tmp_path_factory):
    """The tests of this module share one XLA compilation cache."""
    monkeypatch.setenv("NETSPEC_JAX_CACHE", str(tmp_path_factory.getbasetemp() / "jax-cache-commands"))


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    path = tmp_path_factory.mktemp("spec") / "small.yaml"
    path.write_text(SPEC)
    return path


@pytest.fixture(scope="module")
def trained(spec, tmp_path_factory):
    """One run folder, trained through the CLI, shared by the eval/predict tests."""
    out = tmp_path_factory.mktemp("runs") / "small"
    status = cli.main(["train", str(spec), "--data", "synthetic:240", "--out", str(out), "--quiet",
                       "--set", "schedule.name=cosine"])
    assert status == 0
    return out


def test_train_writes_a_run_folder_with_the_overrides_applied(trained, spec):
    info = json.loads((trained / "run.json").read_text())
    assert info["data"] == "synthetic:240" and info["train"]["schedule"]["name"] == "cosine"
    assert (trained / "spec.yaml").read_text() == spec.read_text()
    assert len(json.loads((trained / "history.json").read_text())) == 2
    assert json.loads((trained / "classes.json").read_text()) == ["class 0", "class 1", "class 2"]


def test_train_prints_one_row_per_epoch(spec, tmp_path, capsys):
    status = cli.main(["train", str(spec), "--data", "synthetic:120", "--out", str(tmp_path / "run"),
                       "--epochs", "3", "--batch-size", "8", "--lr", "0.001", "--optimizer", "sgd"])
    assert status == 0
    out = capsys.readouterr().out
    assert "sgd lr 0.001, batch 8, 3 epochs" in out
    rows = [line for line in out.splitlines() if line.split()[:1] and line.split()[0] in ("1/3", "2/3", "3/3")]
    assert len(rows) == 3 and all("%" in row for row in rows)
    assert f"run folder: {tmp_path / 'run'}" in out


def test_train_refuses_an_existing_non_empty_out_folder(trained, spec, capsys):
    before = sorted(p.name for p in trained.iterdir())
    assert cli.main(["train", str(spec), "--data", "synthetic:240", "--out", str(trained)]) == 1
    err = capsys.readouterr().err
    assert "already exists and is not empty" in err and "--resume" in err
    assert sorted(p.name for p in trained.iterdir()) == before


def test_train_without_data_says_where_data_comes_from(spec, tmp_path, capsys):
    assert cli.main(["train", str(spec), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "no data to train 'small' on" in err and "--data" in err
    assert not (tmp_path / "run").exists()


def test_a_bad_override_is_a_diagnostic_not_a_traceback(spec, tmp_path, capsys):
    assert cli.main(["train", str(spec), "--data", "synthetic", "--optimizer", "adamm"]) == 1
    err = capsys.readouterr().err
    assert "train.optimizer.name" in err and "Traceback" not in err
    assert cli.main(["train", str(spec), "--data", "synthetic", "--set", "nonsense"]) == 1
    assert "--set must be KEY=VALUE" in capsys.readouterr().err
    assert cli.main(["train", str(spec), "--data", "synthetic", "--set", "optimizer.nam=adam",
                     "--set", "augment.flip=true"]) == 1
    err = capsys.readouterr().err
    assert "train.optimizer.nam" in err and "did you mean 'name'?" in err
    assert "train.augment.flip" in err and "flip_horizontal" in err


def test_max_steps_then_resume_without_the_spec(spec, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", str(spec), "--data", "synthetic:240", "--out", str(out), "--max-steps", "5",
                     "--quiet"]) == 0
    assert "stopped after 5 steps" in capsys.readouterr().out
    assert cli.main(["train", "--resume", str(out), "--quiet"]) == 0
    assert "resuming at epoch 1, step 5" in capsys.readouterr().out
    assert len(json.loads((out / "history.json").read_text())) == 2


def test_train_decides_its_settings_and_reads_run_json_once(spec, tmp_path, monkeypatch):
    """One orchestrator: per run the train: settings are validated once, the LR schedule is
    made once (the optimizer's is the one the history shows), and a resume reads run.json once."""
    import netspec.spec.train
    import netspec.train.optim
    import netspec.train.rundir
    import netspec.train.session

    calls = {"settings": 0, "schedule": 0, "run.json": 0}

    def counting(name, function, counts=lambda *args: True):
        def spy(*args, **kwargs):
            calls[name] += bool(counts(*args))
            return function(*args, **kwargs)
        return spy

    settings_spy = counting("settings", netspec.spec.train.with_overrides)
    monkeypatch.setattr(netspec.spec.train, "with_overrides", settings_spy)
    monkeypatch.setattr(netspec.train.session, "with_overrides", settings_spy)
    schedule_spy = counting("schedule", netspec.train.optim.make_schedule)
    monkeypatch.setattr(netspec.train.optim, "make_schedule", schedule_spy)
    monkeypatch.setattr(netspec.train.session, "make_schedule", schedule_spy, raising=False)
    monkeypatch.setattr(netspec.train.rundir, "read_run_file",
                        counting("run.json", netspec.train.rundir.read_run_file, lambda path, what: what == "run.json"))

    out = tmp_path / "run"
    assert cli.main(["train", str(spec), "--data", "synthetic:240", "--out", str(out), "--max-steps", "3",
                     "--quiet", "--lr", "0.02"]) == 0
    assert calls == {"settings": 1, "schedule": 1, "run.json": 0}
    calls.update(settings=0, schedule=0)
    assert cli.main(["train", "--resume", str(out), "--quiet", "--max-steps", "4"]) == 0
    assert calls == {"settings": 1, "schedule": 1, "run.json": 1}
    assert json.loads((out / "run.json").read_text())["train"]["optimizer"]["lr"] == 0.02


def test_default_run_folder_is_relative_to_the_working_directory(spec, tmp_path, monkeypatch, capsys):
    """No --out: runs/<spec>-<time> under the current directory (a relative path, which orbax
    alone would reject), then resumable from that relative path."""
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", str(spec), "--data", "synthetic:240", "--max-steps", "5", "--quiet"]) == 0
    (run,) = (tmp_path / "runs").iterdir()
    assert (run / "checkpoints" / "last").is_dir()
    relative = str(run.relative_to(tmp_path))
    assert cli.main(["train", "--resume", relative, "--quiet"]) == 0
    assert len(json.loads((run / "history.json").read_text())) == 2


def test_eval_reports_loss_accuracy_and_a_confusion_matrix(trained, spec, capsys):
    assert cli.main(["eval", str(spec), "--checkpoint", str(trained), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["split"] == "test" and report["data"] == "synthetic"
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == report["examples"]
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / matrix.sum())
    assert report["loss"] > 0 and report["class_names"] == ["class 0", "class 1", "class 2"]
    assert cli.main(["eval", str(spec), "--checkpoint", str(trained / "checkpoints" / "last"),
                     "--split", "val"]) == 0
    table = capsys.readouterr().out
    assert "val split" in table and "confusion matrix" in table


def test_predict_lists_top_k_classes_and_writes_only_where_o_says(trained, spec, tmp_path, capsys):
    from PIL import Image

    from netspec.data import load_data

    data = load_data("synthetic:240", input_shape=(8, 8, 1), output_shape=(3,), seed=0)
    paths = []
    for index in range(2):
        pixels = (data.test.x[index, :, :, 0] * 255).round().astype(np.uint8)
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(pixels, mode="L").resize((16, 16)).save(path)  # predict resizes to 8x8
        paths.append(str(path))
    saved = tmp_path / "predictions.json"
    assert cli.main(["predict", str(spec), *paths, "--checkpoint", str(trained), "--top-k", "2",
                     "--format", "json", "-o", str(saved)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert [r["image"] for r in results] == paths
    for result in results:
        top = result["top"]
        assert len(top) == 2 and top[0]["probability"] >= top[1]["probability"]
        assert top[0]["class"] in ("class 0", "class 1", "class 2")
    assert json.loads(saved.read_text())["predictions"] == results
    assert not (trained / "predictions.json").exists()  # nothing written into the run folder unasked
    before = saved.read_text()
    assert cli.main(["predict", str(spec), *paths, "--checkpoint", str(trained), "-o", str(saved)]) == 1
    assert "already exists" in capsys.readouterr().err and saved.read_text() == before
    # The run folder alone names the spec; --force replaces an existing -o file.
    output = tmp_path / "alone.json"
    assert cli.main(["predict", str(trained), *paths, "--top-k", "2", "-o", str(output)]) == 0
    assert json.loads(output.read_text())["predictions"] == results
    assert cli.main(["predict", str(trained), *paths, "--top-k", "1", "-o", str(output), "--force"]) == 0
    assert [len(r["top"]) for r in json.loads(output.read_text())["predictions"]] == [1, 1]
    capsys.readouterr()


def test_eval_takes_the_run_folder_alone(trained, spec, capsys):
    assert cli.main(["eval", str(trained), "--format", "json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert cli.main(["eval", str(spec), "--checkpoint", str(trained), "--format", "json"]) == 0
    with_spec = json.loads(capsys.readouterr().out)
    differ = ("checkpoint", "confusion_png")  # how the run was named, and a new picture each time
    assert {k: v for k, v in alone.items() if k not in differ} == {
        k: v for k, v in with_spec.items() if k not in differ}
    assert cli.main(["eval", str(trained / "checkpoints" / "last"), "--split", "val"]) == 0
    assert "val split" in capsys.readouterr().out
    assert cli.main(["eval", str(spec)]) == 1  # a spec file alone: which run?
    assert "add --checkpoint RUN, or pass the run folder alone" in capsys.readouterr().err
    assert cli.main(["eval", str(spec.parent)]) == 1
    assert "is not a netspec run folder" in capsys.readouterr().err


def test_bench_reports_compile_and_step_times(spec, capsys):
    assert cli.main(["bench", str(spec), "--steps", "3", "--windows", "2", "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"compile_s", "step_ms", "images_per_s"} <= report.keys()
    assert report["step_ms"] > 0 and report["compile_s"] > 0
    assert report["images_per_s"] == pytest.approx(16 / (report["step_ms"] / 1000), rel=0.01)


def test_training_commands_are_registered():
    assert set(TRAINING_COMMANDS) <= set(cli.COMMANDS)
