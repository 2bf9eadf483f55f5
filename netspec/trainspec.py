"""The ``train:`` section of a spec (placeholder; fleshed out by the training stage)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TrainSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
