"""A fuzzer over the spec language and the command line, in the normal suite (issue 13).

Hypothesis mutates real specs at the character level (YAML syntax, anchors,
tags, ``${…}``, non-finite numbers, control characters) and draws command
lines from every flag with good and bad values. Whatever it draws:

* the exit status is 0, 1 or 2 (never 3, an internal error);
* ``check --format json`` prints valid JSON, and every spec error in it has
  a line number;
* a spec that checks clean builds (compiles, constructs and runs under
  ``jax.eval_shape``).

The default run is bounded (a minute on two cores). The long run is the same
tests with more examples, e.g.::

    NETSPEC_FUZZ_EXAMPLES=20000 .venv/bin/pytest -q tests/test_fuzz.py tests/test_random_specs.py

(see docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_random_specs import assert_check_clean_builds

from netspec import cli

ROOT = Path(__file__).resolve().parent.parent
BASES = [ROOT / "specs" / "lenet.yaml", ROOT / "specs" / "tcn.yaml", *sorted((ROOT / "examples").glob("*.yaml"))]
BASE_TEXTS = [path.read_text() for path in BASES]
SCALE = max(1, int(os.environ.get("NETSPEC_FUZZ_EXAMPLES", "300")) // 300)
# Diagnostics about the file as a whole, which have no line to point at.
FILE_LEVEL = {"file-not-found", "not-a-file", "file-too-large", "not-utf8", "unreadable"}

FRAGMENTS = ["[", "]", "{", "}", ":", ": ", "- ", "\n", "\n  ", " ", ",", "&a ", "*a", "<<: *a", "!!python/object ",
             "!!binary ", "${K}", "${", "}", "${1/0}", "${K * K * K * K}", "1e999", ".inf", "-.nan", "null", "~",
             "'", '"', "\t", "\x00", "\x85", "é", "0", "-1", "99999999999999999999999", "true", "yes", "name: x\n",
             "None", "SeparableConv", "glorot_uniform", "from: input", "repeat: {times: 1000, layers: [relu]}",
             "residual: {body: [relu]}", "inception: {branches: [[relu], [relu]]}", "P: causal", "S: 0"]


NUMBERS = ["1e999", "-1e999", ".inf", ".nan", "1e308", "1e-320", "0", "-1", "0.0", "1000000", "10000000000000",
           "2.5", "true", "null", "'3'"]
NAMES = ["None", "true", "false", "'True'", "SeparableConv", "glorot_uniform", "ones", "nnx", "self", "rngs", "x",
         "capture_Net", "INPUT_SHAPE", "float", "class", "_", "a-b.c", "'a/b'", "''"]
NUMBER = re.compile(r"(?<![\w.$])-?\d+(\.\d+)?(e-?\d+)?(?![\w.])")
NAME_VALUE = re.compile(r"(?<=name: )[^\s,}]+")


@st.composite
def mutated_texts(draw) -> str:
    """A real spec with a few numbers or names replaced by hostile ones, or a few characters
    replaced, inserted or deleted."""
    text = draw(st.sampled_from(BASE_TEXTS))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["number", "number", "name", "characters"]))
        pattern, pool = (NUMBER, NUMBERS) if kind == "number" else (NAME_VALUE, NAMES)
        spots = list(pattern.finditer(text)) if kind != "characters" else []
        if spots:
            spot = draw(st.sampled_from(spots))
            text = text[:spot.start()] + draw(st.sampled_from(pool)) + text[spot.end():]
            continue
        start = draw(st.integers(0, len(text)))
        end = min(len(text), start + draw(st.integers(0, 8)))
        text = text[:start] + draw(st.sampled_from(["", *FRAGMENTS])) + text[end:]
    return text


def run(argv: list[str]) -> tuple[int, str, str]:
    """``netspec ARGV`` in this process: (status, stdout, stderr); usage errors are status 2."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(argv)
        except SystemExit as exit:  # argparse
            status = exit.code if isinstance(exit.code, int) else 2
    return status, out.getvalue(), err.getvalue()


