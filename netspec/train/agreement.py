"""Decisions every process of a multi-process run must take together.

Each process runs the same program; when one of them alone raised an error
(its data file is missing) or stopped (Ctrl-C), the others would wait in the
next collective until the heartbeat timeout killed them. Instead, every such
decision is exchanged with JAX's own collectives (``multihost_utils``) so all
processes raise the same diagnostic, or stop at the same step.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from netspec.diagnostics import Diagnostic, NetspecError, error

T = TypeVar("T")


def allgather_text(text: str) -> list[str]:
    """Every process's ``text``, in process order (a collective: all processes call it)."""
    from jax.experimental import multihost_utils

    data = np.frombuffer(text.encode("utf-8"), np.uint8)
    lengths = np.asarray(multihost_utils.process_allgather(np.array([len(data)], np.int32))).reshape(-1)
    padded = np.zeros(int(lengths.max()) or 1, np.uint8)
    padded[:len(data)] = data
    rows = np.asarray(multihost_utils.process_allgather(padded)).reshape(len(lengths), -1)
    return [bytes(row[:length]).decode("utf-8") for row, length in zip(rows, lengths)]


def _encode(problems: list[Diagnostic]) -> str:
    return json.dumps([{"code": d.code, "message": d.message, "hint": d.hint} for d in problems])


def _decode(text: str, process: int, count: int) -> list[Diagnostic]:
    where = f"process {process}: " if count > 1 else ""
    return [error(item["code"], where + item["message"], hint=item["hint"]) for item in json.loads(text)]


def together(action: Callable[[], T]) -> T:
    """Run ``action`` on every process; if it raised a diagnostic on any of them,
    raise on all of them the diagnostics of every process that failed, each
    naming its process."""
    import jax

    try:
        result, mine = action(), ""
    except NetspecError as exc:
        result, mine = None, _encode(list(exc.diagnostics))
    reports = allgather_text(mine)
    failed = [(process, text) for process, text in enumerate(reports) if text]
    if failed:
        count = jax.process_count()
        raise NetspecError([d for process, text in failed for d in _decode(text, process, count)])
    return result  # type: ignore[return-value]


def on_primary(action: Callable[[], str]) -> str:
    """Run ``action`` on process 0 only and return its text on every process;
    its diagnostics, if it raised, are raised on every process."""
    import jax

    answer, problems = "", ""
    if jax.process_index() == 0:
        try:
            answer = action()
        except NetspecError as exc:
            problems = _encode(list(exc.diagnostics))
    reply = json.loads(allgather_text(json.dumps({"answer": answer, "problems": problems}))[0])
    if reply["problems"]:
        raise NetspecError(_decode(reply["problems"], 0, 1))
    return reply["answer"]


def any_process(flag: bool) -> bool:
    """True on every process when ``flag`` is true on any of them (e.g. Ctrl-C on one)."""
    from jax.experimental import multihost_utils

    return bool(np.asarray(multihost_utils.process_allgather(np.array([flag], np.int32))).any())


def fingerprint(dataset) -> dict[str, Any]:
    """Counts and a SHA-256 of every split's inputs and targets: equal on every process
    exactly when all of them loaded the same data."""
    digest = hashlib.sha256()
    counts = {}
    for name in ("train", "val", "test"):
        split = getattr(dataset, name, None)
        counts[name] = 0 if split is None else len(split)
        if split is not None:
            for array in (split.x, split.y):
                array = np.ascontiguousarray(array)
                digest.update(f"{name}{array.dtype}{array.shape}".encode())
                digest.update(array.data.cast("B"))
    return {"counts": counts, "sha256": digest.hexdigest()[:16]}


def check_same_data(dataset) -> None:
    """Every process raises the same diagnostic unless all hold identical data."""
    prints = [json.loads(text) for text in allgather_text(json.dumps(fingerprint(dataset)))]
    if all(p == prints[0] for p in prints):
        return
    rows = "; ".join(
        f"process {i}: " + ", ".join(f"{n} {c:,}" for n, c in p["counts"].items()) + f", sha256 {p['sha256']}"
        for i, p in enumerate(prints))
    differing = [i for i, p in enumerate(prints) if p != prints[0]]
    raise NetspecError([error(
        "data-differs",
        f"the processes loaded different data (process {', '.join(map(str, differing))} "
        f"differ{'s' if len(differing) == 1 else ''} from process 0): {rows}",
        hint="every process must read the same data set (same --data, files and --val-split); "
             "copy the files to every host or use a shared file system")])
