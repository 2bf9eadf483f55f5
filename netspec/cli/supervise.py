"""A distributed ``netspec train`` ends with netspec's diagnostic even when JAX's runtime ends it.

When the coordinator (process 0) dies, or JAX's heartbeat declares another
process dead, jaxlib ends every surviving process from C++ (a fatal log line,
a C++ stack, SIGABRT); no Python code runs after that, and
``jax.distributed.initialize`` takes no callback to change it (jaxlib 0.10.2).
So a distributed ``netspec train`` runs the training in a child process
(the same command line) and only watches it: it passes signals on (Ctrl-C
reaches the child once, which checkpoints), passes the child's stderr on (a
moment late, so that the C++ log lines that come with a fatal can be dropped),
and when the child ends on a fatal error of JAX's runtime it prints netspec's
diagnostic instead — which process is gone, how to resume — and exits with
status 1. Every other ending (0, 1, 130) is the child's own; a child killed by
a signal is reported as such (status 128 + N).
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping

from netspec.diagnostics import Diagnostic, error, render
from netspec.spec.cluster import COORDINATOR_ENV, ClusterOptions

SUPERVISOR_ENV = "NETSPEC_SUPERVISOR_PID"  # set in the child: the pid of the process watching it
HOLD_SECONDS = 1.0  # stderr is passed on this late; a fatal comes within milliseconds of its log lines
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
# glog's line prefix (severity, date, time, thread, file:line]); F is a fatal error, then abort().
_LOG_RECORD = re.compile(rb"[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+\s+\d+ [^\s\]]+:\d+\]")
_LOG_LINE = re.compile(b"^" + _LOG_RECORD.pattern)
_FATAL = re.compile(rb"^F" + _LOG_RECORD.pattern[len(rb"[IWEF]"):])
_PR_SET_PDEATHSIG = 1


def is_supervised() -> bool:
    return SUPERVISOR_ENV in os.environ


def die_with_supervisor() -> None:
    """In the child: end when the supervisor ends (killed with SIGKILL, it cannot pass that on)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if str(os.getppid()) != os.environ.get(SUPERVISOR_ENV):  # it ended before prctl took effect
        os._exit(1)


def supervise(argv: list[str], options: ClusterOptions, run_folder: str | None) -> int:
    """Run ``netspec ARGV`` as a child process and return the exit status this process should have."""
    return watch([sys.executable, "-m", "netspec", *argv], options, run_folder)


def watch(command: list[str], options: ClusterOptions, run_folder: str | None) -> int:
    """Run ``command`` (a training process) as a child; its exit status, or 1 after JAX's fatal error."""
    child = subprocess.Popen(command, stderr=subprocess.PIPE,
                             env=dict(os.environ, **{SUPERVISOR_ENV: str(os.getpid())}),
                             process_group=0)  # Ctrl-C in a terminal reaches the child once: through us
    previous = {number: signal.signal(number, lambda number, _: child.send_signal(number))
                for number in FORWARDED_SIGNALS}
    try:
        stderr = _StderrWatch(child)
        stderr.run()
        status = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    if stderr.fatal is None:
        if status >= 0:
            return status
        print(render([error("killed", f"the training process was ended by {signal.Signals(-status).name}",
                             hint="e.g. the system's out-of-memory killer, or a signal sent to it alone")]),
              file=sys.stderr, flush=True)
        return 128 - status
    if not stderr.explained:  # the child had no time to say it itself
        sys.stdout.flush()
        print(render([explain_fatal(stderr.fatal, options, run_folder)]), file=sys.stderr, flush=True)
    return 1


def _split_at_log_records(line: bytes) -> list[bytes]:
    """``line`` cut where a C++ log record starts inside it (C++ writes in the middle of a line of
    Python's): each part a line of its own."""
    parts = []
    while (record := _LOG_RECORD.search(line, 1)) is not None:
        parts.append(line[:record.start()] + b"\n")
        line = line[record.start():]
    return [*parts, line] if line else parts


