"""xenlab.remote: quoting, deadlines, the read-only guard, evidence, secrets, SSH errors.

No network: commands run on this machine (LocalTransport), or over SSH to a
small paramiko server in this process, listening on 127.0.0.1.
"""
from __future__ import annotations

import logging
import socket
import subprocess
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest

from xenlab.errors import CommandFailed, CommandTimeout, HostUnreachable, ReadOnlyViolation
from xenlab.inventory import HostSpec
from xenlab.remote import Host, LocalTransport, Result
from xenlab.remote.transport import _warn_insecure

PASSWORD = "hunter2"


def local(mode: str = "verify", **kwargs) -> tuple[Host, list[Result]]:
    results: list[Result] = []
    host = Host(HostSpec("box1", "local", password=PASSWORD), mode, recorder=results.append,
                **kwargs)
    return host, results


def one_line(exc: pytest.ExceptionInfo) -> str:
    message = str(exc.value)
    assert "\n" not in message
    return message


def test_hostile_argument_arrives_as_one_literal_argument(tmp_path):
    victim = tmp_path / "x"
    victim.mkdir()
    hostile = f"a b; rm -rf {victim} $(touch {tmp_path}/y) '\"`"
    host, _ = local()
    result = host.run("printf '%%s|' %s %s", hostile, "c")
    assert result.stdout == f"{hostile}|c|"
    assert victim.exists() and not (tmp_path / "y").exists()


def test_a_template_without_args_is_left_alone():
    host, _ = local()
    assert host.run("printf '%s' 100%").stdout == "100%"


def test_every_command_is_wrapped_in_a_remote_deadline():
    sent = []

    class Fake:
        def exec(self, command, stdin, timeout):
            sent.append((command, stdin, timeout))
            return 0, b"", b""

        def close(self):
            pass

    Host(HostSpec("h", "10.0.0.1"), transport=Fake()).run("ls -- %s", "/a b", timeout=7)
    assert sent == [("timeout -k 5 7 sh -c 'ls -- '\"'\"'/a b'\"'\"''", None, 8.0)]


@pytest.mark.parametrize("command, last", [
    ("echo started; sleep 10", "started"),  # the remote timeout(1) ends it
    ("trap '' TERM; echo started; sleep 10", "started"),  # TERM ignored: the local deadline
])
def test_a_hung_command_times_out_quickly(command, last):
    host, results = local()
    started = time.monotonic()
    with pytest.raises(CommandTimeout) as caught:
        host.run(command, timeout=1)
    assert time.monotonic() - started < 3
    assert one_line(caught) == (f"box1: `{command}` did not finish within 1s; "
                                f"last output: {last}")
    assert results == [caught.value.result] and results[0].rc is None and not results[0].ok


def test_run_returns_a_failure_and_check_raises_it():
    host, results = local()
    assert host.run("echo out; echo 'no such thing' >&2; exit 3").rc == 3
    with pytest.raises(CommandFailed) as caught:
        host.check("echo out; echo 'no such thing' >&2; exit 3")
    assert one_line(caught).startswith("box1: `echo out; echo 'no such thing' >&2; exit 3` rc=3 ")
    assert one_line(caught).endswith(": no such thing")
    assert host.check("exit 21", ok=(0, 21)).ok
    assert [r.rc for r in results] == [3, 3, 21]


def test_change_in_verify_mode_sends_nothing(tmp_path):
    marker = tmp_path / "made"
    host, results = local("verify")
    with pytest.raises(ReadOnlyViolation) as caught:
        host.change("touch %s", marker)
    with pytest.raises(ReadOnlyViolation):
        host.write_file(str(marker), "data")
    assert not marker.exists() and results == []
    assert one_line(caught) == (f"box1: `touch {marker}` writes to the host; refused in "
                                "verify mode (writes need --lab-mode=build)")


