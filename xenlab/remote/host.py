"""Commands on one lab host: quoted, under a deadline, guarded, redacted and recorded.

`Host` runs commands on one inventory host through a Transport (see
xenlab.remote.transport). Every command has a deadline, every argument is
shell-quoted, every write goes through `Host.change()` (refused unless the run
is in build mode), and every `Result` goes to the recorder: the evidence the
reports show, with the host's secrets replaced by ***.
"""
from __future__ import annotations

import contextlib
import functools
import itertools
import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal

from xenlab.errors import (
    CommandFailed,
    CommandTimeout,
    HostUnreachable,
    ReadOnlyViolation,
    first_line,
)
from xenlab.inventory import HostSpec
from xenlab.remote.guard import writes
from xenlab.remote.pty import Pty
from xenlab.remote.transport import Transport, transport_for
from xenlab.wait import ticking

if TYPE_CHECKING:
    import testinfra.host

Mode = Literal["verify", "build", "plan"]
MODES = ("verify", "build", "plan")
Recorder = Callable[["Result"], None]
KILL_AFTER_S = 5  # the remote `timeout -k`: KILL this long after TERM
LOCAL_GRACE_S = 1.0  # the local deadline is timeout + this: a dead host fails there
TIMEOUT_RC = 124  # timeout(1)'s exit status when the deadline passed
MISSING_RC = 66  # read_file: the file does not exist
SHOWN_CHARS = 160  # of a command, in one-line messages
SUDO_TIMEOUT_S = 30.0  # asking sudo once whether it needs the become password
SUDO_READY = "xenlab-sudo-ready"  # printed once the PTY's echo is off (see open_pty)


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


@dataclass(frozen=True)
class InputFrom:
    """A command's input that is a file of another host (a public key to authorize): read
    from there when the command runs; in a plan, named: an earlier planned change may make
    or replace it (ssh-keygen)."""

    host: "Host"
    path: str


_PLANNED = itertools.count()


@dataclass(frozen=True)
class Planned:
    """A change build mode would make on a host, as the exact command it would run there: in
    plan mode (--lab-mode=plan) and in a failed check's hint, nothing is sent.

    `line()` is the command as a person types it on that host, input included. kind "console":
    `input` is what to type, line by line, into the interactive `command` (the guest's console).
    """

    host: str
    command: str
    input: str | None = None  # what goes to the command's stdin
    input_from: tuple[str, str] | None = None  # (host, path): stdin is that host's file
    destructive: bool = False  # destroys data (partitioning, mkfs)
    kind: str = "run"  # or "console"
    # when it was planned, across hosts: a build's changes on two hosts run in this order
    # (the key ssh-keygen makes on one before it is authorized on the other)
    seq: int = field(default_factory=lambda: next(_PLANNED), compare=False)

    def line(self) -> str:
        if self.kind == "console":
            typed = "; ".join(self.input.splitlines()) if self.input else ""
            return f"{self.command}   # then type: {typed}"
        if self.input_from is not None:
            return f"(on {self.input_from[0]}: cat {self.input_from[1]}) | ({self.command})"
        if self.input is not None:
            return f"printf '%s' {shlex.quote(self.input)} | ({self.command})"
        return self.command

    def data(self) -> dict:
        return {"host": self.host, "command": self.command, "input": self.input,
                "input_from": list(self.input_from) if self.input_from else None,
                "destructive": self.destructive, "kind": self.kind, "line": self.line()}


