"""Transports: how one `sh` command line reaches a lab host, and the words for why it did not.

Two ways: SSH with paramiko (one connection per host, kept for the whole run)
or this machine with subprocess (the project's tests and `local` hosts). This
is the one module of xenlab that talks paramiko; nothing outside xenlab.remote
sees a paramiko object or exception.
"""
from __future__ import annotations

import contextlib
import functools
import logging
import os
import select
import signal
import socket
import subprocess
import threading
import time
from typing import Protocol

import paramiko

from xenlab.errors import HostUnreachable, first_line
from xenlab.inventory import HostSpec, jump_hops
from xenlab.remote.pty import HEIGHT, TERM, WIDTH, ChannelPty, LocalPty, Pty

# The logger keeps the name it had before xenlab.remote became a package:
# it is the name a user filters the host-key warning by.
log = logging.getLogger("xenlab.remote")
# paramiko logs a dead connection at ERROR, with its traceback, in every test's
# captured log; the HostUnreachable line already names the host and the cause.
logging.getLogger("paramiko.transport").setLevel(logging.CRITICAL)

KEEPALIVE_S = 15
# What a broken SSH session raises: OSError covers the socket's errors.
_SSH_ERRORS = (paramiko.SSHException, OSError, EOFError)


class Transport(Protocol):
    """Runs one `sh` command line somewhere."""

    def exec(self, command: str, stdin: bytes | None, timeout: float
             ) -> tuple[int | None, bytes, bytes]:
        """(rc, stdout, stderr); rc is None when it did not end within timeout (it is
        then abandoned). Raises HostUnreachable when there is no way to the host.

        A transport that streams also takes `stamps`, a list it appends (time.time(),
        "out" or "err", bytes) to as output arrives (timed_lines() makes lines of them)."""

    def open_pty(self, command: str, timeout: float) -> Pty:
        """`command` on a PTY, started; ConnectionError when no PTY session opens within
        timeout, HostUnreachable when there is no way to the host."""

    def close(self) -> None: ...


