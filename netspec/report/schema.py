"""The JSON Schema of ``netspec summary --format json`` (``netspec schema --summary``).

The summary's JSON is a contract for tools (CI dashboards, notebooks):
every key below is always present (``null`` where a figure does not apply),
``schema_version`` changes only when a key changes meaning or disappears,
and new keys may be added without a version change (``additionalProperties``
stays open for that reason). docs/summary-json.md explains each field.
"""

from __future__ import annotations

import copy

from netspec.report.summary import SCHEMA_VERSION

_COUNT = {"type": "integer", "minimum": 0}
_SHAPE = {"type": "array", "items": {"type": "integer", "minimum": 1}}
_AXIS = {
    "type": "object",
    "description": "receptive field along one spatial axis of the network input (docs/analysis.md)",
    "required": ["size", "stride", "padding", "lookback", "lookahead"],
    "properties": {
        "size": {**_COUNT, "description": "input cells one output cell depends on"},
        "stride": {**_COUNT, "description": "effective stride: input cells between neighbouring outputs"},
        "padding": {"type": "integer", "description": "effective padding: how far the first output's field "
                                                       "starts before input cell 0"},
        "lookback": {"type": "integer", "description": "cells before an output's own position it sees"},
        "lookahead": {"type": "integer", "description": "cells after an output's own position it sees"},
    },
}
_MEMORY_PARTS = ("param_bytes", "gradient_bytes", "optimizer_bytes", "activation_bytes")
_LAYER_MEMORY = {
    "type": ["object", "null"],
    "description": "this layer's share of the training-memory estimate (null without --batch-size)",
    "required": [*_MEMORY_PARTS, "total_bytes"],
    "properties": {key: _COUNT for key in (*_MEMORY_PARTS, "total_bytes")},
}
_MEMORY = {
    "type": ["object", "null"],
    "description": "training-memory estimate of one step (null without --batch-size; docs/analysis.md)",
    "required": ["batch_size", "optimizer", "optimizer_slots", *_MEMORY_PARTS, "batch_bytes",
                 "workspace_bytes", "peak_bytes"],
    "properties": {"batch_size": {"type": "integer", "minimum": 1}, "optimizer": {"type": "string"},
                   "optimizer_slots": _COUNT,
                   **{key: _COUNT for key in (*_MEMORY_PARTS, "batch_bytes", "workspace_bytes", "peak_bytes")}},
}
_DIAGNOSTIC = {
    "type": "object",
    "required": ["severity", "code", "message"],
    "properties": {"severity": {"enum": ["error", "warning", "note"]}, "code": {"type": "string"},
                   "message": {"type": "string"}, "path": {"type": "string"}, "line": {"type": "integer"},
                   "col": {"type": "integer"}, "hint": {"type": "string"},
                   "notes": {"type": "array", "items": {"type": "string"}}},
}
_LAYER = {
    "type": "object",
    "required": ["name", "type", "output_shape", "params", "trainable_params", "non_trainable_params", "macs",
                 "flops", "receptive_field", "geometry", "inputs", "training_memory"],
    "properties": {
        "name": {"type": "string", "description": "unique node name; block paths joined with /"},
        "type": {"type": "string", "description": "the primitive op (conv, pool, dense, add, ...)"},
        "output_shape": {**_SHAPE, "description": "without the batch axis, channels last"},
        "params": _COUNT, "trainable_params": _COUNT, "non_trainable_params": _COUNT,
        "macs": {**_COUNT, "description": "multiply-accumulates per example (conv and dense only)"},
        "flops": {**_COUNT, "description": "2 per MAC"},
        "receptive_field": {"type": "array", "items": _COUNT, "description": "size per spatial axis"},
        "geometry": {"type": "array", "items": _AXIS},
        "inputs": {"type": "array", "items": {"type": "string"}},
        "training_memory": _LAYER_MEMORY,
    },
}
SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://netspec.dev/schemas/summary-v1.json",
    "title": "netspec summary",
    "description": "the output of `netspec summary --format json` (docs/summary-json.md)",
    "type": "object",
    "required": ["schema_version", "name", "scale", "input_shape", "output_shape", "total_params",
                 "trainable_params", "non_trainable_params", "macs", "flops", "receptive_field", "geometry",
                 "param_bytes", "activation_bytes", "training_memory", "warnings", "layers"],
    "properties": {
        "schema_version": {"const": SCHEMA_VERSION},
        "name": {"type": "string"},
        "scale": {"type": ["string", "null"], "description": "the named scale (--scale), or null"},
        "input_shape": _SHAPE, "output_shape": _SHAPE,
        "total_params": _COUNT, "trainable_params": _COUNT, "non_trainable_params": _COUNT,
        "macs": _COUNT, "flops": _COUNT,
        "receptive_field": {"type": "array", "items": _COUNT},
        "geometry": {"type": "array", "items": _AXIS, "description": "of the output node"},
        "param_bytes": {**_COUNT, "description": "4 bytes per parameter (float32)"},
        "activation_bytes": {**_COUNT, "description": "4 bytes per element of every node's output, per example"},
        "training_memory": _MEMORY,
        "warnings": {"type": "array", "items": _DIAGNOSTIC},
        "layers": {"type": "array", "items": _LAYER},
    },
}


def summary_json_schema() -> dict:
    """A copy of :data:`SCHEMA`."""
    return copy.deepcopy(SCHEMA)