class Host:
    """One lab host for the whole run: run/check read, change writes, migrate moves the guest.

    known_hosts / host_key_checking default to the inventory vars
    xenlab_known_hosts / xenlab_host_key_checking of the spec.
    """

    def __init__(self, spec: HostSpec, mode: Mode = "verify", known_hosts: str | None = None,
                 host_key_checking: bool | None = None, connect_timeout: float = 10.0,
                 recorder: Recorder | None = None, transport: Transport | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self.spec = spec
        self.mode = mode
        self.planned: list[Planned] = []  # plan mode: what change() would have run, in order
        self._recorder = recorder
        self._sudo: tuple[str, bytes] | None = None  # (prefix, stdin before the command's)
        self._sudo_lock = threading.Lock()
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
        if self.mode != "build":
            self._refuse_if_writes(line)
        return self._send(line, timeout, ok, input)

    @property
    def planning(self) -> bool:
        """Plan mode: change() lists the command instead of running it. A build function
        that reads what an earlier planned change would have made (a disk a login attaches,
        the UUID mkfs writes) plans on what it would be."""
        return self.mode == "plan"

    @contextlib.contextmanager
    def plan_changes(self):
        """Within: this Host plans instead of changing (reads still run, under the write
        guard); yields the list the planned changes go to. For a failed check's hint, in
        verify mode: build mode's own commands for the fix, nothing sent."""
        mode, planned = self.mode, self.planned
        self.mode, self.planned = "plan", []
        try:
            yield self.planned
        finally:
            self.mode, self.planned = mode, planned

    def become(self) -> tuple[str, bytes]:
        """How every command of this host runs as spec.become_user (Ansible's become, with
        sudo): the prefix, and what goes to sudo's stdin before the command's own. Asked of
        the host once: `sudo -k -n` (NOPASSWD; -k: no credentials cached by a login) works
        as it is; otherwise the become password through `sudo -k -S` (-k: sudo asks on
        every command, so the password line never reaches the command instead).
        HostUnreachable when sudo refuses: nothing could run as it should."""
        with self._sudo_lock:
            if self._sudo is None:
                self._sudo = self._ask_sudo()
            return self._sudo

    def _ask_sudo(self) -> tuple[str, bytes]:
        spec = self.spec
        user = shlex.quote(spec.become_user or "root")
        rc, _, err = self._transport.exec(f"sudo -k -n -u {user} -- true", None, SUDO_TIMEOUT_S)
        if rc == 0:
            return f"sudo -n -u {user} --", b""
        if spec.become_password:
            secret = spec.become_password.encode() + b"\n"
            prefix = f"sudo -k -S -p '' -u {user} --"
            rc, _, err = self._transport.exec(f"{prefix} true", secret, SUDO_TIMEOUT_S)
            if rc == 0:
                return prefix, secret
        said = self._redact(err.decode(errors="replace")).strip().splitlines()
        # sudo's last line is its verdict ("Sorry, try again." comes before "sudo: 1
        # incorrect password attempt")
        why = said[-1].strip() if said else "no answer" if rc is None else f"rc={rc}"
        hint = "" if spec.become_password else (
            " (set ansible_become_password, or give the user NOPASSWD in sudoers)")
        self.gone = (f"{self.name} ({spec.endpoint}): cannot become {spec.become_user} with "
                     f"sudo as {spec.user}: {why}{hint}")
        raise HostUnreachable(self.gone, self.name)

    def _refuse_if_writes(self, line: str) -> None:
        writer = writes(line)
        if writer is not None:
            raise ReadOnlyViolation(
                f"{self.name}: `{_shown(self._redact(line))}` writes to the host ({writer}); "
                f"refused in {self.mode} mode (writes need --lab-mode=build)", self.name)

    def _send(self, line: str, timeout: float, ok: tuple[int, ...],
              input: str | bytes | None, stamps: list | None = None) -> Result:
        wrapped = f"timeout -k {KILL_AFTER_S} {timeout:g} sh -c {shlex.quote(line)}"
        stdin = input.encode() if isinstance(input, str) else input
        started = time.monotonic()
        try:
            if self.spec.become_user:
                prefix, password = self.become()
                wrapped = f"{prefix} {wrapped}"
                stdin = password + (stdin or b"") if password else stdin
            with ticking(f"{self.name}: `{_shown(self._redact(line))}`"):
                streamed = {} if stamps is None else {"stamps": stamps}
                rc, out, err = self._transport.exec(wrapped, stdin, timeout + LOCAL_GRACE_S,
                                                    **streamed)
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

    def change(self, command: str, *args: object, destructive: bool = False,
               **kwargs) -> Result:
        """check() for a command that writes: refused (nothing sent) in verify mode; in plan
        mode listed in `planned` (nothing sent) and answered with rc 0 and no output.
        `destructive`: it destroys data (shown so in a plan)."""
        if self.mode == "plan":
            return self._plan(_render(command, args), kwargs.get("input"), destructive)
        if self.mode != "build":
            raise ReadOnlyViolation(
                f"{self.name}: `{_shown(self._redact(_render(command, args)))}` writes to the "
                f"host; refused in {self.mode} mode (writes need --lab-mode=build)", self.name)
        if isinstance(kwargs.get("input"), InputFrom):
            source = kwargs["input"]
            kwargs["input"] = source.host.check("cat -- %s", source.path).stdout
        return self._unguarded(command, args, **kwargs)

    def _plan(self, line: str, input: str | bytes | InputFrom | None, destructive: bool) -> Result:
        known, source = input, None
        if isinstance(input, InputFrom):  # read when the command runs: an earlier planned
            known, source = None, (input.host.name, input.path)  # change may make it
        if isinstance(known, bytes):
            known = known.decode(errors="replace")
        self.planned.append(Planned(self.name, self._redact(line),
                                    None if known is None else self._redact(known), source,
                                    destructive))
        return Result(self.name, self._redact(line), 0, "", "", 0.0)

    def plan_console(self, command: str, typed: list[str]) -> None:
        """Plan mode: what build mode would type, line by line, into an interactive
        command (the guest's console); nothing is opened."""
        self.planned.append(Planned(self.name, self._redact(command),
                                    self._redact("\n".join(typed)), kind="console"))

    def migrate(self, command: str, *args: object, **kwargs) -> Result:
        """check() for the lab's live migration: the one write allowed in verify mode
        (`xl migrate`, and the probe around it); it bypasses the read-only guard. Never in
        plan mode: a plan moves nothing."""
        return self._moving("moves the guest", command, args, kwargs)

    def drill(self, command: str, *args: object, **kwargs) -> Result:
        """check() for a failure drill's fault (-m drill): it ends a process of the
        migration this run started (its transport), and bypasses the read-only guard as
        migrate() does. Never in plan mode."""
        return self._moving("is a drill's fault", command, args, kwargs)

    def _moving(self, what: str, command: str, args: tuple[object, ...], kwargs) -> Result:
        if self.mode == "plan":
            raise ReadOnlyViolation(f"{self.name}: `{_shown(self._redact(_render(command, args)))}`"
                                    f" {what}; refused in plan mode", self.name)
        return self._unguarded(command, args, **kwargs)

    def _unguarded(self, command: str, args: tuple[object, ...], timeout: float = 30.0,
                   ok: tuple[int, ...] = (0,), input: str | bytes | None = None,
                   stamps: list | None = None) -> Result:
        return _checked(self._send(_render(command, args), timeout, tuple(ok), input, stamps))

    def read_file(self, path: str) -> str | None:
        """The file's text, or None when it does not exist."""
        result = self.check("test -e %s || exit %s; cat -- %s", path, MISSING_RC, path,
                            ok=(0, MISSING_RC))
        return None if result.rc == MISSING_RC else result.stdout

    def write_file(self, path: str, content: str | bytes, mode: int = 0o644) -> Result:
        return self.change("cat > %s && chmod %s %s", path, format(mode, "o"), path,
                           input=content)

    def open_pty(self, command: str, timeout: float = 10) -> Pty:
        """`command` on a PTY over this Host's own connection (`xl console NAME`): for an
        interactive program, which run() cannot drive. No deadline after it started and
        no Result: whoever types into it reads back (xenlab.live.console). In verify mode
        `command` passes the write guard; with become it runs under sudo (with a become
        password: the PTY's echo is off while sudo reads it, then on again).

        Raises HostUnreachable when there is no connection, ConnectionError when no PTY
        opens within timeout; the Pty then raises only PTY_CLOSED exceptions (OSError,
        EOFError) once the session is gone.
        """
        if self.mode != "build":
            self._refuse_if_writes(command)
        if not self.spec.become_user:
            return self._transport.open_pty(command, timeout)
        prefix, password = self.become()
        if not password:
            return self._transport.open_pty(f"{prefix} sh -c {shlex.quote(command)}", timeout)
        # sudo -S reads the password from the PTY: typed only once echo is off (the
        # marker says so), so that no transcript shows it; echo is back for the command.
        pty = self._transport.open_pty(
            f"stty -echo; printf '%s\\n' {SUDO_READY[:6]}''{SUDO_READY[6:]}; exec {prefix} "
            f"sh -c {shlex.quote('stty echo; ' + command)}", timeout)
        _read_until(pty, SUDO_READY.encode(), timeout, self.name)
        pty.send(password)
        return pty

    @functools.cached_property
    def testinfra(self) -> testinfra.host.Host:
        """A testinfra host whose modules (service, file, socket, package, ...) run their
        commands through this Host's run(): the same connection, deadline (30 s),
        evidence, redaction, sudo and, in verify mode, write guard."""
        from xenlab.remote.testinfra import as_testinfra_host  # testinfra: loaded when asked for

        return as_testinfra_host(self)

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


def _read_until(pty: Pty, marker: bytes, timeout: float, name: str) -> None:
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        if time.monotonic() > deadline or pty.exit_status_ready():
            pty.close()
            raise ConnectionError(f"{name}: the PTY under sudo did not start within "
                                  f"{timeout:g}s; saw {first_line(seen.decode(errors='replace'))!r}")
        if pty.recv_ready():
            seen += pty.recv(4096)
        else:
            time.sleep(0.05)  # polling the PTY; the deadline above bounds it


def _checked(result: Result) -> Result:
    if not result.ok:
        raise CommandFailed(result.one_line(), result)
    return result


def _render(template: str, args: tuple[object, ...]) -> str:
    return template % tuple(shlex.quote(str(a)) for a in args) if args else template


def command_line(template: str, *args: object) -> str:
    """The command a Host runs for template and args (each %s an argument, shell-quoted):
    for a fix shown to people, who run it as given."""
    return _render(template, args)


def write_command(path: str, text: str) -> str:
    """One line of shell that writes text to path (printf, its newlines as \\n)."""
    escaped = text.replace("\\", "\\\\").replace("%", "%%").replace("\n", "\\n")
    return command_line("printf %s > %s", escaped, path)


def _shown(command: str) -> str:
    line = " ".join(command.split())
    return line if len(line) <= SHOWN_CHARS else line[:SHOWN_CHARS - 3] + "..."
