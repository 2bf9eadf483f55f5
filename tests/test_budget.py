"""Budgets in the spec: human units, the failing line, the figures named, --budget overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from netspec.cli import main
from netspec.pipeline import check_text
from netspec.spec.budget import BudgetError, parse_override
from netspec.spec.units import UnitError, parse_bytes, parse_count

ROOT = Path(__file__).resolve().parent.parent

SPEC = """\
name: budgeted
input: [32, 32, 3]
budget:
{budget}
layers:
  - conv: {{K: 32, F: 3, P: same, activation: relu, name: c1}}
  - pool: {{F: 2}}
  - conv: {{K: 64, F: 3, P: same, activation: relu, name: c2}}
  - global_pool
  - dense: {{units: 10, name: head}}
"""
# params: c1 896, c2 18,496, head 650 = 20,042; MACs: c1 884,736, c2 4,718,592, head 640 = 5,603,968


def spec(budget: str) -> str:
    return SPEC.format(budget=budget)


@pytest.mark.parametrize("text, value", [("5M", 5_000_000), ("600M", 600_000_000), (25_636_712, 25_636_712),
                                         ("2.5K", 2500), ("1_000", 1000), ("4.1G", 4_100_000_000)])
def test_counts_in_human_units(text, value):
    assert parse_count(text) == value


@pytest.mark.parametrize("text, value", [("64MiB", 64 << 20), ("8GiB", 8 << 30), ("500MB", 500_000_000),
                                         (1024, 1024), ("1.5KiB", 1536), ("12 B", 12)])
def test_byte_sizes_in_human_units(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("parse, text", [(parse_count, "5MiB"), (parse_count, "lots"), (parse_count, "1.5"),
                                         (parse_bytes, "64M"), (parse_bytes, "-3"), (parse_count, -1),
                                         (parse_bytes, "1.5B")])
def test_bad_units_are_refused(parse, text):
    with pytest.raises(UnitError):
        parse(text)


def test_under_budget_passes():
    checked = check_text(spec("  max_params: 20042\n  max_macs: 5.7M\n  max_activation_memory: 1MiB\n"
                              "  max_train_memory: {batch_size: 8, limit: 8GiB}"), "b.yaml")
    assert checked.ok, checked.diagnostics


def test_over_budget_fails_at_the_limits_line_naming_figure_limit_and_layers():
    checked = check_text(spec("  max_params: 20041\n  max_macs: 5M"), "b.yaml")
    errors = checked.errors
    assert [(e.code, e.span.line) for e in errors] == [("over-budget", 4), ("over-budget", 5)]
    params, macs = errors
    assert "max_params is 20,041" in params.message and "20,042 parameters" in params.message
    assert "'c2' 18,496" in params.notes[0] and params.notes[0].index("'c2'") < params.notes[0].index("'c1'")
    assert "5,000,000" in macs.message and "5,603,968" in macs.message
    assert macs.notes[0].startswith("largest: 'c2' 4,718,592")


def test_train_memory_budget_uses_the_estimate_for_its_batch_size():
    small = check_text(spec("  max_train_memory: {batch_size: 1, limit: 1MiB}"), "b.yaml")
    large = check_text(spec("  max_train_memory: {batch_size: 256, limit: 1MiB}"), "b.yaml")
    assert small.ok
    assert [e.code for e in large.errors] == ["over-budget"]
    assert "batch 256" in large.errors[0].message and "adam" in large.errors[0].message


def test_bad_budget_values_are_schema_errors_at_their_line():
    checked = check_text(spec("  max_params: 5MiB\n  max_activation_memory: 64M\n  max_flopz: 1"), "b.yaml")
    lines = sorted(d.span.line for d in checked.errors)
    assert lines == [4, 5, 6], checked.diagnostics


def test_budget_flag_overrides_and_adds(capsys):
    path = ROOT / "specs" / "lenet.yaml"
    assert main(["check", str(path), "--budget", "max_params=61706"]) == 0
    assert main(["check", str(path), "--budget", "max_params=60K"]) == 1
    err = capsys.readouterr().err
    assert "--budget max_params is 60,000" in err and "61,706" in err


def test_budget_flag_overrides_the_spec(tmp_path):
    file = tmp_path / "b.yaml"
    file.write_text(spec("  max_params: 100"))
    assert main(["check", str(file)]) == 1
    assert main(["check", str(file), "--budget", "max_params=1M"]) == 0


@pytest.mark.parametrize("flag", ["max_parms=5", "max_params", "max_params=5MiB",
                                  "max_train_memory={batch_size: 0, limit: 1GiB}"])
def test_bad_budget_flags_are_usage_errors(flag, capsys):
    with pytest.raises(SystemExit) as info:
        main(["check", "specs/lenet.yaml", "--budget", flag])
    assert info.value.code == 2
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(BudgetError):
        parse_override(flag)


def test_check_json_carries_the_budget_error(capsys):
    assert main(["check", "specs/lenet.yaml", "--budget", "max_macs=1K", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report[0]["diagnostics"][0]["code"] == "over-budget"
    assert main(["check", "specs/lenet.yaml", "--format", "json"]) == 0
    clean = json.loads(capsys.readouterr().out)[0]
    assert (clean["macs"], clean["flops"]) == (416_520, 833_040)


def test_summary_over_budget_still_reports_and_exits_one(capsys):
    assert main(["summary", "specs/lenet.yaml", "--budget", "max_params=60K"]) == 1
    captured = capsys.readouterr()
    assert "Total params" in captured.out and "over-budget" not in captured.out
    assert "--budget max_params is 60,000" in captured.err


def test_check_shows_the_headroom_of_each_limit(capsys):
    assert main(["check", "specs/lenet.yaml", "--budget", "max_params=100K", "--budget",
                 "max_train_memory={batch_size: 64, limit: 1GiB}"]) == 0
    out = capsys.readouterr().out
    assert "within budget: max_params: 61,706 of 100,000 (62%)" in out
    assert "within budget: max_train_memory at batch 64:" in out and "of 1.00 GiB" in out
