"""netspec.cli.supervise: JAX's fatal errors replaced by netspec's diagnostics. Children that
replay JAX's recorded output (jaxlib 0.10.2) stand in for training processes: no JAX, a second."""

from __future__ import annotations

import subprocess
import sys

import pytest

from netspec.cli.supervise import _StderrWatch, explain_fatal, watch
from netspec.diagnostics import render
from netspec.spec.cluster import ClusterOptions

# What process 1 printed when process 0 was killed (tests/test_distributed.py does that for real).
COORDINATOR_GONE = """\
W1201 03:50:11.651651   10874 preemption_sync_manager.cc:147] Failed to retrieve preemption notice from \
coordination service: UNAVAILABLE: Socket closed
Additional GRPC error information from remote target coordination_service while calling \
/xla.coordination.CoordinationService/GetKeyValue:
:UNKNOWN:Error received from peer  {grpc_status:14, grpc_message:"Socket closed"}.
E1201 03:50:11.651752   10874 coordination_service_agent.cc:289] Polled an error from coordination service \
(this can be an error from this or another task).
F1201 03:50:11.651759   10874 client.h:80] Terminating process because the JAX distributed service detected \
fatal errors. absl::Status: UNAVAILABLE: Failed to send RPC to coordination service. Either the leader task \
was preempted/died/restarted unexpectedly or this task is experiencing network issues.
Additional GRPC error information from remote target coordination_service while calling \
/xla.coordination.CoordinationService/PollForError:
:UNKNOWN:Error received from peer  {grpc_message:"Socket closed", grpc_status:14}
*** Check failure stack trace: ***
    @     0x7f9f0f640634  absl::lts_20260107::log_internal::LogMessage::SendToLog()
"""
# What process 0 printed when process 1 had stopped sending heartbeats.
HEARTBEAT_LOST = """\
E1201 03:46:22.120391    8128 coordination_service_agent.cc:289] Polled an error from coordination service.
F1201 03:46:22.120632    8128 client.h:80] Terminating process because the JAX distributed service detected \
fatal errors. absl::Status: UNAVAILABLE: The following tasks are unhealthy (stopped sending heartbeats):
1
The tasks have crashed. Check the task logs for an earlier error.
*** Check failure stack trace: ***
"""
OPTIONS = ClusterOptions("10.0.0.1:1234", num_processes=2, process_id=1, heartbeat_timeout=10)


def replay(text: str, before: str = "", abort: bool = True) -> tuple[_StderrWatch, int]:
    """A child that prints ``before`` and then ``text`` on stderr and aborts, watched."""
    script = ("import os, sys; sys.stderr.write(sys.argv[1]); sys.stderr.flush(); sys.stderr.write(sys.argv[2]); "
              f"sys.stderr.flush(); {'os.abort()' if abort else 'sys.exit(1)'}")
    child = subprocess.Popen([sys.executable, "-c", script, before, text], stderr=subprocess.PIPE)
    watch = _StderrWatch(child)
    watch.run()
    return watch, child.wait()


def test_the_coordinators_end_is_explained_and_jaxs_output_dropped(capfd):
    watch, status = replay(COORDINATOR_GONE, before="[Gloo] Rank 1 is connected to 1 peer ranks.\n")
    passed_on = capfd.readouterr().err
    assert status < 0 and watch.fatal is not None and not watch.explained
    assert passed_on == "[Gloo] Rank 1 is connected to 1 peer ranks.\n"  # the child's own line, nothing of JAX's
    message = render([explain_fatal(watch.fatal, OPTIONS, "runs/big")])
    assert message == (
        "netspec: error: process 1 lost the run's coordinator, process 0 at 10.0.0.1:1234: process 0 ended or its "
        "host is unreachable, so process 1 stops too\n"
        "  hint: see process 0's log for why it ended; continue from the last checkpoint with "
        "`netspec train --resume runs/big` on every process")


def test_a_process_without_heartbeat_is_named(capfd):
    watch, _ = replay(HEARTBEAT_LOST)
    assert capfd.readouterr().err == ""
    diagnostic = explain_fatal(watch.fatal or b"", ClusterOptions("h:1", 3, 0, heartbeat_timeout=10), None)
    assert diagnostic.message == "process 1 stopped answering during training, so process 0 stops too " \
                                 "(no heartbeat for 10 s)"
    assert "netspec train --resume RUN" in (diagnostic.hint or "")


def test_the_childs_own_diagnostic_cut_by_the_fatal_is_kept_and_not_repeated(capfd):
    own = "netspec: error: process 1 stopped answering during training, so process 0 stops too"
    watch, _ = replay(HEARTBEAT_LOST, before=own)  # no newline: the fatal line lands in the middle
    assert capfd.readouterr().err == own + "\n"
    assert watch.explained  # so the supervisor adds nothing


def test_other_output_passes_unchanged(capfd):
    text = "netspec: error: data/x.npz: no such file\n  hint: check the path\n"
    watch, status = replay(text, abort=False)
    assert capfd.readouterr().err == text and watch.fatal is None and status == 1


@pytest.mark.parametrize("text, expected", [
    ("F1201 00:00:00.000000 1 client.h:80] x absl::Status: DEADLINE_EXCEEDED: Deadline Exceeded\n"
     "RPC: /xla.coordination.CoordinationService/RegisterTask\n",
     "process 1 could not join the run at 10.0.0.1:1234: DEADLINE_EXCEEDED: Deadline Exceeded RPC:"),
    ("F1201 00:00:00.000000 1 client.h:80] x absl::Status: INTERNAL: something new\n",
     "JAX's distributed runtime stopped process 1: INTERNAL: something new"),
])
def test_other_fatal_errors_are_reported_in_netspecs_words(text, expected):
    assert explain_fatal(text.encode(), OPTIONS, None).message.startswith(expected)


def test_process_0_does_not_lose_the_coordinator_it_runs():
    process_0 = ClusterOptions("10.0.0.1:1234", num_processes=2, process_id=0)
    message = explain_fatal(COORDINATOR_GONE.encode(), process_0, None).message
    assert message.startswith("JAX's distributed runtime stopped process 0: UNAVAILABLE: Failed to send RPC")


def test_the_public_jax_calls_that_name_lost_processes_exist():
    """netspec.train.multihost.lost_processes relies on these (public, but marked experimental by JAX)."""
    from jax.experimental import multihost_utils

    from netspec.train.multihost import lost_processes

    assert callable(multihost_utils.live_devices) and issubclass(multihost_utils.ProcessFailureError, Exception)
    assert lost_processes(1) == []  # one process, not distributed: nobody lost


def child(script: str) -> list[str]:
    return [sys.executable, "-c", script]


def test_the_watcher_ends_as_its_child_or_explains_why_not(capfd):
    assert watch(child("import sys; print('fine', file=sys.stderr); sys.exit(0)"), OPTIONS, None) == 0
    assert capfd.readouterr().err == "fine\n"
    assert watch(child("import sys; sys.exit(130)"), OPTIONS, None) == 130
    replayed = f"import os, sys; sys.stderr.write({COORDINATOR_GONE!r}); sys.stderr.flush(); os.abort()"
    assert watch(child(replayed), OPTIONS, "runs/big") == 1
    err = capfd.readouterr().err
    assert err.startswith("netspec: error: process 1 lost the run's coordinator") and "F1201" not in err
    assert watch(child("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"), OPTIONS, None) == 137
    assert "netspec: error: the training process was ended by SIGKILL" in capfd.readouterr().err