@settings(max_examples=150 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(mutated_texts())
def test_mutated_specs_check_with_located_diagnostics_and_clean_ones_build(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("fuzz") / "spec.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    status, out, err = run(["check", "--format", "json", str(path)])
    assert status in (0, 1), err
    assert "internal error" not in err
    (result,) = json.loads(out)
    for problem in result["diagnostics"]:
        if problem["severity"] == "error" and problem["code"] not in FILE_LEVEL:
            assert problem.get("line") is not None, problem
    if result["ok"]:
        status, out, err = run(["summary", "--format", "json", str(path)])
        assert status == 0, err
        json.loads(out)
        assert_check_clean_builds(text)


SPEC_FLAGS = {
    "summary": [["--format", "table"], ["--format", "json"], ["--format", "markdown"], ["--format", "xml"],
                ["--bogus"], []],
    "check": [["--strict"], ["-q"], ["--format", "json"], ["--format", "yaml"], []],
    "export": [["-o", "-"], []],
    "schema": [[]],
}
VALUES = ["0", "-1", "1", "3", "1e-3", "inf", "nan", "1e999", str(2**63), "abc", "", "sgd", "cosine", "per_channel",
          "[1, 2]", "{a: 1}", "[" * 200, "null"]
SET_KEYS = ["epochs", "batch_size", "optimizer.lr", "schedule.warmup_epochs", "schedule.decay_steps", "metrics",
            "augment", "early_stopping.patience", "seed", "l2", "val_split", "nonsense.key", "freeze", ""]


@settings(max_examples=60 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(sorted(SPEC_FLAGS)), st.data())
def test_static_commands_exit_0_1_or_2(command, data):
    flags = data.draw(st.sampled_from(SPEC_FLAGS[command]))
    spec = [] if command == "schema" else [str(data.draw(st.sampled_from(BASES + [ROOT / "missing.yaml"])))]
    status, out, err = run([command, *spec, *flags])
    assert status in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err
    if status == 0 and "json" in flags:
        json.loads(out)


TRAIN_SPEC = """\
name: fuzz
input: [4, 4, 1]
layers: [flatten, {dense: {units: 3}}, softmax]
train: {batch_size: 8, epochs: 1}
"""
TRAIN_FLAGS = ["--epochs", "--batch-size", "--lr", "--optimizer", "--momentum", "--weight-decay", "--schedule",
               "--seed", "--loss", "--standardize", "--l1", "--l2", "--max-norm", "--clip-norm", "--val-split",
               "--window", "--horizon", "--max-steps"]


HOSTILE = ["inf", "nan", "-inf", "1e308", "1e999", str(2**63), str(2**31), "10000000000000", "-1", "0"]


@st.composite
def train_arguments(draw) -> list[str]:
    """One to three flags: a train flag or a --set key, with an ordinary or a hostile value
    (hostile values are drawn as often as all the others together)."""
    argv: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        value = draw(st.sampled_from(HOSTILE if draw(st.booleans()) else VALUES))
        if draw(st.booleans()):
            argv += ["--set", f"{draw(st.sampled_from(SET_KEYS))}={value}"]
        else:
            argv += [draw(st.sampled_from(TRAIN_FLAGS)), value]
    return argv


@settings(max_examples=25 * SCALE, deadline=None, suppress_health_check=list(HealthCheck))
@given(train_arguments())
def test_train_flags_exit_0_1_or_2(tmp_path_factory, flags):
    folder = tmp_path_factory.mktemp("train-fuzz")
    spec = folder / "fuzz.yaml"
    spec.write_text(TRAIN_SPEC)
    argv = ["train", str(spec), "--data", "synthetic:32", "--out", str(folder / "run"), "--quiet", "--max-steps", "2",
            *flags]
    status, _, err = run(argv)
    assert status in (0, 1, 2), err
    assert "internal error" not in err and "Traceback" not in err
