"""summary --format json is a contract: every zoo summary validates against the
published JSON Schema, with and without the memory estimate and a scale."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from netspec.cli import main
from netspec.pipeline import analysis_of, load
from netspec.report.schema import summary_json_schema
from netspec.report.summary import summarize

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(str(path.relative_to(ROOT)) for path in [*ROOT.glob("specs/*.yaml"), *ROOT.glob("examples/*.yaml")])


def test_the_schema_is_a_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(summary_json_schema())


@pytest.mark.parametrize("spec", SPECS)
def test_zoo_summaries_follow_the_schema(spec):
    analysis = analysis_of(load(ROOT / spec))
    for report in (summarize(analysis), summarize(analysis, batch_size=8, optimizer="sgd")):
        jsonschema.validate(json.loads(report.json()), summary_json_schema())


def test_the_memory_estimate_and_flops_are_in_the_json(capsys):
    assert main(["summary", "specs/lenet.yaml", "--format", "json", "--batch-size", "32"]) == 0
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, summary_json_schema())
    assert data["flops"] == 2 * data["macs"] == 833_040
    memory = data["training_memory"]
    assert memory["batch_size"] == 32 and memory["peak_bytes"] > memory["param_bytes"] > 0
    assert sum(layer["training_memory"]["activation_bytes"] for layer in data["layers"]) == memory["activation_bytes"]
    assert data["geometry"][0] == {"size": 32, "stride": 4, "padding": 2, "lookback": 2, "lookahead": 29}


def test_schema_command_prints_it(capsys):
    assert main(["schema", "--summary"]) == 0
    assert json.loads(capsys.readouterr().out)["title"] == "netspec summary"


def test_markdown_carries_flops_and_memory(capsys):
    assert main(["summary", "specs/lenet.yaml", "--format", "markdown", "--batch-size", "4"]) == 0
    markdown = capsys.readouterr().out
    assert "| FLOPs |" in markdown and "- **FLOPs:** 833.0 K (833,040) per example, 2 per MAC" in markdown
    assert "Train memory (batch 4" in markdown
