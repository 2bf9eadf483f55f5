"""examples/transfer: the README's results table is the one run.py writes from the run
folders' run.json (the training itself takes minutes: see the README for the full run)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "transfer"


def _example():
    spec = importlib.util.spec_from_file_location("transfer_example", EXAMPLE / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fake_run(folder: Path, train: int, accuracy: float, epoch: int, last: float | None) -> None:
    folder.mkdir(parents=True)
    run = {"train": {"seed": 0}, "test": {"loss": 0.1, "accuracy": accuracy},
           "data_record": {"splits": {"train": {"examples": train, "checksum": "x"}}},
           "test_checkpoint": {"name": "best", "epoch": epoch}}
    if last is not None:
        run["test_last"] = {"loss": 0.2, "accuracy": last}
    (folder / "run.json").write_text(json.dumps(run))


def test_the_table_is_read_from_the_run_folders(tmp_path):
    example = _example()
    for number, (folder, _) in enumerate(example.STAGES):
        _fake_run(tmp_path / folder, 100 + number, 0.5 + number / 100, number + 1,
                  0.25 if number == 3 else None)
    table = example.results_table(tmp_path)
    rows = [line for line in table.splitlines() if line.startswith("| ") and "%" in line]
    assert rows[0] == "| from scratch on 5-9 | 100 | 50.00% | best, epoch 1 | the same |"
    assert rows[3] == "| fine-tuned (block 1 frozen, SGD lr 0.001) | 103 | 53.00% | best, epoch 4 | 25.00% |"
    assert "Seed 0;" in table


def test_table_only_rewrites_results_md_from_an_earlier_run(tmp_path):
    example = _example()
    for folder, _ in example.STAGES:
        _fake_run(tmp_path / folder, 100, 0.9, 3, None)
    done = subprocess.run([sys.executable, str(EXAMPLE / "run.py"), "--out", str(tmp_path), "--table"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "results.md").read_text() == example.results_table(tmp_path)


def test_the_readme_shows_the_recorded_results_md():
    recorded = (EXAMPLE / "results.md").read_text()
    assert "| fine-tuned" in recorded and "Seed 0" in recorded
    assert recorded in (EXAMPLE / "README.md").read_text()
