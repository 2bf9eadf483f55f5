"""csv time series as a first-class source: column choice (features, targets, a row index
left out), diagnostics, and ``predict`` forecasts in the file's units."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from netspec import cli
from netspec.data import load_data
from netspec.data.csv_columns import ColumnChoice, read_table, select_columns
from netspec.diagnostics import NetspecError

ROWS = 300


def sales(t: int) -> float:
    return 500 + 50 * math.sin(2 * math.pi * t / 24 + 1)


def temperature(t: int) -> float:
    return 20 + 5 * math.sin(2 * math.pi * t / 24)


def write_series(path: Path, rows: int = ROWS) -> Path:
    """pandas' ``to_csv`` layout: an unnamed row index, a date, then the measurements."""
    lines = [",date,temp,sales"]
    lines += [f"{t},2024-01-{t:03d},{temperature(t):.4f},{sales(t):.4f}" for t in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


SPEC = """\
name: sales_forecast
input: [16, 2]
layers:
  - flatten
  - dense: {units: 3}
train:
  optimizer: {name: sgd, lr: 0.02, momentum: 0.9}
  epochs: 20
  batch_size: 16
  standardize: per_channel
  loss: mse
"""


def test_a_leading_row_index_and_a_date_are_left_out_with_notes(tmp_path):
    data = load_data(f"csv:{write_series(tmp_path / 's.csv')}", input_shape=(16, 2), output_shape=(1,),
                     val_split=0.0)
    assert data.train.x.shape == (ROWS - 16, 16, 2)
    assert data.train.x[0, 0].tolist() == pytest.approx([temperature(0), sales(0)], abs=1e-3)  # not the index
    notes = " ".join(data.notes)
    assert "non-numeric columns of s.csv: date" in notes
    assert "Skipped column 1 (no header)" in notes and "(0, 1, ... 299)" in notes
    # the default target is the last input column, sales, one step after each window
    np.testing.assert_allclose(data.train.y[:, 0], [sales(t + 16) for t in range(ROWS - 16)], atol=1e-3)


def test_a_named_index_column_is_kept_when_asked_for(tmp_path):
    (tmp_path / "y.csv").write_text("year,rain\n" + "\n".join(f"{2000 + i},{(i * 7) % 5}" for i in range(12)))
    table = read_table(tmp_path / "y.csv")
    assert select_columns(table, ColumnChoice()).input_names == ["rain"]
    kept = select_columns(table, ColumnChoice(feature_columns=("year", "rain")))
    assert kept.input_names == ["year", "rain"] and kept.inputs[0].tolist() == [2000, 0]


def test_feature_and_target_columns_by_name_or_number(tmp_path):
    write_series(tmp_path / "s.csv")
    choice = ColumnChoice(feature_columns=("temp",), target_columns=("4",))  # 4: sales, counting from 1
    data = load_data(f"csv:{tmp_path / 's.csv'}", input_shape=(8, 1), output_shape=(2,), horizon=2,
                     val_split=0.0, columns=choice)
    assert data.train.x.shape == (ROWS - 9, 8, 1) and data.train.y.shape == (ROWS - 9, 2)
    assert data.train.x[0, :, 0].tolist() == pytest.approx([temperature(t) for t in range(8)], abs=1e-3)
    assert data.train.y[0].tolist() == pytest.approx([sales(8), sales(9)], abs=1e-3)  # targets: sales only
    assert "targets sales" in data.notes[-1]


@pytest.mark.parametrize("choice, words", [
    (ColumnChoice(target_columns=("sale",)), ["has no column 'sale'", "did you mean 'sales'?", "3 'temp'"]),
    (ColumnChoice(feature_columns=("date", "temp")), ["column 'date'", "is not numeric", "2024-01-000"]),
    (ColumnChoice(target_columns=("9",)), ["has no column '9'"]),
    (ColumnChoice(feature_columns=("temp",), skip_columns=("temp",)), ["both a feature and skipped"]),
    (ColumnChoice(skip_columns=("temp", "sales")), ["leaves no numeric input columns", "counts rows"]),
])
def test_wrong_column_choices_are_diagnostics(tmp_path, choice, words):
    write_series(tmp_path / "s.csv")
    with pytest.raises(NetspecError) as caught:
        load_data(f"csv:{tmp_path / 's.csv'}", input_shape=(8, 1), output_shape=(1,), columns=choice)
    text = str(caught.value) + " ".join(d.hint or "" for d in caught.value.diagnostics)
    for word in words:
        assert word in text


def test_a_numeric_looking_ramp_in_a_later_column_stays_a_feature(tmp_path):
    (tmp_path / "r.csv").write_text("load,trend\n" + "\n".join(f"{(i * 3) % 7},{i}" for i in range(20)))
    assert select_columns(read_table(tmp_path / "r.csv"), ColumnChoice()).input_names == ["load", "trend"]


@pytest.fixture(scope="module")
def forecaster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("series")
    spec = folder / "spec.yaml"
    spec.write_text(SPEC)
    series = write_series(folder / "series.csv")
    status = cli.main(["train", str(spec), "--data", f"csv:{series}", "--target-columns", "sales",
                       "--horizon", "3", "--out", str(folder / "run"), "--quiet"])
    assert status == 0
    return folder


def test_the_run_records_its_columns_and_eval_reuses_them(forecaster, capsys):
    info = json.loads((forecaster / "run" / "run.json").read_text())
    assert info["data_options"] == {"window": None, "horizon": 3, "target_columns": ["sales"]}
    capsys.readouterr()
    assert cli.main(["eval", str(forecaster / "run"), "--format", "json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["same_data_as_training"] and report["split"] == "val" and report["examples"] == 28
    assert report["mae"] < 0.5 and report["rmse"] < 0.5 and report["mape"] < 0.1  # sales are ~500


def test_predict_forecasts_the_steps_after_the_series_in_its_units(forecaster, capsys, tmp_path):
    capsys.readouterr()
    run = str(forecaster / "run")
    out = tmp_path / "forecast.json"
    assert cli.main(["predict", run, "--data", f"csv:{forecaster / 'series.csv'}", "--format", "json",
                     "-o", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(out.read_text()) == printed
    assert printed["targets"] == ["sales"] and printed["rows"] == ROWS and printed["horizon"] == 3
    assert [step["row"] for step in printed["forecast"]] == [301, 302, 303]
    # a linear model can continue a sinusoid exactly: the forecast is the series' next values, ~500
    got = [step["values"]["sales"] for step in printed["forecast"]]
    assert got == pytest.approx([sales(300), sales(301), sales(302)], abs=0.5)
    # the table form, with a lone .csv argument; -o never replaces a file without --force
    assert cli.main(["predict", run, str(forecaster / "series.csv")]) == 0
    table = capsys.readouterr().out
    assert "forecast after row 300" in table and "+3" in table and f"{got[2]:.6g}" in table
    assert cli.main(["predict", run, "--data", f"csv:{forecaster / 'series.csv'}", "-o", str(out)]) != 0
    assert "--force" in capsys.readouterr().err


def test_predict_forecast_diagnostics(forecaster, capsys):
    run = str(forecaster / "run")
    short = forecaster / "short.csv"
    write_series(short, rows=10)
    assert cli.main(["predict", run, "--data", f"csv:{short}"]) != 0
    assert "a window of 16 steps needs 16 rows" in capsys.readouterr().err
    assert cli.main(["predict", run, "--data", f"csv:{forecaster / 'series.csv'}", "--feature-columns", "temp"]) != 0
    assert "its last window has shape [16, 1]" in capsys.readouterr().err
    assert cli.main(["predict", run, "--data", "mnist"]) != 0
    assert "takes a csv series" in capsys.readouterr().err
    assert cli.main(["predict", run, "digit.png"]) != 0
    assert "trained for regression" in capsys.readouterr().err
    assert cli.main(["predict", run]) != 0
    assert "needs image files, or a csv series" in capsys.readouterr().err
