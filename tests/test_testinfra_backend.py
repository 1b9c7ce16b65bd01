"""xenlab.remote.testinfra: testinfra's modules answered through our Host.run().

One command path for all: testinfra's commands are recorded with their rc,
redacted, guarded in verify mode and held to our deadline, like our own.
"""
from __future__ import annotations

import shutil
import socket
import time

import pytest

from xenlab.errors import CommandTimeout, ReadOnlyViolation
from xenlab.inventory import HostSpec
from xenlab.remote import Host, Result
from xenlab.remote.testinfra import XenlabBackend

from .test_remote import PASSWORD, local


@pytest.fixture
def answered(monkeypatch):
    """What testinfra got back from the backend, command by command: (rc, command)."""
    seen: list[tuple[int, str]] = []
    result = XenlabBackend.result

    def spy(self, rc, cmd, stdout, stderr):
        seen.append((rc, cmd.decode()))
        return result(self, rc, cmd, stdout, stderr)
    monkeypatch.setattr(XenlabBackend, "result", spy)
    return seen


def test_the_hosts_testinfra_host_is_ours_and_made_once():
    host, _ = local()
    tested = host.testinfra
    assert tested is host.testinfra
    assert isinstance(tested.backend, XenlabBackend) and tested.backend.host is host
    assert tested.backend.get_pytest_id() == "xenlab://box1"
    assert (tested.backend.timeout, tested.backend.sudo) == (30.0, False)


def test_modules_answer_through_host_run_and_every_command_is_evidence(answered):
    host, results = local()
    tested = host.testinfra
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert tested.socket(f"tcp://127.0.0.1:{port}").is_listening
    assert tested.file("/etc").is_directory
    assert not tested.file("/xenlab/no/such/file").exists
    assert tested.mount_point("/proc").filesystem == "proc"
    assert tested.user("root").uid == 0
    assert tested.interface("lo").exists
    assert not tested.service("xenlab-no-such-service").exists
    if shutil.which("dpkg-query"):
        assert not tested.package("xenlab-no-such-package").is_installed
    assert [(r.rc, r.command) for r in results] == answered
    assert len(results) >= 7 and {r.host for r in results} == {"box1"}
    assert any(r.rc != 0 for r in results)  # a non-zero rc is an answer, not an error


def test_a_non_zero_rc_is_returned_as_testinfra_expects():
    host, results = local()
    assert host.testinfra.run_expect([3], "exit 3").rc == 3
    assert results[-1].rc == 3 and not results[-1].ok


def test_a_write_through_testinfra_is_refused_in_verify_mode_before_anything_runs(tmp_path):
    marker = tmp_path / "made"
    host, results = local()
    for command in ("touch %s", "echo x > %s", "rm -f %s"):
        with pytest.raises(ReadOnlyViolation, match=r"refused in verify mode") as refused:
            host.testinfra.run(command, str(marker))
        assert refused.value.host == "box1"
    assert not marker.exists() and results == []
    build, _ = local("build")
    build.testinfra.run("touch %s", str(marker))
    assert marker.exists()


def test_testinfra_commands_keep_our_deadline():
    host, results = local()
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"^box1: `sleep 5` did not finish within 0.5s"):
        host.testinfra.run("sleep 5", timeout=0.5)
    assert time.monotonic() - started < 3
    with pytest.raises(CommandTimeout, match=r"did not finish within 0.5s"):
        XenlabBackend(host, timeout=0.5).run("sleep 5")  # a backend's own default
    assert [r.rc for r in results] == [None, None]  # both recorded, as timed out


def test_secrets_are_redacted_in_what_testinfra_records_and_returns():
    results: list[Result] = []
    spec = HostSpec("box1", "local", password=PASSWORD,
                    vars={"xenlab_chap_password": "chap-s3cret"})
    host = Host(spec, recorder=results.append)
    out = host.testinfra.run("echo %s %s; echo %s >&2", PASSWORD, "chap-s3cret", PASSWORD)
    assert (out.stdout, out.stderr) == ("*** ***\n", "***\n")
    assert results[0].command == "echo *** ***; echo *** >&2"
    assert PASSWORD not in repr(results) and "chap-s3cret" not in repr(results)


def test_sudo_is_ours_and_only_once():
    sent = []

    class Recording:
        def exec(self, command, stdin, timeout):
            sent.append(command)
            return 0, b"", b""

    host = Host(HostSpec("h", "10.0.0.9", become_user="root"), transport=Recording())
    host.testinfra.run("ls -- %s", "a b")
    assert sent == ["sudo -k -n -u root -- true",
                    "sudo -n -u root -- timeout -k 5 30 sh -c 'ls -- '\"'\"'a b'\"'\"''"]
