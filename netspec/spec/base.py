"""``base:`` in a spec: a network made of another spec's layers (up to one of
them) followed by this spec's own ``layers:`` (see :mod:`netspec.resolve.compose`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BaseNetwork(BaseModel):
    """The base network a spec builds on: ``{spec: FILE, up_to: LAYER, weights: FILE | imagenet}``."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    spec: str = Field(description="the base network's spec file, relative to this spec's file")
    up_to: str | None = Field(None, description="the last base layer kept (default: the base's output); "
                                                "this spec's layers continue from it")
    weights: str | None = Field(None, description="weights for the base layers: a file (relative to this spec) "
                                                  "or imagenet (the published file, from the usual caches)")
