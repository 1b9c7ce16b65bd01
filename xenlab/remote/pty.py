"""A command on a pseudo-terminal: what drives an interactive program (`xl console`).

`Host.open_pty(command)` returns a `Pty`; which one depends on the transport:
an SSH channel with a PTY (ChannelPty, over the host's own connection) or a
PTY of this machine (LocalPty). Either way a dead session surfaces only as
OSError or EOFError (PTY_CLOSED): the transport's own exceptions (paramiko's)
become ConnectionError here, so callers need not know which transport it was.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
from typing import Protocol

from xenlab.errors import first_line

PTY_CLOSED = (OSError, EOFError)  # what a Pty raises when the session is gone
TERM = "dumb"  # no colours nor cursor moves to strip from what is read
WIDTH, HEIGHT = 200, 50  # wide enough that a typed line is not wrapped in the echo


class Pty(Protocol):
    """An interactive session: bytes typed in, bytes read back, no exit status to wait for.

    Every method raises only PTY_CLOSED exceptions when the session is gone.
    """

    def send(self, data: bytes) -> int:
        """Type `data`; returns how many bytes went."""

    def recv_ready(self) -> bool:
        """Whether recv() would return at once."""

    def recv(self, n: int) -> bytes:
        """Up to n bytes of output; b"" once the session has ended."""

    def exit_status_ready(self) -> bool:
        """Whether the command has ended."""

    def close(self) -> None:
        """Hang up: the command is ended with the session."""


class ChannelPty:
    """A transport's channel with a PTY, its exceptions of `errors` turned into
    ConnectionError so that none of the transport's own classes leaves xenlab.remote."""

    def __init__(self, channel, errors: tuple[type[BaseException], ...]) -> None:
        self._channel = channel
        self._errors = errors

    def _call(self, method: str, *args: object):
        try:
            return getattr(self._channel, method)(*args)
        except self._errors as exc:
            raise ConnectionError(first_line(str(exc)) or type(exc).__name__) from exc

    def send(self, data: bytes) -> int:
        return self._call("send", data)

    def recv_ready(self) -> bool:
        return self._call("recv_ready")

    def recv(self, n: int) -> bytes:
        return self._call("recv", n)

    def exit_status_ready(self) -> bool:
        return self._call("exit_status_ready")

    def close(self) -> None:
        self._call("close")


class LocalPty:
    """`sh -c command` on a PTY of this machine, in a session of its own (for local hosts
    and the project's tests). The PTY is not its controlling terminal: Ctrl-C typed in
    sends no signal, close() kills the session instead."""

    def __init__(self, command: str) -> None:
        master, slave = os.openpty()
        try:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", HEIGHT, WIDTH, 0, 0))
            self._proc = subprocess.Popen(["sh", "-c", command], stdin=slave, stdout=slave,
                                          stderr=slave, start_new_session=True,
                                          env={**os.environ, "TERM": TERM})
        except OSError:
            os.close(master)
            raise
        finally:
            os.close(slave)  # the child's copy only: its end reads EIO once the child is gone
        self._fd: int | None = master
        self._ended = False

    def _master(self) -> int:
        if self._fd is None:
            raise ConnectionError("the PTY is closed")
        return self._fd

    def send(self, data: bytes) -> int:
        return os.write(self._master(), data)

    def recv_ready(self) -> bool:
        return not self._ended and bool(select.select([self._master()], [], [], 0)[0])

    def recv(self, n: int) -> bytes:
        try:
            return os.read(self._master(), n)
        except OSError as exc:
            if exc.errno != errno.EIO:  # Linux's word for "no process has the PTY open"
                raise
            self._ended = True
            return b""

    def exit_status_ready(self) -> bool:
        return self._proc.poll() is not None

    def close(self) -> None:
        if self._fd is None:
            return
        os.close(self._fd)
        self._fd = None
        if self._proc.poll() is None:  # not reaped yet: its pid is still its group's id
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._proc.pid, signal.SIGKILL)
        self._proc.wait()
