"""The roll call before JAX's join (netspec.train.rollcall), with threads standing in for processes:
no JAX, each test a second or two."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from netspec.diagnostics import NetspecError
from netspec.train.rollcall import roll_call


def free_address() -> str:
    with socket.socket() as probe:
        probe.bind(("localhost", 0))
        return f"localhost:{probe.getsockname()[1]}"


def call_together(address: str, count: int, ids: list[int], timeout: float, delay: float = 0.0) -> dict[int, str]:
    """{process: "" when its roll call passed, else its error message}; process 0 (when in ``ids``)
    starts ``delay`` seconds before the others."""
    results: dict[int, str] = {}

    def one(process: int) -> None:
        if process != 0:
            time.sleep(delay)
        try:
            roll_call(address, count, process, timeout)
            results[process] = ""
        except NetspecError as exc:
            results[process] = " ".join(d.message for d in exc.diagnostics)

    threads = [threading.Thread(target=one, args=(process,)) for process in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout + 30)
    return results


def test_everyone_present_goes_on_at_once():
    started = time.monotonic()
    assert call_together(free_address(), 3, [0, 1, 2], timeout=20, delay=0.3) == {0: "", 1: "", 2: ""}
    assert time.monotonic() - started < 10  # not the timeout: everyone answered


def test_the_processes_that_came_name_the_one_that_did_not():
    address = free_address()
    results = call_together(address, 3, [0, 1], timeout=1)
    for process in (0, 1):
        assert results[process] == (f"process {process} waited 1 s at {address} for 3 processes to join: "
                                    "process 2 never joined (joined: 0, 1)")


def test_a_missing_coordinator_is_named():
    address = free_address()
    [message] = call_together(address, 2, [1], timeout=1).values()
    assert message == f"process 1 waited 1 s for process 0, the coordinator at {address}, which never answered"


def test_a_second_process_with_the_same_id_is_told():
    results = []

    def twin():
        try:
            roll_call(address, 3, 1, 1)
        except NetspecError as exc:
            results.append(exc.diagnostics[0].message)

    address = free_address()
    extra = threading.Thread(target=twin)
    extra.start()
    outcome = call_together(address, 3, [0, 1], timeout=1, delay=0.2)
    extra.join()
    messages = results + [outcome[1]]
    assert f"another process already joined {address} as process 1" in messages
    assert "process 2 never joined" in outcome[0]


def test_a_different_process_count_is_a_diagnostic():
    address = free_address()
    results: dict[int, str] = {}

    def process_1():
        time.sleep(0.2)
        try:
            roll_call(address, 3, 1, 1)
        except NetspecError as exc:
            results[1] = exc.diagnostics[0].message

    thread = threading.Thread(target=process_1)
    thread.start()
    with pytest.raises(NetspecError, match="process 1 never joined"):
        roll_call(address, 2, 0, 1)
    thread.join()
    assert results[1] == "process 1 was started with --num-processes 3, but process 0 with 2"


def test_a_stranger_on_the_port_is_ignored():
    address = free_address()
    host, port = address.split(":")

    def stranger_then_process_1():
        time.sleep(0.2)
        with socket.create_connection((host, int(port))) as connection:
            connection.sendall(b"GET / HTTP/1.1\r\n\r\n" + b"x" * 1000)
        roll_call(address, 2, 1, 5)

    thread = threading.Thread(target=stranger_then_process_1)
    thread.start()
    roll_call(address, 2, 0, 5)  # returns: the stranger did not count, process 1 did
    thread.join()


def test_a_taken_port_is_a_diagnostic():
    with socket.create_server(("", 0)) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(NetspecError, match=f"process 0 cannot listen on port {port}"):
            roll_call(f"localhost:{port}", 2, 0, 1)