class _StderrWatch:
    """Copies a child's stderr to ours, HOLD_SECONDS late, and takes out JAX's fatal error: its
    log line with what follows (kept in ``fatal``) and the C++ log lines just before it."""

    def __init__(self, child: subprocess.Popen):
        self.child = child
        self.lines: queue.Queue[bytes | None] = queue.Queue()
        self.held: list[tuple[float, bytes]] = []
        self.fatal: bytes | None = None
        self.explained = False  # the child printed a diagnostic of its own

    def run(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()
        out = sys.stderr.buffer
        reason: list[bytes] = []
        while True:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                line = b""
            if line is None:
                break
            for part in _split_at_log_records(line):
                if reason:
                    if len(reason) < 40:  # the reason, then the C++ stack: the reason is enough
                        reason.append(part)
                elif _FATAL.match(part):
                    reason = [part]
                    self.held = self._before_log_lines()
                else:
                    self._hold(part)
            while self.held and (reason or time.monotonic() - self.held[0][0] >= HOLD_SECONDS):
                out.write(self.held.pop(0)[1])
            out.flush()
        for _, line in self.held:
            out.write(line)
        out.flush()
        self.fatal = b"".join(reason) if reason else None

    def _read(self) -> None:
        assert self.child.stderr is not None
        for line in iter(self.child.stderr.readline, b""):
            self.lines.put(line)
        self.lines.put(None)

    def _hold(self, line: bytes) -> None:
        self.explained = self.explained or line.startswith(b"netspec: error")
        self.held.append((time.monotonic(), line))

    def _before_log_lines(self) -> list[tuple[float, bytes]]:
        """The held lines without the C++ log records among them (a record's first line has glog's
        prefix; its further lines are dropped too, up to a line of netspec's own: ``netspec: ...``
        or indented, as its diagnostics are)."""
        kept, in_record = [], False
        for when, line in self.held:
            if _LOG_LINE.match(line):
                in_record = True
            elif line.startswith((b"netspec: ", b"  ")):
                in_record = False
            if not in_record:
                kept.append((when, line))
        return kept


def explain_fatal(text: bytes, options: ClusterOptions, run_folder: str | None,
                  environ: Mapping[str, str] = os.environ) -> Diagnostic:
    """netspec's diagnostic for JAX's fatal error ``text`` (the log line and what follows)."""
    message = text.decode("utf-8", "replace")
    me = options.process_id if options.process_id is not None else environ.get("JAX_PROCESS_ID", "?")
    address = options.coordinator or environ.get(COORDINATOR_ENV) or "its auto-detected address"
    resume = (f"netspec train --resume {run_folder}" if run_folder else "netspec train --resume RUN")
    hint = f"see that process's log for why it ended; continue from the last checkpoint with `{resume}` " \
           "on every process"
    unhealthy = re.search(r"stopped sending heartbeats\):\s*\n((?:[\d, ]+\n)+)", message)
    if unhealthy:
        lost = sorted({int(word) for word in re.findall(r"\d+", unhealthy.group(1))})
        names = ", ".join(map(str, lost))
        return error("process-lost",
                     f"process {names} stopped answering during training, so process {me} stops too "
                     f"(no heartbeat for {options.heartbeat_timeout} s)", hint=hint)
    if "RegisterTask" in message:
        return error("cluster-join", f"process {me} could not join the run at {address}: "
                                     f"{_status(message)}",
                     hint="start every process (the same command, each with its own --process-id), or raise "
                          "--init-timeout")
    coordinator_gone = "coordination service" in message or "leader task" in message or "Socket closed" in message
    if coordinator_gone and str(me) != "0":  # process 0 runs the coordination service itself
        return error("process-lost",
                     f"process {me} lost the run's coordinator, process 0 at {address}: process 0 ended or "
                     f"its host is unreachable, so process {me} stops too",
                     hint=hint.replace("that process's log", "process 0's log"))
    return error("process-lost", f"JAX's distributed runtime stopped process {me}: {_status(message)}",
                 hint=hint.replace("that process's log", "the other processes' logs"))


def _status(message: str) -> str:
    """The status JAX's fatal log line reports, on one line."""
    reason = message.partition("absl::Status:")[2] or message.partition("]")[2]
    return " ".join(reason.split())[:300]
