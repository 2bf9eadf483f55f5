"""Joining a multi-process run: ``jax.distributed.initialize`` with netspec's
flags, timeouts and diagnostics.

The options themselves (:class:`~netspec.spec.cluster.ClusterOptions`, their
defaults and checks) live in :mod:`netspec.spec.cluster`, and the flags that
fill them in :mod:`netspec.cli.options`, so the parser needs no JAX;
``ClusterOptions`` is re-exported here for ``initialize(ClusterOptions(...))``.

JAX's runtime does the work: a coordination service on process 0, each
process registering with it (``initialization_timeout``; before that, with an
explicit address, netspec's roll call names any process that never comes:
:mod:`netspec.train.rollcall`), heartbeats that
terminate every process once one stops answering (``heartbeat_timeout``), and
cluster auto-detection (SLURM, Open MPI, Cloud TPU) when no address is given.
This module only chooses the arguments, turns bad ones into diagnostics, and
says which process is which. JAX-free until :func:`initialize` runs.
"""

from __future__ import annotations

import os
import sys
import threading

from netspec.diagnostics import NetspecError, error
from netspec.spec.cluster import (
    COORDINATOR_ENV,
    HEARTBEAT_TIMEOUT_SECONDS,
    INIT_TIMEOUT_SECONDS,
    ClusterOptions,
    check,
)

__all__ = ["INIT_TIMEOUT_SECONDS", "HEARTBEAT_TIMEOUT_SECONDS", "ClusterOptions", "exit_now",
           "heartbeat_timeout", "initialize"]

# JAX's own join deadline is this much later than --init-timeout, so that the watchdog's diagnostic decides.
JOIN_GRACE_SECONDS = 5

_heartbeat_timeout = HEARTBEAT_TIMEOUT_SECONDS


def heartbeat_timeout() -> int:
    """Seconds after which JAX declares a silent process dead (as this run was started with)."""
    return _heartbeat_timeout


def initialize(options: ClusterOptions | None = None) -> None:
    """Join the run (every process calls this, before any other JAX work).

    >>> initialize(ClusterOptions("10.0.0.1:1234", num_processes=2, process_id=0))  # doctest: +SKIP
    """
    import jax

    options = options or ClusterOptions()
    check(options)
    if jax.distributed.is_initialized():
        return
    # Cross-process collectives on CPU (tests, CPU clusters) go through gloo.
    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    global _heartbeat_timeout
    _heartbeat_timeout = options.heartbeat_timeout
    address = options.coordinator or os.environ.get(COORDINATOR_ENV)
    where = address or "the auto-detected coordinator"
    who = f"process {options.process_id}" if options.process_id is not None else "this process"
    if address is not None and options.num_processes is not None and options.process_id is not None:
        from netspec.train.rollcall import roll_call

        # JAX's own join cannot say who is missing; this can (see netspec.train.rollcall).
        roll_call(address, options.num_processes, options.process_id, options.init_timeout)
    watchdog = _JoinWatchdog(options, where, who)
    try:
        jax.distributed.initialize(
            coordinator_address=options.coordinator,
            num_processes=options.num_processes,
            process_id=options.process_id,
            # JAX's own deadline a little later, so that the watchdog's diagnostic decides.
            initialization_timeout=options.init_timeout + JOIN_GRACE_SECONDS,
            heartbeat_timeout_seconds=options.heartbeat_timeout,
        )
    except (ValueError, TypeError) as exc:
        raise NetspecError([error(
            "no-cluster", f"cannot start a distributed run: {exc}",
            hint="outside SLURM, Open MPI and Cloud TPU pass --coordinator HOST:PORT --num-processes N "
                 "--process-id I (or set JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID)")]) from None
    except RuntimeError as exc:
        raise NetspecError([error("cluster-join", f"{who} could not join the run at {where}: {exc}")]) from None
    finally:
        watchdog.cancel()


class _JoinWatchdog:
    """Ends a failed join with a diagnostic and exit status 1.

    When not every process registers in time, JAX aborts each waiting process
    with only "Deadline Exceeded" and a C++ stack trace; this says instead
    what was expected and what to check.
    """

    def __init__(self, options: ClusterOptions, where: str, who: str):
        from netspec.diagnostics import render

        count = f"{options.num_processes} processes" if options.num_processes else "every process"
        self.text = render([error(
            "cluster-join", f"{who} waited {options.init_timeout} s at {where} for {count} to join, and not all did",
            hint="start every process (the same command, each with its own --process-id), check that "
                 "process 0's HOST:PORT is reachable from the others, or raise --init-timeout")])
        self.timer = threading.Timer(options.init_timeout, self._explain)
        self.timer.daemon = True
        self.timer.start()

    def _explain(self) -> None:
        print(self.text, file=sys.stderr, flush=True)
        os._exit(1)  # the main thread is blocked inside JAX's connect; nothing to unwind

    def cancel(self) -> None:
        self.timer.cancel()


def exit_now(exc: NetspecError) -> None:
    """Print ``exc`` and end the process with status 1 at once.

    After another process died, JAX's normal exit (a shutdown barrier with
    every process) would abort with a C++ stack trace after the timeout.
    """
    from netspec.diagnostics import render

    sys.stdout.flush()
    print(render(exc.diagnostics), file=sys.stderr, flush=True)
    os._exit(1)
