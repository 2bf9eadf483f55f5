"""How a process joins a multi-process run (``netspec train --distributed``), as pure data.

:class:`ClusterOptions` is what the command line (:mod:`netspec.cli.options`:
``add_cluster_flags``, ``options_from``) builds and what
:func:`netspec.train.cluster.initialize` consumes; :func:`check` turns
arguments JAX would reject later, or with a less helpful message, into
diagnostics. Like :mod:`netspec.spec.train` this is on the static path: it
imports no JAX, so ``netspec train --help`` builds without it.

>>> check(ClusterOptions(coordinator="10.0.0.1", num_processes=2, process_id=0), environ={})
Traceback (most recent call last):
...
netspec.diagnostics.NetspecError: ...--coordinator must be HOST:PORT, but got '10.0.0.1'...
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from netspec.diagnostics import Diagnostic, NetspecError, error

# Defaults: long enough for a slow scheduler to start every process, short enough
# that a missing process is reported within minutes rather than never.
INIT_TIMEOUT_SECONDS = 300
HEARTBEAT_TIMEOUT_SECONDS = 100
# JAX reads JAX_COORDINATOR_ADDRESS and JAX_LOCAL_DEVICE_IDS itself; these two complete the set.
NUM_PROCESSES_ENV = "JAX_NUM_PROCESSES"
PROCESS_ID_ENV = "JAX_PROCESS_ID"
COORDINATOR_ENV = "JAX_COORDINATOR_ADDRESS"
_ADDRESS = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


@dataclass(frozen=True)
class ClusterOptions:
    """How this process joins the run; ``None`` fields are auto-detected by JAX.

    >>> ClusterOptions(coordinator="10.0.0.1:1234", num_processes=2, process_id=1).explicit
    True
    """

    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None
    init_timeout: int = INIT_TIMEOUT_SECONDS
    heartbeat_timeout: int = HEARTBEAT_TIMEOUT_SECONDS

    @property
    def explicit(self) -> bool:
        return None not in (self.coordinator, self.num_processes, self.process_id)


def check(options: ClusterOptions, environ: Mapping[str, str] = os.environ) -> None:
    """Diagnostics for arguments JAX would reject later, or with a less helpful message."""
    problems: list[Diagnostic] = []
    coordinator = options.coordinator or environ.get(COORDINATOR_ENV)
    if coordinator is not None and not _ADDRESS.match(coordinator):
        problems.append(error("bad-cluster", f"--coordinator must be HOST:PORT, but got '{coordinator}'",
                              hint="e.g. --coordinator 10.0.0.1:1234 (the host of process 0, a free port)"))
    if options.num_processes is not None and options.num_processes < 1:
        problems.append(error("bad-cluster", f"--num-processes must be at least 1, but got {options.num_processes}"))
    if options.process_id is not None and (
            options.process_id < 0
            or (options.num_processes is not None and options.process_id >= options.num_processes)):
        problems.append(error(
            "bad-cluster",
            f"--process-id must be in 0..{(options.num_processes or 1) - 1}, but got {options.process_id}",
            hint="number the processes 0, 1, ..., N-1; process 0 runs the coordinator"))
    for name, value in (("--init-timeout", options.init_timeout), ("--heartbeat-timeout", options.heartbeat_timeout)):
        if value < 1:
            problems.append(error("bad-cluster", f"{name} must be at least 1 second, but got {value}"))
    if problems:
        raise NetspecError(problems)