class LocalTransport:
    """This machine, through subprocess: the project's own tests and `local://` hosts."""

    def exec(self, command: str, stdin: bytes | None, timeout: float,
             stamps: list[tuple[float, str, bytes]] | None = None
             ) -> tuple[int | None, bytes, bytes]:
        """Not streamed: `stamps` gets the whole output at its end."""
        proc = subprocess.Popen(["sh", "-c", command], start_new_session=True,
                                stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_session(proc.pid)
            out, err = proc.communicate()
            return None, out, err
        if stamps is not None:
            stamps += [(time.time(), "out", out), (time.time(), "err", err)]
        return proc.returncode, out, err

    def open_pty(self, command: str, timeout: float) -> Pty:
        return LocalPty(command)  # a local spawn does not wait: nothing to time out

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

    `via`: the jump host's transport (ProxyJump): the connection is a `direct-tcpip`
    channel of the jump host's connection, as `ssh -J` makes it. Otherwise a
    ProxyCommand of the spec, or a TCP connection of our own.
    """

    def __init__(self, spec: HostSpec, *, known_hosts: str | None = None,
                 host_key_checking: bool = True, connect_timeout: float = 10.0,
                 via: ParamikoTransport | None = None) -> None:
        self.spec = spec
        self.via = via
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

    def exec(self, command: str, stdin: bytes | None, timeout: float,
             stamps: list[tuple[float, str, bytes]] | None = None
             ) -> tuple[int | None, bytes, bytes]:
        out, err = bytearray(), bytearray()
        try:
            chan = self.client().get_transport().open_session(timeout=timeout)
        except _SSH_ERRORS as exc:
            raise self._unreachable(f"cannot open a session: {_why(exc, self)}") from None
        expired = threading.Event()

        def expire() -> None:  # closing the channel also wakes exec_command and sendall
            expired.set()
            with contextlib.suppress(*_SSH_ERRORS):
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
                _drain(chan, out, err, stamps)
            chan.status_event.wait()  # set on exit status or close
            _drain(chan, out, err, stamps)
        except _SSH_ERRORS as exc:
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

    def open_pty(self, command: str, timeout: float) -> Pty:
        """A session of the host's own connection with a PTY, `command` started in it."""
        try:
            chan = self.client().get_transport().open_session(timeout=timeout)
        except _SSH_ERRORS as exc:
            raise self._pty_refused(exc) from None
        try:
            chan.get_pty(term=TERM, width=WIDTH, height=HEIGHT)
            chan.exec_command(command)
        except _SSH_ERRORS as exc:
            chan.close()
            raise self._pty_refused(exc) from None
        return ChannelPty(chan, _SSH_ERRORS)

    def _pty_refused(self, exc: BaseException) -> ConnectionError:
        return ConnectionError(f"{self.spec.name} ({self.spec.endpoint}): cannot open a PTY: "
                               f"{_why(exc, self)}")

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        self._client = None
        self._failure = None
        if self.via is not None:
            self.via.close()

    def _sock(self):
        """What the SSH session runs over: None (a TCP connection of paramiko's own), a
        channel through the jump host, or the ProxyCommand's pipes."""
        spec, wait = self.spec, self.connect_timeout
        if self.via is not None:
            try:
                jump = self.via.client().get_transport()
            except HostUnreachable as exc:
                raise self._unreachable(str(exc)) from None
            try:
                return jump.open_channel("direct-tcpip", (spec.address, spec.port),
                                         ("127.0.0.1", 0), timeout=wait)
            except _SSH_ERRORS as exc:
                raise self._unreachable(
                    f"the jump host {self.via.spec.address}:{self.via.spec.port} could not "
                    f"connect to {spec.address}:{spec.port}: {_why(exc, self)}") from None
        if spec.proxy_command:
            command = (spec.proxy_command.replace("%h", spec.address)
                       .replace("%p", str(spec.port)).replace("%r", spec.user)
                       .replace("%%", "%"))
            try:
                return _ProxyCommand(command)
            except _SSH_ERRORS as exc:
                raise self._unreachable(f"ProxyCommand failed: {_why(exc, self)}") from None
        return None

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
        sock = self._sock()
        try:
            client.connect(
                spec.address, port=spec.port, username=spec.user, password=spec.password,
                key_filename=spec.key_file, look_for_keys=spec.key_file is None,
                timeout=wait, banner_timeout=wait, auth_timeout=wait, sock=sock,
                # OpenSSH 5.3 (CentOS 6) rejects rsa-sha2 signatures
                disabled_algorithms={"pubkeys": ["rsa-sha2-512", "rsa-sha2-256"]} if legacy else None)
        except _SSH_ERRORS as exc:
            client.close()
            raise self._unreachable(_why(exc, self)) from None
        client.get_transport().set_keepalive(KEEPALIVE_S)
        return client

    def _unreachable(self, why: str) -> HostUnreachable:
        return HostUnreachable(f"{self.spec.name} ({self.spec.endpoint}): {why}", self.spec.name)


class _ProxyCommand(paramiko.ProxyCommand):
    """paramiko's ProxyCommand, whose process is also reaped when closed (paramiko only
    signals it)."""

    def close(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)


_NO_HANDSHAKE = ("Error reading SSH protocol banner", "No existing session")


def _drain(chan: paramiko.Channel, out: bytearray, err: bytearray,
           stamps: list[tuple[float, str, bytes]] | None = None) -> None:
    while chan.recv_ready():
        chunk = chan.recv(65536)
        out += chunk
        if stamps is not None:
            stamps.append((time.time(), "out", chunk))
    while chan.recv_stderr_ready():
        chunk = chan.recv_stderr(65536)
        err += chunk
        if stamps is not None:
            stamps.append((time.time(), "err", chunk))


def timed_lines(stamps: list[tuple[float, str, bytes]]) -> list[tuple[float, str]]:
    """The lines of streamed output, each with the time its last byte arrived, in order of
    arrival (stdout's and stderr's interleaved as they came)."""
    pending = {"out": b"", "err": b""}
    lines = []
    for t, stream, chunk in stamps:
        *complete, pending[stream] = (pending[stream] + chunk).split(b"\n")
        lines += [(t, line.decode(errors="replace").rstrip("\r")) for line in complete]
    last = stamps[-1][0] if stamps else 0.0
    lines += [(last, rest.decode(errors="replace")) for rest in pending.values() if rest]
    return sorted(lines, key=lambda item: item[0])


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
    if isinstance(exc, paramiko.ChannelException):  # a jump host's direct-tcpip refused
        return {1: "administratively prohibited (AllowTcpForwarding no?)",
                2: "connect failed", 3: "unknown channel type",
                4: "resource shortage"}.get(exc.code, exc.text or f"code {exc.code}")
    if isinstance(exc, paramiko.ProxyCommandFailure):
        return f"ProxyCommand failed: {first_line(exc.error) or exc.command}"
    return first_line(str(exc)) or type(exc).__name__


@functools.cache
def _warn_insecure() -> None:
    log.warning("SSH host key checking is off: any host key is accepted (in memory only)")


def transport_for(spec: HostSpec, *, known_hosts: str | None = None,
                  host_key_checking: bool = True, connect_timeout: float = 10.0) -> Transport:
    if spec.is_local:
        return LocalTransport()
    via = None
    for hop in jump_hops(spec.proxy_jump) if spec.proxy_jump else ():
        via = ParamikoTransport(jump_spec(spec, hop, via), known_hosts=known_hosts,
                                host_key_checking=host_key_checking,
                                connect_timeout=connect_timeout, via=via)
    return ParamikoTransport(spec, known_hosts=known_hosts, host_key_checking=host_key_checking,
                             connect_timeout=connect_timeout, via=via)


def jump_spec(spec: HostSpec, hop, before) -> HostSpec:
    """A jump host of `spec` as a host to connect to: its user from the ProxyJump entry,
    else the lab host's (ssh would take the local user: Ansible users write user@); the
    lab host's key file and known_hosts (one key for the lab, as with `ssh -i KEY -J`).
    Its own ProxyJump is the hops before it."""
    return HostSpec(name=f"jump host {hop.host}", address=hop.host, port=hop.port,
                    user=hop.user or spec.user, key_file=spec.key_file,
                    vars=spec.vars, proxy_jump=before.spec.endpoint if before else None)
