"""The one I/O boundary: shell commands on lab hosts.

`Host` runs commands on one inventory host through a `Transport` (SSH with
paramiko, or this machine with subprocess). Every command has a deadline,
every argument is shell-quoted, every write goes through `Host.change()` (refused
unless the run is in build mode), and every `Result` goes to the recorder.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from typing import Callable, Literal, Protocol

import paramiko

from xenlab.errors import (
    CommandFailed,
    CommandTimeout,
    HostUnreachable,
    ReadOnlyViolation,
    first_line,
)
from xenlab.inventory import HostSpec
from xenlab.readonly import writes
from xenlab.wait import ticking

log = logging.getLogger(__name__)
# paramiko logs a dead connection at ERROR, with its traceback, in every test's
# captured log; the HostUnreachable line already names the host and the cause.
logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)

Mode = Literal["verify", "build"]
Recorder = Callable[["Result"], None]
KILL_AFTER_S = 5  # the remote `timeout -k`: KILL this long after TERM
LOCAL_GRACE_S = 1.0  # the local deadline is timeout + this: a dead host fails there
KEEPALIVE_S = 15
TIMEOUT_RC = 124  # timeout(1)'s exit status when the deadline passed
MISSING_RC = 66  # read_file: the file does not exist
SHOWN_CHARS = 160  # of a command, in one-line messages


@dataclass(frozen=True)
class Result:
    """One command that ran on one host: the evidence a report shows."""

    host: str
    command: str
    rc: int | None  # None: no exit status, the deadline passed
    stdout: str
    stderr: str
    duration_s: float
    expected: tuple[int, ...] = (0,)  # the exit statuses the caller called fine

    @property
    def ok(self) -> bool:
        return self.rc in self.expected

    def one_line(self) -> str:
        status = "timed out" if self.rc is None else f"rc={self.rc}"
        seen = first_line(self.stderr) or first_line(self.stdout)
        return (f"{self.host}: `{_shown(self.command)}` {status} after {self.duration_s:.1f}s"
                + (f": {seen}" if seen else ""))


class Transport(Protocol):
    """Runs one `sh` command line somewhere."""

    def exec(self, command: str, stdin: bytes | None, timeout: float
             ) -> tuple[int | None, bytes, bytes]:
        """(rc, stdout, stderr); rc is None when it did not end within timeout (it is
        then abandoned). Raises HostUnreachable when there is no way to the host."""

    def close(self) -> None: ...


class LocalTransport:
    """This machine, through subprocess: the project's own tests and `local://` hosts."""

    def exec(self, command: str, stdin: bytes | None, timeout: float
             ) -> tuple[int | None, bytes, bytes]:
        proc = subprocess.Popen(["sh", "-c", command], start_new_session=True,
                                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(proc.pid)
            out, err = proc.communicate()
            return None, out, err
        return proc.returncode, out, err

    def close(self) -> None:
        pass


def _kill_session(sid: int) -> None:
    """SIGKILL every process of session sid (timeout(1) puts its child in a group of its own)."""
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.getsid(int(entry)) == sid:
                os.kill(int(entry), signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class ParamikoTransport:
    """One SSH connection, opened on first use and kept for every command.

    Host keys: RejectPolicy with the system known_hosts plus `known_hosts`
    (loaded in memory, never written back). With host_key_checking=False any
    key is accepted, in memory only, and a warning is logged once.
    A failed connect is remembered: later calls fail at once with the same error.
    """

    def __init__(self, spec: HostSpec, *, known_hosts: str | None = None,
                 host_key_checking: bool = True, connect_timeout: float = 10.0) -> None:
        self.spec = spec
        self.known_hosts = known_hosts
        self.host_key_checking = host_key_checking
        self.connect_timeout = connect_timeout
        self._client: paramiko.SSHClient | None = None
        self._failure: HostUnreachable | None = None
        self._lock = threading.Lock()
        self.connections = 0  # SSH connections opened (one per run is the goal)

    def client(self) -> paramiko.SSHClient:
        with self._lock:  # threads sharing this host share one connection
            if self._failure is not None:
                raise self._failure
            if self._client is not None and not self._client.get_transport().is_active():
                self._client.close()  # it died (e.g. the host rebooted): open a new one
                self._client = None
            if self._client is None:
                try:
                    self._client = self._connect()
                    self.connections += 1
                except HostUnreachable as exc:
                    self._failure = exc
                    raise
            return self._client

    def exec(self, command: str, stdin: bytes | None, timeout: float
             ) -> tuple[int | None, bytes, bytes]:
        out, err = bytearray(), bytearray()
        try:
            chan = self.client().get_transport().open_session(timeout=timeout)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            raise self._unreachable(f"cannot open a session: {_why(exc, self)}") from None
        expired = threading.Event()

        def expire() -> None:  # closing the channel also wakes exec_command and sendall
            expired.set()
            with contextlib.suppress(paramiko.SSHException, OSError, EOFError):
                chan.close()

        watchdog = threading.Timer(timeout, expire)
        watchdog.daemon = True  # a dead host must not keep the run from exiting
        watchdog.start()
        try:
            chan.exec_command(command)
            if stdin is not None:
                chan.sendall(stdin)
            chan.shutdown_write()
            # Read until EOF, not until the exit status: OpenSSH may send the status while
            # output is still on its way (seen as truncated `ip -j` JSON under load).
            while not (chan.eof_received or chan.closed):
                select.select([chan], [], [])
                _drain(chan, out, err)
            chan.status_event.wait()  # set on exit status or close
            _drain(chan, out, err)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            if not expired.is_set():
                raise self._unreachable(f"connection lost: {_why(exc, self)}") from None
        finally:
            watchdog.cancel()
            chan.close()
        if expired.is_set():
            return None, bytes(out), bytes(err)
        if chan.exit_status == -1 and not chan.get_transport().is_active():
            raise self._unreachable("connection lost")
        return chan.exit_status, bytes(out), bytes(err)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._failure = None

    def _connect(self) -> paramiko.SSHClient:
        spec, wait = self.spec, self.connect_timeout
        client = paramiko.SSHClient()
        if self.host_key_checking:
            client.load_system_host_keys()
            if self.known_hosts:
                path = os.path.expanduser(self.known_hosts)
                if not os.path.isfile(path):
                    raise self._unreachable(f"known_hosts file {path} does not exist")
                client.get_host_keys().load(path)  # not load_host_keys(): never saved
            client.set_missing_host_key_policy(paramiko.RejectPolicy())
        else:
            _warn_insecure()
            client.set_missing_host_key_policy(paramiko.AutoAddPolicy())  # no file: in memory
        legacy = spec.vars.get("xenlab_ssh_legacy_rsa", "false").lower() == "true"
        try:
            client.connect(
                spec.address, port=spec.port, username=spec.user, password=spec.password,
                key_filename=spec.key_file, look_for_keys=spec.key_file is None,
                timeout=wait, banner_timeout=wait, auth_timeout=wait,
                # OpenSSH 5.3 (CentOS 6) rejects rsa-sha2 signatures
                disabled_algorithms={"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]} if legacy else None)
        except (paramiko.SSHException, OSError, EOFError) as exc:
            client.close()
            raise self._unreachable(_why(exc, self)) from None
        client.get_transport().set_keepalive(KEEPALIVE_S)
        return client

    def _unreachable(self, why: str) -> HostUnreachable:
        return HostUnreachable(f"{self.spec.name} ({self.spec.endpoint}): {why}", self.spec.name)


_NO_HANDSHAKE = ("Error reading SSH protocol banner", "No existing session")


def _drain(chan: paramiko.Channel, out: bytearray, err: bytearray) -> None:
    while chan.recv_ready():
        out += chan.recv(65536)
    while chan.recv_stderr_ready():
        err += chan.recv_stderr(65536)


def _why(exc: BaseException, transport: ParamikoTransport) -> str:
    """The cause of a connection failure, in a few words."""
    spec = transport.spec
    if isinstance(exc, paramiko.BadHostKeyException):
        return (f"host key mismatch: the host sent {exc.key.get_name()} "
                f"{exc.key.get_fingerprint().hex()}, known_hosts holds another key")
    if isinstance(exc, paramiko.AuthenticationException):
        return f"authentication failed for user {spec.user}"
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError):
        causes = {_why(e, transport) for e in exc.errors.values()}
        return " / ".join(sorted(causes))
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve {spec.address}: {exc.strerror}"
    # paramiko 5 reports a silent server as "No existing session" (banner timeout first)
    if isinstance(exc, TimeoutError) or str(exc) in _NO_HANDSHAKE:
        return f"no SSH answer within {transport.connect_timeout:g}s"
    if isinstance(exc, paramiko.SSHException) and "known_hosts" in str(exc):
        where = f"known_hosts or {transport.known_hosts}" if transport.known_hosts else "known_hosts"
        return (f"unknown host key (not in {where}; add it, or set "
                f"xenlab_host_key_checking=false or --ssh-insecure)")
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return first_line(str(exc)) or type(exc).__name__


@functools.cache
def _warn_insecure() -> None:
    log.warning("SSH host key checking is off: any host key is accepted (in memory only)")


def transport_for(spec: HostSpec, *, known_hosts: str | None = None,
                  host_key_checking: bool = True, connect_timeout: float = 10.0) -> Transport:
    if spec.is_local:
        return LocalTransport()
    return ParamikoTransport(spec, known_hosts=known_hosts, host_key_checking=host_key_checking,
                             connect_timeout=connect_timeout)


class Host:
    """One lab host for the whole run: run/check read, change writes, migrate moves the guest.

    known_hosts / host_key_checking default to the inventory vars
    xenlab_known_hosts / xenlab_host_key_checking of the spec.
    """

    def __init__(self, spec: HostSpec, mode: Mode = "verify", known_hosts: str | None = None,
                 host_key_checking: bool | None = None, connect_timeout: float = 10.0,
                 recorder: Recorder | None = None, transport: Transport | None = None,
                 sudo: bool = False) -> None:
        if mode not in ("verify", "build"):
            raise ValueError(f"mode must be verify or build, not {mode!r}")
        self.spec = spec
        self.mode = mode
        self.sudo = sudo  # testinfra's --sudo: every command through `sudo -n` (no password prompt)
        self._recorder = recorder
        self.gone: str | None = None  # why the host stopped answering (unreachable, timed out)
        self._transport = transport or transport_for(
            spec, known_hosts=known_hosts or spec.known_hosts,
            host_key_checking=spec.host_key_checking if host_key_checking is None
            else host_key_checking,
            connect_timeout=connect_timeout)

    def __repr__(self) -> str:
        return f"Host({self.spec!r}, mode={self.mode!r})"

    @property
    def name(self) -> str:
        return self.spec.name

    def run(self, command: str, *args: object, timeout: float = 30.0,
            ok: tuple[int, ...] = (0,), input: str | bytes | None = None) -> Result:
        """Run `command` with each %s replaced by the next arg, shell-quoted.

        A non-zero rc is returned, not raised; a passed deadline raises CommandTimeout.
        """
        line = _render(command, args)
        if self.mode == "verify":
            self._refuse_if_writes(line)
        return self._send(line, timeout, ok, input)

    def _refuse_if_writes(self, line: str) -> None:
        writer = writes(line)
        if writer is not None:
            raise ReadOnlyViolation(
                f"{self.name}: `{_shown(self._redact(line))}` writes to the host ({writer}); "
                f"refused in {self.mode} mode (writes need --lab-mode=build)")

    def _send(self, line: str, timeout: float, ok: tuple[int, ...],
              input: str | bytes | None) -> Result:
        wrapped = f"timeout -k {KILL_AFTER_S} {timeout:g} sh -c {shlex.quote(line)}"
        if self.sudo:
            wrapped = f"sudo -n {wrapped}"
        stdin = input.encode() if isinstance(input, str) else input
        started = time.monotonic()
        try:
            with ticking(f"{self.name}: `{_shown(self._redact(line))}`"):
                rc, out, err = self._transport.exec(wrapped, stdin, timeout + LOCAL_GRACE_S)
        except HostUnreachable as exc:
            self.gone = str(exc)
            raise
        duration = time.monotonic() - started
        timed_out = rc is None or (rc == TIMEOUT_RC and duration >= timeout)
        if rc is None:
            self.gone = f"no answer within {timeout:g}s"
        result = Result(self.name, self._redact(line), None if timed_out else rc,
                        self._redact(out.decode(errors="replace")),
                        self._redact(err.decode(errors="replace")),
                        round(duration, 3), tuple(ok))
        if self._recorder is not None:
            self._recorder(result)
        if timed_out:
            last = (result.stdout + result.stderr).strip().splitlines()
            raise CommandTimeout(f"{self.name}: `{_shown(result.command)}` did not finish within "
                                 f"{timeout:g}s; last output: {last[-1] if last else 'none'}",
                                 result)
        return result

    def check(self, command: str, *args: object, timeout: float = 30.0,
              ok: tuple[int, ...] = (0,), input: str | bytes | None = None) -> Result:
        """run(), and raise CommandFailed when rc is not in ok."""
        return _checked(self.run(command, *args, timeout=timeout, ok=ok, input=input))

    def change(self, command: str, *args: object, **kwargs) -> Result:
        """check() for a command that writes: refused (nothing sent) unless in build mode."""
        if self.mode != "build":
            raise ReadOnlyViolation(
                f"{self.name}: `{_shown(self._redact(_render(command, args)))}` writes to the "
                f"host; refused in {self.mode} mode (writes need --lab-mode=build)", self.name)
        return self._unguarded(command, args, **kwargs)

    def migrate(self, command: str, *args: object, **kwargs) -> Result:
        """check() for the lab's live migration: the one write allowed in verify mode
        (`xl migrate`, and the probe around it); it bypasses the read-only guard."""
        return self._unguarded(command, args, **kwargs)

    def _unguarded(self, command: str, args: tuple[object, ...], timeout: float = 30.0,
                   ok: tuple[int, ...] = (0,), input: str | bytes | None = None) -> Result:
        return _checked(self._send(_render(command, args), timeout, tuple(ok), input))

    def read_file(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        result = self.check("test -e %s || exit %s; cat -- %s", path, MISSING_RC, path,
                            ok=(0, MISSING_RC))
        return None if result.rc == MISSING_RC else result.stdout

    def write_file(self, path: str, content: str | bytes, mode: int = 0o644) -> Result:
        return self.change("cat > %s && chmod %s %s", path, format(mode, "o"), path,
                           input=content)

    @functools.cached_property
    def testinfra(self):
        """A testinfra host for the same machine, over this Host's own SSH connection.

        For the few resources where testinfra's modules help; its commands have
        no deadline and are not recorded: the main path is run/check.
        """
        import testinfra
        from testinfra.backend import get_backend

        if isinstance(self._transport, LocalTransport):
            host = testinfra.get_host("local://")
            backend = host.backend
        elif isinstance(self._transport, ParamikoTransport):
            address = f"[{self.spec.address}]" if ":" in self.spec.address else self.spec.address
            backend = get_backend(f"paramiko://{self.spec.user}@{address}:{self.spec.port}")
            backend.client = self._transport.client()  # same host-key policy, one connection
            host = testinfra.host.Host(backend)
            backend.set_host(host)
        else:
            raise TypeError(f"{self.name}: no testinfra host for {type(self._transport).__name__}")
        if self.mode == "verify":  # the same read-only guard as run()
            unguarded = backend.run

            def guarded(command: str, *args: object, **kwargs):
                self._refuse_if_writes(backend.get_command(command, *args))
                return unguarded(command, *args, **kwargs)
            backend.run = guarded
        return host

    @property
    def connections(self) -> int:
        """SSH connections this Host opened so far (0 for a local one)."""
        return getattr(self._transport, "connections", 0)

    def close(self) -> None:
        """Close the connection; the next command connects again."""
        self._transport.close()

    def _redact(self, text: str) -> str:
        for secret in self.spec.secrets:
            text = text.replace(secret, "***")
        return text


def _checked(result: Result) -> Result:
    if not result.ok:
        raise CommandFailed(result.one_line(), result)
    return result


def _render(template: str, args: tuple[object, ...]) -> str:
    return template % tuple(shlex.quote(str(a)) for a in args) if args else template


def _shown(command: str) -> str:
    line = " ".join(command.split())
    return line if len(line) <= SHOWN_CHARS else line[:SHOWN_CHARS - 3] + "..."
