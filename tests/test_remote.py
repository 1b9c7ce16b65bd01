"""xenlab.remote: quoting, deadlines, the read-only guard, evidence, secrets, SSH errors.

No network: commands run on this machine (LocalTransport), or over SSH to a
small paramiko server in this process, listening on 127.0.0.1.
"""
from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import paramiko
import pytest

from xenlab.errors import CommandFailed, CommandTimeout, HostUnreachable, ReadOnlyViolation
from xenlab.inventory import HostSpec
from xenlab.remote import Host, LocalTransport, Result
from xenlab.remote.transport import _warn_insecure

PASSWORD = "hunter2"
CLIENT_KEY = paramiko.ECDSAKey.generate()  # the lab's key, as a jump host accepts it


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
    """Password or CLIENT_KEY auth; exec runs the command here with sh, stdin and all;
    direct-tcpip (a client's jump through this host) connects to the destination asked."""

    def __init__(self, thawed: threading.Event, session: paramiko.Transport | None = None,
                 forwards: list | None = None) -> None:
        self.thawed = thawed
        self.session = session
        self.forwards = forwards if forwards is not None else []

    def get_allowed_auths(self, username):
        return "password,publickey"

    def check_auth_password(self, username, password):
        return paramiko.AUTH_SUCCESSFUL if password == PASSWORD else paramiko.AUTH_FAILED

    def check_auth_publickey(self, username, key):
        return paramiko.AUTH_SUCCESSFUL if key == CLIENT_KEY else paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        return paramiko.OPEN_SUCCEEDED

    def check_channel_direct_tcpip_request(self, chanid, origin, destination):
        self.forwards.append(destination)
        try:
            far = socket.create_connection(destination, timeout=5)
        except OSError:
            return paramiko.OPEN_FAILED_CONNECT_FAILED
        threading.Thread(target=_forward, args=(self.session, far), daemon=True).start()
        return paramiko.OPEN_SUCCEEDED

    def check_channel_exec_request(self, channel, command):
        if b"freeze" in command:  # a host that stops answering mid-run
            self.thawed.wait(10)
        run = _exec_status_first if b"status-first" in command else _exec
        threading.Thread(target=run, args=(channel, command.decode()), daemon=True).start()
        return True