def test_change_and_files_in_build_mode(tmp_path):
    path = tmp_path / "etc" / "busybox"
    path.parent.mkdir()
    host, results = local("build")
    host.write_file(str(path), "name = 'busybox'\n", mode=0o600)
    assert path.read_text() == "name = 'busybox'\n" and path.stat().st_mode & 0o777 == 0o600
    assert host.read_file(str(path)) == "name = 'busybox'\n"
    assert host.read_file(str(tmp_path / "missing")) is None
    assert host.change("touch %s", tmp_path / "made").ok and (tmp_path / "made").exists()
    assert [r.host for r in results] == ["box1"] * 4


def test_migrate_is_allowed_in_verify_mode():
    host, results = local("verify")
    assert host.migrate("echo moved").stdout == "moved\n"
    assert results[0].command == "echo moved"


def test_results_are_evidence(tmp_path):
    host, results = local()
    host.run("echo hello; echo warn >&2")
    (result,) = results
    assert (result.host, result.command, result.rc) == ("box1", "echo hello; echo warn >&2", 0)
    assert (result.stdout, result.stderr, result.ok) == ("hello\n", "warn\n", True)
    assert 0 <= result.duration_s < 2
    assert result.one_line().startswith("box1: `echo hello; echo warn >&2` rc=0 after ")


def test_password_never_appears():
    host, results = local()
    with pytest.raises(CommandFailed) as caught:
        host.check("echo %s; echo %s >&2; exit 1", PASSWORD, PASSWORD)
    with pytest.raises(ReadOnlyViolation) as refused:
        host.change("echo %s", PASSWORD)
    shown = [repr(host), str(host.spec), repr(host.spec), str(caught.value), str(refused.value),
             *(repr(r) for r in results)]
    assert not [s for s in shown if PASSWORD in s]
    assert results[0].stdout == "***\n"


def test_testinfra_host_for_the_same_machine():
    host, _ = local()
    assert host.testinfra.run("echo %s", "hi").stdout == "hi\n"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_host_is_one_line_and_fails_fast():
    port = closed_port()
    host = Host(HostSpec("test1", "127.0.0.1", port=port), connect_timeout=2)
    for _ in range(2):
        started = time.monotonic()
        with pytest.raises(HostUnreachable) as caught:
            host.run("true")
        assert time.monotonic() - started < 1
        assert one_line(caught) == f"test1 (127.0.0.1:{port}): connection refused"


