"""What a training run trains with, decided once: its settings (the spec's
``train:`` section, or a resumed run's recorded settings, with the overrides
applied) and, when it resumes, the ``run.json`` it continues.

``netspec train`` makes the plan before it loads the data (the data source
and split come from it) and hands it to :func:`netspec.train.fit`, so the
settings are validated and ``run.json`` is read once per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from netspec.ir import Graph
from netspec.spec.train import TrainSpec
from netspec.train import rundir
from netspec.train.session import settings


@dataclass(frozen=True)
class Resumed:
    """The run a plan continues: its folder, its ``run.json`` and the settings recorded there."""

    directory: Path
    run: dict[str, Any]
    recorded: TrainSpec


@dataclass(frozen=True)
class Plan:
    """The settings of a run, and the run it continues (``None``: a new run)."""

    train: TrainSpec
    resumed: Resumed | None = None


def plan_run(graph: Graph, overrides: dict[str, Any], *, resume: str | Path | None = None,
             run: dict[str, Any] | None = None) -> Plan:
    """The plan to train ``graph`` with ``overrides``; with ``resume``, on top of that run's
    recorded settings. ``run`` is its ``run.json`` when the caller has read it already."""
    if resume is None:
        return Plan(settings(graph, overrides))
    directory = Path(resume)
    if run is None:
        run = rundir.read_run(directory)
    recorded = rundir.recorded_settings(run, directory)
    return Plan(settings(graph, overrides, recorded), Resumed(directory, run, recorded))
