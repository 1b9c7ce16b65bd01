"""The guest's console, driven the way the article does it: `xl console` / `xm console` on a PTY.

Commands typed into the guest's shell are framed by markers whose echo differs
from their output (`echo XL""END$?` echoes as typed but prints `XLEND0`), so
the exit status and output of each command are read back exactly.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass

from xenlab.remote.pty import Pty

ESCAPE = "\x1d"  # Ctrl-]: leaves xl/xm console
_MARK = 'echo XL""END$?'
_END = re.compile(r"XLEND(\d+)\r?\n")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class ConsoleError(Exception):
    """The guest's console did not answer as expected (one line, with what was seen)."""


@dataclass(frozen=True)
class ConsoleResult:
    command: str
    status: int
    output: str


class GuestConsole:
    def __init__(self, channel: Pty, where: str, poll_s: float = 0.05) -> None:
        self.channel = channel
        self.where = where
        self.poll_s = poll_s
        self.transcript = ""

    def _read_until(self, pattern: re.Pattern, start: int, timeout: float, what: str) -> re.Match:
        deadline = time.monotonic() + timeout
        while True:
            match = pattern.search(self.transcript, start)
            if match:
                return match
            if self.channel.exit_status_ready() and not self.channel.recv_ready():
                raise ConsoleError(f"{self.where}: console closed while waiting for {what}; "
                                   f"last seen: {self._tail()!r}")
            if time.monotonic() > deadline:
                raise ConsoleError(f"{self.where}: no {what} on the guest console within "
                                   f"{timeout:.0f} s; last seen: {self._tail()!r}")
            if self.channel.recv_ready():
                self.transcript += _ANSI.sub("", self.channel.recv(65536).decode("utf-8", "replace"))
            else:
                time.sleep(self.poll_s)

    def _tail(self) -> str:
        return self.transcript[-160:]

    def wait_prompt(self, timeout: float = 60.0) -> None:
        """Wake the shell up (Enter) until it prints a prompt."""
        start = len(self.transcript)
        self.channel.send(b"\r")
        self._read_until(re.compile(r"[#$] $", re.M), start, timeout, "shell prompt")

    def run(self, command: str, timeout: float = 30.0) -> ConsoleResult:
        start = len(self.transcript)
        self.channel.send(f'{command}; {_MARK}\r'.encode())
        match = self._read_until(_END, start, timeout, f"end of `{command}`")
        body = self.transcript[start:match.start()]
        # The output starts after the (last) echo of the typed line. Typed while the
        # shell was not yet reading, a line is echoed twice: by the tty at once, and
        # by the shell after its prompt. Before the last echo: not the command's.
        echo = body.rfind(_MARK)
        if echo < 0:
            raise ConsoleError(f"{self.where}: the shell did not echo `{command}`; "
                               f"last seen: {self._tail()!r}")
        end_of_echo = body.find("\n", echo)
        output = body[end_of_echo + 1:] if end_of_echo >= 0 else ""
        return ConsoleResult(command, int(match.group(1)), output.replace("\r", ""))

    def close(self) -> None:
        try:
            self.channel.send(ESCAPE.encode())
        finally:
            self.channel.close()