def _forward(session: paramiko.Transport, far: socket.socket) -> None:
    """Pump a direct-tcpip channel (once accepted) and its TCP connection both ways."""
    chan = session.accept(5)
    if chan is None:
        far.close()
        return

    def pump(read, write):
        try:
            while data := read(65536):
                write(data)
        except (OSError, EOFError):
            pass
        finally:
            chan.close()
            far.close()
    threading.Thread(target=pump, args=(far.recv, chan.sendall), daemon=True).start()
    pump(chan.recv, far.sendall)


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
    forwards: list = []
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
                session.start_server(server=_Server(thawed, session, forwards))
            except (paramiko.SSHException, EOFError, OSError):
                pass

    threading.Thread(target=serve, daemon=True).start()
    port = listener.getsockname()[1]
    known_hosts = tmp_path / "known_hosts"
    entries = paramiko.HostKeys()
    entries.add(f"[127.0.0.1]:{port}", key.get_name(), key)
    entries.save(str(known_hosts))
    client_key = tmp_path / "id_lab"
    CLIENT_KEY.write_private_key_file(str(client_key))
    yield SimpleNamespace(port=port, known_hosts=known_hosts, sessions=sessions,
                          forwards=forwards, client_key=str(client_key),
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


def jumping(sshd, proxy_jump: str, port: int | None = None) -> Host:
    spec = replace(sshd.spec, port=port or sshd.port, proxy_jump=proxy_jump,
                   key_file=sshd.client_key)
    return Host(spec, known_hosts=str(sshd.known_hosts))


def test_a_jump_host_carries_the_connection_as_ssh_j_does(sshd):
    host = jumping(sshd, f"root@127.0.0.1:{sshd.port}")
    assert host.run("echo %s", "through").stdout == "through\n"
    assert host.run("true").ok
    # the jump host was asked once for the lab host's SSH port; one connection for the run
    assert sshd.forwards == [("127.0.0.1", sshd.port)]
    assert host.connections == 1


def test_jump_hosts_chain_first_hop_first(sshd):
    host = jumping(sshd, f"root@127.0.0.1:{sshd.port},127.0.0.1:{sshd.port}")
    assert host.run("echo two-hops").stdout == "two-hops\n"
    assert sshd.forwards == [("127.0.0.1", sshd.port)] * 2


@pytest.mark.parametrize("jump, port, cause", [
    ("root@127.0.0.1:1", None, "test1 (127.0.0.1:{port} via root@127.0.0.1:1): jump host "
                               "127.0.0.1 (127.0.0.1:1): connection refused"),
    ("root@127.0.0.1:{port}", 1, "test1 (127.0.0.1:1 via root@127.0.0.1:{port}): the jump host "
                                 "127.0.0.1:{port} could not connect to 127.0.0.1:1: connect failed"),
])
def test_a_jump_that_fails_says_which_leg_failed_in_one_line(sshd, jump, port, cause):
    host = jumping(sshd, jump.format(port=sshd.port), port)
    with pytest.raises(HostUnreachable) as caught:
        host.run("true")
    assert one_line(caught) == cause.format(port=sshd.port)


PUMP = """import socket, sys, threading
far = socket.create_connection((sys.argv[1], int(sys.argv[2])))
def back():
    while data := far.recv(65536):
        sys.stdout.buffer.write(data); sys.stdout.buffer.flush()
threading.Thread(target=back, daemon=True).start()
while data := sys.stdin.buffer.read1(65536):
    far.sendall(data)
"""


def test_a_proxy_command_carries_the_connection_with_its_tokens_expanded(sshd, tmp_path):
    pump = tmp_path / "pump.py"
    pump.write_text(PUMP)
    spec = replace(sshd.spec, proxy_command=f"{sys.executable} {pump} %h %p")
    host = Host(spec, known_hosts=str(sshd.known_hosts))
    assert host.run("echo proxied").stdout == "proxied\n"
    assert "via ProxyCommand" in spec.endpoint
    proxy = host._transport._client.get_transport().sock
    host.close()
    assert proxy.process.poll() is not None  # killed and reaped with the connection


def test_local_transport_is_chosen_by_the_address():
    assert isinstance(Host(HostSpec("x", "local"))._transport, LocalTransport)


class SudoHost:
    """A transport standing for a host whose sudo answers as `answers` says: what was sent
    is kept. Only the protocol between Host and sudo is tested here; sudo itself runs on
    the box (tests/test_remote_box.py)."""

    def __init__(self, needs_password: str | None = None) -> None:
        self.needs_password = needs_password
        self.sent: list[tuple[str, bytes | None]] = []

    def exec(self, command, stdin, timeout):
        self.sent.append((command, stdin))
        if command.startswith("sudo -k -n "):
            return (1, b"", b"sudo: a password is required\n") if self.needs_password else (
                0, b"", b"")
        if command.startswith("sudo -k -S ") and stdin.split(b"\n")[0] != (
                self.needs_password or "").encode():
            return 1, b"", b"sudo: 1 incorrect password attempt\n"
        return 0, b"ran\n", b""

    def open_pty(self, command, timeout):
        self.sent.append((command, None))

    def close(self):
        pass


def become_host(transport, user="root", password=None, mode="verify"):
    from xenlab.inventory import HostSpec
    from xenlab.remote import Host
    spec = HostSpec("h", "10.0.0.9", user="student", lab_ip="10.0.0.9", become_user=user,
                    become_password=password)
    return Host(spec, mode, transport=transport, recorder=recorded.append)


recorded: list = []


def test_become_without_a_password_runs_every_command_through_sudo_n():
    sudo = SudoHost()
    host = become_host(sudo)
    host.run("ls -- %s", "a b")
    host.run("true")
    assert sudo.sent == [("sudo -k -n -u root -- true", None),  # asked once, not per command
                         ("sudo -n -u root -- timeout -k 5 30 sh -c 'ls -- '\"'\"'a b'\"'\"''", None),
                         ("sudo -n -u root -- timeout -k 5 30 sh -c true", None)]


def test_become_with_a_password_gives_it_to_sudo_first_and_never_shows_it():
    recorded.clear()
    sudo = SudoHost(needs_password="s3cret-pw")
    host = become_host(sudo, user="xen", password="s3cret-pw", mode="build")
    host.change("cat > %s", "/tmp/f", input="data")
    (probe, _), (asked, secret), (command, stdin) = sudo.sent
    assert probe == "sudo -k -n -u xen -- true"
    assert (asked, secret) == ("sudo -k -S -p '' -u xen -- true", b"s3cret-pw\n")
    # -k: sudo asks every time, so the password line is never the command's input
    assert command == "sudo -k -S -p '' -u xen -- timeout -k 5 30 sh -c 'cat > /tmp/f'"
    assert stdin == b"s3cret-pw\ndata"
    assert "s3cret-pw" not in repr(recorded) and "s3cret-pw" not in repr(host)


@pytest.mark.parametrize("password, cause", [
    (None, "h (10.0.0.9:22): cannot become root with sudo as student: sudo: a password is "
           "required (set ansible_become_password, or give the user NOPASSWD in sudoers)"),
    ("wrong-pw", "h (10.0.0.9:22): cannot become root with sudo as student: sudo: 1 incorrect "
                 "password attempt"),
])
def test_sudo_that_refuses_is_one_line_and_the_host_is_gone(password, cause):
    from xenlab.errors import HostUnreachable
    host = become_host(SudoHost(needs_password="s3cret-pw"), password=password)
    with pytest.raises(HostUnreachable) as refused:
        host.run("ls")
    assert str(refused.value) == cause and refused.value.host == "h"
    assert host.gone == cause
    assert not [c for c, _ in host._transport.sent if "ls" in c]  # the command never ran


def test_a_long_command_and_a_long_wait_say_how_long_they_have_been_running(caplog,
                                                                               monkeypatch):
    import xenlab.wait

    monkeypatch.setattr(xenlab.wait, "PROGRESS_EVERY_S", 0.2)
    caplog.set_level(logging.INFO, logger="xenlab.progress")
    with xenlab.wait.ticking("test1: `sleep 1`", every=0.2):
        time.sleep(0.5)
    ticks = [r.getMessage() for r in caplog.records]
    # two ticks (at ~0.2 and ~0.4 s; later, and rounded up, on a loaded machine)
    assert len(ticks) >= 2 and all(re.fullmatch(r"test1: `sleep 1`: [01] s elapsed", t)
                                   for t in ticks), ticks
    caplog.clear()
    with pytest.raises(xenlab.wait.WaitTimeout):
        xenlab.wait.wait_for(lambda: (False, "no session"), timeout=0.5, interval=0.1,
                             what="test2: iSCSI session")
    assert any(m.startswith("test2: iSCSI session: waiting, 0 s of 0 s; last seen: no session")
               for m in (r.getMessage() for r in caplog.records)), caplog.records
