"""Host.open_pty: an interactive command on a PTY, through the host's own connection,
failing only with PTY_CLOSED exceptions (no paramiko class leaves xenlab.remote)."""
from __future__ import annotations

import time

import paramiko
import pytest

from xenlab.live.console import ConsoleError, GuestConsole
from xenlab.errors import ReadOnlyViolation
from xenlab.inventory import HostSpec
from xenlab.remote import PTY_CLOSED, Host
from xenlab.remote.pty import LocalPty

from .test_remote import _Server, local, sshd  # noqa: F401, F811 (sshd: a fixture)


def ended(pty, within: float = 3.0) -> bool:
    deadline = time.monotonic() + within
    while not pty.exit_status_ready() and time.monotonic() < deadline:
        time.sleep(0.02)
    return pty.exit_status_ready()


def test_a_local_shell_on_a_pty_is_driven_like_a_guest_console():
    host, results = local()
    console = GuestConsole(host.open_pty("PS1='# ' sh -i"), "box1: sh", poll_s=0.01)
    try:
        console.wait_prompt(timeout=5)
        result = console.run("stty size; echo $TERM; false", timeout=5)
    finally:
        console.close()
    assert (result.status, result.output) == (1, "50 200\ndumb\n")
    assert results == []  # no Result: the console's reader keeps the transcript


def test_a_pty_whose_command_ended_reads_empty_then_fails_only_with_pty_closed():
    host, _ = local()
    pty = host.open_pty("echo bye")
    assert ended(pty)
    console = GuestConsole(pty, "box1: echo", poll_s=0.01)
    with pytest.raises(ConsoleError, match=r"^box1: echo: console closed while waiting for "
                                           r"shell prompt; last seen: 'bye\\r\\n"):
        console.wait_prompt(timeout=2)
    assert pty.recv(100) == b""
    pty.close()
    pty.close()  # hanging up twice is harmless
    with pytest.raises(PTY_CLOSED):
        pty.send(b"\r")


def test_closing_a_pty_ends_its_command():
    host, _ = local()
    pty = host.open_pty("sleep 30")
    started = time.monotonic()
    pty.close()
    assert pty.exit_status_ready() and time.monotonic() - started < 2


def test_a_pty_command_that_writes_is_refused_in_verify_mode(tmp_path):
    marker = tmp_path / "made"
    host, _ = local()
    with pytest.raises(ReadOnlyViolation, match=r"\(touch\); refused in verify mode"):
        host.open_pty(f"touch {marker}")
    assert not marker.exists()


def test_a_become_host_opens_its_pty_under_sudo_n():
    opened = []

    class Recording:
        def exec(self, command, stdin, timeout):
            opened.append((command, timeout))
            return 0, b"", b""

        def open_pty(self, command, timeout):
            opened.append((command, timeout))

    host = Host(HostSpec("h", "10.0.0.9", become_user="root"), transport=Recording())
    host.open_pty("xl console 'my guest'", timeout=4)
    assert opened == [("sudo -k -n -u root -- true", 30.0),
                      ("sudo -n -u root -- sh -c 'xl console '\"'\"'my guest'\"'\"''", 4)]


def test_a_pty_under_sudo_with_a_password_types_it_only_after_echo_is_off():
    """The PTY part of become with a password, on a real local PTY: the command line the
    host would run, with `sudo ...` standing for itself as `sh -c 'read pw; ...'`: what is
    tested is when the password is typed and that the transcript never shows it."""
    typed = []

    class LocalSudo:
        def exec(self, command, stdin, timeout):
            return (1, b"", b"sudo: a password is required") if "-n" in command else (0, b"", b"")

        def open_pty(self, command, timeout):
            assert "exec sudo -k -S -p '' -u root -- sh -c" in command
            fake = command.replace("exec sudo -k -S -p '' -u root -- sh -c",
                                   "read pw; test \"$pw\" = pw-1234 && echo pw-right; exec sh -c")
            typed.append(fake)
            return LocalPty(fake)

    host = Host(HostSpec("h", "10.0.0.9", become_user="root", become_password="pw-1234"),
                transport=LocalSudo())
    pty = host.open_pty("echo console-up; cat")
    seen = b""
    deadline = time.monotonic() + 10
    while b"console-up" not in seen and time.monotonic() < deadline:
        if pty.recv_ready():
            seen += pty.recv(4096)
        else:
            time.sleep(0.05)
    pty.close()
    assert b"console-up" in seen and b"pw-1234" not in seen  # not echoed ...
    assert b"pw-right" in seen  # ... but read by whoever reads stdin


def test_an_ssh_pty_runs_over_the_hosts_one_connection(sshd, monkeypatch):  # noqa: F811
    monkeypatch.setattr(_Server, "check_channel_pty_request", lambda *a: True, raising=False)
    host = Host(sshd.spec, host_key_checking=False)
    assert host.run("true").ok
    pty = host.open_pty("echo over ssh")
    assert ended(pty)
    seen = b""
    while pty.recv_ready():
        seen += pty.recv(100)
    pty.close()
    assert seen == b"over ssh\n"
    assert host.connections == len(sshd.sessions) == 1


def test_a_pty_the_server_refuses_is_a_connection_error_not_paramikos(sshd):  # noqa: F811
    host = Host(sshd.spec, host_key_checking=False)  # the test server grants no PTY
    with pytest.raises(ConnectionError) as caught:
        host.open_pty("echo never")
    assert str(caught.value).startswith(f"test1 (127.0.0.1:{sshd.port}): cannot open a PTY: ")
    assert not isinstance(caught.value, paramiko.SSHException)


def test_an_ssh_pty_whose_connection_died_fails_only_with_pty_closed(sshd, monkeypatch):  # noqa: F811
    monkeypatch.setattr(_Server, "check_channel_pty_request", lambda *a: True, raising=False)
    host = Host(sshd.spec, host_key_checking=False)
    pty = host.open_pty("sleep 30")
    for session in sshd.sessions:
        session.close()  # the host went away under the console
    with pytest.raises(PTY_CLOSED) as caught:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            pty.send(b"\r")
            time.sleep(0.05)
    assert not isinstance(caught.value, paramiko.SSHException)
    pty.close()
