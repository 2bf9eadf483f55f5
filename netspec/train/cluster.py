"""Joining a multi-process run: ``jax.distributed.initialize`` with netspec's
flags, timeouts and diagnostics.

JAX's runtime does the work: a coordination service on process 0, each
process registering with it (``initialization_timeout``), heartbeats that
terminate every process once one stops answering (``heartbeat_timeout``), and
cluster auto-detection (SLURM, Open MPI, Cloud TPU) when no address is given.
This module only chooses the arguments, turns bad ones into diagnostics, and
says which process is which. JAX-free until :func:`initialize` runs.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import threading
from dataclasses import dataclass

from netspec.diagnostics import NetspecError, error

# Defaults: long enough for a slow scheduler to start every process, short enough
# that a missing process is reported within minutes rather than never.
INIT_TIMEOUT_SECONDS = 300
HEARTBEAT_TIMEOUT_SECONDS = 100
JOIN_GRACE_SECONDS = 5
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


def add_cluster_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "distributed (several processes, e.g. one per host; see docs/distributed.md)")
    group.add_argument("--distributed", action="store_true",
                       help="join a multi-process run with jax.distributed (SLURM, Open MPI and Cloud TPU "
                            "are detected; elsewhere give the three flags below or JAX_* variables)")
    group.add_argument("--coordinator", default=None, metavar="HOST:PORT",
                       help=f"address of process 0's coordinator (or ${COORDINATOR_ENV}); implies --distributed")
    group.add_argument("--num-processes", type=int, default=None, metavar="N",
                       help=f"how many processes take part (or ${NUM_PROCESSES_ENV})")
    group.add_argument("--process-id", type=int, default=None, metavar="I",
                       help=f"this process's number, 0..N-1 (or ${PROCESS_ID_ENV})")
    group.add_argument("--init-timeout", type=int, default=INIT_TIMEOUT_SECONDS, metavar="S",
                       help=f"give up when not every process has joined after S seconds (default {INIT_TIMEOUT_SECONDS})")
    group.add_argument("--heartbeat-timeout", type=int, default=HEARTBEAT_TIMEOUT_SECONDS, metavar="S",
                       help="stop every process when one has not answered for S seconds "
                            f"(default {HEARTBEAT_TIMEOUT_SECONDS})")


def options_from(args: argparse.Namespace, environ=os.environ) -> ClusterOptions | None:
    """The cluster options the command line asks for, or ``None`` for a single-process run."""
    given = (args.coordinator, args.num_processes, args.process_id)
    if not args.distributed and all(value is None for value in given):
        return None
    options = ClusterOptions(
        coordinator=args.coordinator,
        num_processes=args.num_processes if args.num_processes is not None
        else _int_from_env(NUM_PROCESSES_ENV, environ),
        process_id=args.process_id if args.process_id is not None else _int_from_env(PROCESS_ID_ENV, environ),
        init_timeout=args.init_timeout,
        heartbeat_timeout=args.heartbeat_timeout,
    )
    check(options, environ)
    return options


def _int_from_env(name: str, environ) -> int | None:
    text = environ.get(name)
    if text is None or text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise NetspecError([error("bad-cluster", f"${name} must be an integer, but got '{text}'")]) from None


def check(options: ClusterOptions, environ=os.environ) -> None:
    """Diagnostics for arguments JAX would reject later, or with a less helpful message."""
    problems = []
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
    where = options.coordinator or os.environ.get(COORDINATOR_ENV) or "the auto-detected coordinator"
    who = f"process {options.process_id}" if options.process_id is not None else "this process"
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
