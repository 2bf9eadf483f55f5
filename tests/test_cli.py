"""The command line: exit statuses, diagnostics instead of tracebacks, and a
static path that never loads JAX."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT

PYTHON = sys.executable


def netspec(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "netspec", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_check_clean_spec_exits_zero():
    result = netspec("check", "specs/lenet.yaml")
    assert result.returncode == 0, result.stderr
    assert "specs/lenet.yaml: ok" in result.stdout
    assert "61,706 params" in result.stdout


def test_check_many_reports_each_and_fails_if_any_fails(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 4, F: 9}\n")
    result = netspec("check", "specs/lenet.yaml", str(bad))
    assert result.returncode == 1
    assert "specs/lenet.yaml: ok" in result.stdout
    assert f"{bad}:4:5: error:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("text, where", [
    ("name: x\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 4, F: [3, 3}\n", ":4:"),           # YAML syntax
    ("name: x\ninput: [8, 8, 1]\nlayers:\n  - cnov: {K: 4, F: 3}\n", ":4:5:"),              # unknown layer
    ("name: x\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 0, F: 3}\n", ":4:"),                # zero filters
    ("name: x\ninput: [8, 8, 1]\nlayers:\n  - flatten\n  - conv: {K: 4, F: 3}\n", ":5:5:"),  # conv after flatten
    ("name: x\ninput: [8, 8, 1]\nlayers:\n  - !!python/object/apply:os.system [ls]\n", ":4:"),  # python tag
])
def test_bad_specs_are_diagnostics_with_status_1(tmp_path, text, where):
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    result = netspec("check", str(spec))
    assert result.returncode == 1
    assert f"bad.yaml{where}" in result.stderr
    assert "error:" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_missing_file_is_a_diagnostic():
    result = netspec("check", "specs/does-not-exist.yaml")
    assert result.returncode == 1
    assert "no such file" in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_errors_exit_2():
    assert netspec("check").returncode == 2
    assert netspec("frobnicate").returncode == 2
    assert netspec("summary", "specs/lenet.yaml", "--format", "yaml").returncode == 2


def test_check_json_format():
    result = netspec("check", "specs/lenet.yaml", "--format", "json")
    assert result.returncode == 0
    (entry,) = json.loads(result.stdout)
    assert entry["ok"] is True and entry["total_params"] == 61706


def test_summary_json_contract():
    result = netspec("summary", "specs/lenet.yaml", "--format", "json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for key in ("name", "input_shape", "output_shape", "total_params", "trainable_params",
                "non_trainable_params", "macs", "receptive_field", "layers"):
        assert key in report
    assert report["input_shape"] == [28, 28, 1] and report["output_shape"] == [10]
    assert report["total_params"] == 61706
    layer = report["layers"][1]
    for key in ("name", "type", "output_shape", "params", "trainable_params", "macs", "receptive_field"):
        assert key in layer
    assert layer["output_shape"] == [28, 28, 6] and layer["params"] == 156


@pytest.mark.parametrize("fmt, marker", [("table", "Total params:"), ("markdown", "|")])
def test_summary_text_formats(fmt, marker):
    result = netspec("summary", "specs/lenet.yaml", "--format", fmt)
    assert result.returncode == 0
    assert marker in result.stdout and "61,706" in result.stdout


def test_schema_is_json_schema():
    result = netspec("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert "properties" in schema or "$defs" in schema


def test_python_api_load_and_summary():
    import netspec

    graph = netspec.load(ROOT / "specs" / "lenet.yaml")
    report = netspec.summary(graph)
    assert report.to_dict()["total_params"] == 61706
    assert "Total params" in str(report)
    with pytest.raises(netspec.NetspecError) as info:
        netspec.load("name: x\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 4, F: 9}\n")
    assert info.value.errors and info.value.errors[0].span.line == 4


def test_check_reports_freeze_names_that_match_no_layer(tmp_path):
    spec = tmp_path / "freeze.yaml"
    spec.write_text("name: t\ninput: [8, 8, 1]\nlayers:\n  - conv: {K: 2, F: 3, name: conv1}\n  - flatten\n"
                    "  - dense: 3\ntrain:\n  freeze: [conv2]\n")
    result = netspec("check", str(spec))
    assert result.returncode == 1
    assert "freeze.yaml:8:3: error: train.freeze: 't' has no layer matching 'conv2'" in result.stderr
    assert "did you mean 'conv1'?" in result.stderr
    spec.write_text(spec.read_text().replace("[conv2]", "{up_to: conv1}"))
    assert netspec("check", str(spec)).returncode == 0