def test_a_host_that_never_speaks_ssh_times_out(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        host = Host(HostSpec("test1", "127.0.0.1", port=port), connect_timeout=1)
        started = time.monotonic()
        with pytest.raises(HostUnreachable) as caught:
            host.run("true")
    assert time.monotonic() - started < 3
    assert one_line(caught) == f"test1 (127.0.0.1:{port}): no SSH answer within 1s"


class _Server(paramiko.ServerInterface):
    """Password auth; exec runs the command here with sh, stdin and all."""

    def __init__(self, thawed: threading.Event) -> None:
        self.thawed = thawed

    def get_allowed_auths(self, username):
        return "password"

    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL if password == PASSWORD else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        if b"freeze" in command:  # a host that stops answering mid-run
            self.thawed.wait(10)
        run = _exec_status_first if b"status-first" in command else _exec
        threading.Thread(target=run, args=(channel, command.decode()), daemon=True).start()
        return True


def _exec_status_first(chan: paramiko.Channel, command: str) -> None:
    """As OpenSSH may: the exit status first, the rest of the output after it, then EOF."""
    out = subprocess.run(["sh", "-c", command], capture_output=True).stdout
    chan.send_exit_status(0)
    for part in (out[:len(out) // 2], out[len(out) // 2:]):
        time.sleep(0.3)
        chan.sendall(part)
    chan.shutdown_write()
    chan.close()


def _exec(chan: paramiko.Channel, command: str) -> None:
    proc = subprocess.Popen(["sh", "-c", command], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed():
        while data := chan.recv(65536):
            proc.stdin.write(data)
        proc.stdin.close()

    threading.Thread(target=feed, daemon=True).start()
    out, err = proc.stdout.read(), proc.stderr.read()
    try:
        chan.sendall(out)
        chan.sendall_stderr(err)
        chan.send_exit_status(proc.wait())
        chan.close()
    except (OSError, EOFError, paramiko.SSHException):
        pass  # the client gave up (deadline): nothing to answer


@pytest.fixture
def sshd(tmp_path, monkeypatch):
    """An SSH server on 127.0.0.1; HOME is tmp_path, so ~/.ssh/known_hosts is ours."""
    monkeypatch.setenv("HOME", str(tmp_path))
    key = paramiko.ECDSAKey.generate()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    sessions: list[paramiko.Transport] = []
    thawed = threading.Event()

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            session = paramiko.Transport(conn)
            session.add_server_key(key)
            sessions.append(session)
            try:
                session.start_server(server=_Server(thawed))
            except (paramiko.SSHException, EOFError, OSError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    known_hosts = tmp_path / "known_hosts"
    entries = paramiko.HostKeys()
    entries.add(f"[127.0.0.1]:{port}", key.get_name(), key)
    entries.save(str(known_hosts))
    yield SimpleNamespace(port=port, known_hosts=known_hosts, sessions=sessions,
                          spec=HostSpec("test1", "127.0.0.1", port=port, password=PASSWORD))
    thawed.set()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    for session in sessions:
        session.close()


def test_ssh_with_the_labs_known_hosts_uses_one_connection(sshd):
    results = []
    host = Host(sshd.spec, "build", known_hosts=str(sshd.known_hosts), recorder=results.append)
    assert host.run("echo %s", "a b").stdout == "a b\n"
    assert host.run("exit 4").rc == 4
    host.write_file(str(Path(sshd.known_hosts).parent / "written"), "over ssh\n")
    assert host.read_file(str(Path(sshd.known_hosts).parent / "written")) == "over ssh\n"
    assert host.testinfra.run("echo via testinfra").stdout == "via testinfra\n"
    # one connection for all, and testinfra's command is evidence like the four others
    assert len(sshd.sessions) == 1 and len(results) == 5
    assert host.connections == 1  # what the run's summary reports, per host
    host.close()
    host.run("true")
    assert host.connections == len(sshd.sessions) == 2
    assert PASSWORD not in repr(results)


def test_output_sent_after_the_exit_status_is_read_to_the_end(sshd):
    host = Host(sshd.spec, host_key_checking=False)
    result = host.run("printf '%%s' status-first; seq 1 20000")
    assert result.rc == 0 and result.stdout.endswith("\n19999\n20000\n"), result.stdout[-80:]


def test_ssh_command_deadline(sshd):
    host = Host(sshd.spec, host_key_checking=False)
    host.run("true")  # connected: only the command's own time counts below
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"^test1: `trap '' TERM; sleep 10` did not finish"):
        host.run("trap '' TERM; sleep 10", timeout=1)
    assert time.monotonic() - started < 3
    assert host.run("echo still usable").stdout == "still usable\n"


def test_a_host_that_stops_answering_times_out(sshd):
    host = Host(sshd.spec, host_key_checking=False)
    host.run("true")
    started = time.monotonic()
    with pytest.raises(CommandTimeout, match=r"^test1: `echo freeze` did not finish within 1s"):
        host.run("echo freeze", timeout=1)
    assert time.monotonic() - started < 3


def test_unknown_host_key_is_refused(sshd):
    with pytest.raises(HostUnreachable) as caught:
        Host(sshd.spec).run("true")
    assert one_line(caught) == (f"test1 (127.0.0.1:{sshd.port}): unknown host key (not in "
                                "known_hosts; add it, or set xenlab_host_key_checking=false or "
                                "--ssh-insecure)")


def test_host_key_mismatch_is_refused(sshd):
    other = paramiko.HostKeys()
    other.add(f"[127.0.0.1]:{sshd.port}", "ecdsa-sha2-nistp256", paramiko.ECDSAKey.generate())
    other.save(str(sshd.known_hosts))
    with pytest.raises(HostUnreachable, match=r": host key mismatch: the host sent ecdsa"):
        Host(sshd.spec, known_hosts=str(sshd.known_hosts)).run("true")


def test_insecure_mode_accepts_any_key_writes_nothing_and_warns_once(sshd, tmp_path, caplog):
    _warn_insecure.cache_clear()
    before = sshd.known_hosts.read_text()
    for _ in range(2):
        host = Host(sshd.spec, known_hosts=str(sshd.known_hosts), host_key_checking=False)
        assert host.run("echo ok").stdout == "ok\n"
    assert sshd.known_hosts.read_text() == before
    assert not (tmp_path / ".ssh").exists()
    assert [r.getMessage() for r in caplog.records if r.name == "xenlab.remote"] == [
        "SSH host key checking is off: any host key is accepted (in memory only)"]


def test_host_key_checking_follows_the_inventory_var(sshd):
    spec = HostSpec("test1", "127.0.0.1", port=sshd.port, password=PASSWORD,
                    vars={"xenlab_known_hosts": str(sshd.known_hosts)})
    assert Host(spec).run("true").ok
    spec = HostSpec("test1", "127.0.0.1", port=sshd.port, password=PASSWORD,
                    vars={"xenlab_host_key_checking": "false"})
    assert Host(spec).run("true").ok


def test_wrong_password_is_an_auth_failure(sshd):
    spec = HostSpec("test1", "127.0.0.1", port=sshd.port, password="wrong")
    with pytest.raises(HostUnreachable) as caught:
        Host(spec, host_key_checking=False).run("true")
    assert one_line(caught) == (f"test1 (127.0.0.1:{sshd.port}): authentication failed "
                                "for user root")
    assert "wrong" not in str(caught.value)


def test_local_transport_is_chosen_by_the_address():
    assert isinstance(Host(HostSpec("x", "local"))._transport, LocalTransport)


def test_sudo_runs_every_command_through_sudo_n(tmp_path):
    seen = []

    class Recording:
        def exec(self, command, stdin, timeout):
            seen.append(command)
            return 0, b"", b""

        def close(self):
            pass

    from xenlab.inventory import HostSpec
    from xenlab.remote import Host
    host = Host(HostSpec("h", "10.0.0.9", lab_ip="10.0.0.9"), transport=Recording(), sudo=True)
    host.run("ls -- %s", "a b")
    assert seen == ["sudo -n timeout -k 5 30 sh -c 'ls -- '\"'\"'a b'\"'\"''"]


def test_a_long_command_and_a_long_wait_say_how_long_they_have_been_running(caplog,
                                                                               monkeypatch):
    import xenlab.wait

    monkeypatch.setattr(xenlab.wait, "PROGRESS_EVERY_S", 0.2)
    caplog.set_level(logging.INFO, logger="xenlab.progress")
    with xenlab.wait.ticking("test1: `sleep 1`", every=0.2):
        time.sleep(0.5)
    ticks = [r.getMessage() for r in caplog.records]
    assert ticks[:2] == ["test1: `sleep 1`: 0 s elapsed", "test1: `sleep 1`: 0 s elapsed"]
    caplog.clear()
    with pytest.raises(xenlab.wait.WaitTimeout):
        xenlab.wait.wait_for(lambda: (False, "no session"), timeout=0.5, interval=0.1,
                             what="test2: iSCSI session")
    assert any(m.startswith("test2: iSCSI session: waiting, 0 s of 0 s; last seen: no session")
               for m in (r.getMessage() for r in caplog.records)), caplog.records
