"""A roll call before JAX's join, so that a process that never starts is named.

JAX's join (``jax.distributed.initialize``) waits until every process has
registered with the coordination service, and none of its services (the
key-value store included) answers before that. When one process never comes,
jaxlib ends each waiting process from C++ with "Deadline Exceeded" and says
nothing of who is missing (jaxlib 0.10.2). So netspec first holds a roll call
on the coordinator's own address: process 0 listens on the port, every other
process connects and sends one line, ``netspec-join I N``. When all N have
answered, process 0 closes the port (JAX's coordination service binds it
next) and answers ``go``; at the deadline it answers ``missing 2,3`` instead,
and every process that came stops with the same diagnostic naming the absent
ids. A process that cannot reach process 0 by the deadline names process 0.

Only for explicit addresses (``--coordinator``/``JAX_COORDINATOR_ADDRESS`` with
a process count and id); auto-detected clusters go straight to JAX. JAX-free:
standard sockets, and at most one short line read from any connection.
"""

from __future__ import annotations

import contextlib
import socket
import time

from netspec.diagnostics import NetspecError, error

GREETING = "netspec-join"
POLL_SECONDS = 0.2
LINE_LIMIT = 64  # bytes: every message of the roll call is shorter
GREETING_SECONDS = 2.0  # how long process 0 waits for the line of a process that has connected
REPLY_GRACE_SECONDS = 5.0  # process 0 answers at its deadline; allow for clocks starting apart


def roll_call(address: str, num_processes: int, process_id: int, timeout: float) -> None:
    """Return once all ``num_processes`` processes have answered at ``address`` (HOST:PORT);
    raise a diagnostic naming the missing ones after ``timeout`` seconds."""
    if num_processes < 2:
        return
    host, _, port = address.rpartition(":")
    host = host.strip("[]")  # [::1]:1234
    deadline = time.monotonic() + timeout
    if process_id == 0:
        _call(int(port), num_processes, deadline, address, timeout)
    else:
        _answer(host, int(port), num_processes, process_id, deadline, address, timeout)


def _call(port: int, count: int, deadline: float, address: str, timeout: float) -> None:
    """Process 0: collect the others' greetings until all are in or the deadline passes."""
    try:
        if socket.has_dualstack_ipv6():  # every address, as JAX's coordinator binds [::]:PORT
            server = socket.create_server(("", port), family=socket.AF_INET6, dualstack_ipv6=True)
        else:
            server = socket.create_server(("", port))
    except OSError as exc:
        raise NetspecError([error(
            "cluster-port", f"process 0 cannot listen on port {port} of {address}: {exc.strerror or exc}",
            hint="choose a free port for --coordinator HOST:PORT")]) from None
    present: dict[int, socket.socket] = {}
    try:
        while len(present) < count - 1 and time.monotonic() < deadline:
            server.settimeout(max(0.01, min(POLL_SECONDS, deadline - time.monotonic())))
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            process = _greeting(connection, count)
            if process is None or process in present:  # not a netspec process of this run, or a twin
                if process is not None:
                    _reply(connection, "duplicate")
                connection.close()
                continue
            present[process] = connection
    finally:
        server.close()  # before anyone goes on: JAX's coordination service takes the port next
    missing = [process for process in range(1, count) if process not in present]
    answer = "missing " + ",".join(map(str, missing)) if missing else "go"
    for connection in present.values():
        _reply(connection, answer)
        connection.close()
    if missing:
        raise NetspecError([_missing(0, missing, count, address, timeout)])


def _greeting(connection: socket.socket, count: int) -> int | None:
    """The process id a connection announces, or ``None`` when it is not a valid greeting."""
    words = _read_line(connection, GREETING_SECONDS).split()
    if len(words) != 3 or words[0] != GREETING or not (words[1].isdigit() and words[2].isdigit()):
        return None
    process, claimed_count = int(words[1]), int(words[2])
    if claimed_count != count:
        _reply(connection, f"count {count}")
        return None
    return process if 1 <= process < count else None


def _answer(host: str, port: int, count: int, process: int, deadline: float, address: str,
            timeout: float) -> None:
    """Process I > 0: say who it is to process 0 and wait for the verdict."""
    connection = None
    while connection is None:
        try:
            connection = socket.create_connection((host, port), timeout=max(0.1, deadline - time.monotonic()))
        except OSError:
            if time.monotonic() >= deadline:
                raise NetspecError([_coordinator_missing(process, address, timeout)]) from None
            time.sleep(POLL_SECONDS)
    with connection:
        _reply(connection, f"{GREETING} {process} {count}")
        # Process 0 started listening before this connection, so it answers within `timeout` of now.
        answer = _read_line(connection, timeout + REPLY_GRACE_SECONDS)
    if answer == "go":
        return
    if answer.startswith("missing "):
        missing = [int(word) for word in answer.split()[1].split(",") if word.isdigit()]
        raise NetspecError([_missing(process, missing, count, address, timeout)])
    if answer == "duplicate":
        raise NetspecError([error(
            "cluster-join", f"another process already joined {address} as process {process}",
            hint="give every process its own --process-id, 0..N-1")])
    if answer.startswith("count "):
        raise NetspecError([error(
            "cluster-join", f"process {process} was started with --num-processes {count}, "
                            f"but process 0 with {answer.split()[1]}",
            hint="start every process with the same --num-processes")])
    raise NetspecError([_coordinator_missing(process, address, timeout, answered=True)])


def _read_line(connection: socket.socket, seconds: float) -> str:
    """One short ASCII line from ``connection`` ("" when it closes, times out or sends other bytes)."""
    connection.settimeout(seconds)
    data = b""
    try:
        while b"\n" not in data and len(data) < LINE_LIMIT:
            chunk = connection.recv(LINE_LIMIT - len(data))
            if not chunk:
                break
            data += chunk
    except OSError:
        return ""
    line = data.partition(b"\n")[0]
    return line.decode("ascii", "replace").strip() if line.isascii() else ""


def _reply(connection: socket.socket, text: str) -> None:
    with contextlib.suppress(OSError):  # that process is gone: it learns nothing, the others still do
        connection.sendall(text.encode("ascii") + b"\n")


def _missing(me: int, missing: list[int], count: int, address: str, timeout: float):
    names = ", ".join(map(str, missing))
    joined = ", ".join(str(p) for p in range(count) if p not in missing)
    several = len(missing) > 1
    return error(
        "cluster-join",
        f"process {me} waited {timeout:g} s at {address} for {count} processes to join: "
        f"process{'es' if several else ''} {names} never joined (joined: {joined})",
        hint=f"start process{'es' if several else ''} {names} with the same command and "
             f"{'their own' if several else 'its'} --process-id, check that {address} is reachable "
             "from there, or raise --init-timeout")


def _coordinator_missing(me: int, address: str, timeout: float, answered: bool = False):
    what = "stopped answering before the roll call ended" if answered else "never answered"
    return error(
        "cluster-join",
        f"process {me} waited {timeout:g} s for process 0, the coordinator at {address}, which {what}",
        hint="start process 0 (on the host in --coordinator), check the address and that its port is "
             "reachable from this host, or raise --init-timeout")
