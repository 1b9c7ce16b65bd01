"""The guest, through its console: what the article types there, and what it says back.

`xl console` / `xm console` on a PTY over the dom0's SSH connection (GuestConsole
frames each command so its output and exit status read back exactly). The
article sets the guest's address this way; the live proofs read its uptime, MAC,
IP and a token kept only in its shell's memory.
"""
from __future__ import annotations

import contextlib
import ipaddress
import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Iterator

from xenlab.adapters.toolstack import Toolstack
from xenlab.live.console import ConsoleError, ConsoleResult, GuestConsole
from xenlab.parsers import parse_ifconfig
from xenlab.remote import PTY_CLOSED
from xenlab.wait import WaitTimeout, wait_for

CONSOLE_TIMEOUT_S = 60.0
GUEST_IFACE = "eth0"
_KERNEL_LINE = re.compile(r"^\[\s*\d+\.\d+\] .*$\n?", re.M)  # printk lines on the console
_UPTIME = re.compile(r"^(\d+(?:\.\d+)?) \d+(?:\.\d+)?$", re.M)
_TOKEN = re.compile(r"XENLAB_TOKEN=\[([0-9a-f]*)\]")


@dataclass(frozen=True)
class GuestFacts:
    """What the guest itself says, through its console."""

    uptime_s: float
    mac: str | None
    ip: str | None
    token: str  # XENLAB_TOKEN in the console shell's memory ("" if unset)


def guest_netfront_path(dom0_module: str) -> str:
    """Where the article copies dom0's xen-netfront.ko inside the guest: /lib/modules/<file>."""
    return "/lib/modules/" + posixpath.basename(dom0_module)


def open_console(toolstack: Toolstack, name: str,
                 timeout: float = CONSOLE_TIMEOUT_S) -> GuestConsole:
    """The guest's console, at its shell prompt (see guest_console for a with-block)."""
    where = f"{toolstack.host.name}: {toolstack.console_command(name)}"
    console = GuestConsole(toolstack.host.open_pty(toolstack.console_command(name)), where)

    def prompt() -> tuple[bool, str]:
        try:
            console.wait_prompt(timeout=5)  # Enter again: a kernel line may follow the prompt
            return True, "prompt"
        except ConsoleError as exc:
            if console.channel.exit_status_ready():
                raise
            return False, str(exc)

    try:
        wait_for(prompt, timeout=timeout, interval=0, what=f"{where}: shell prompt")
    except (WaitTimeout, ConsoleError):
        hang_up(console)
        raise
    return console


def hang_up(console: GuestConsole) -> None:
    """Leave the console (Ctrl-]) and close it; it may be gone already (the domain left)."""
    with contextlib.suppress(*PTY_CLOSED):
        console.close()


@contextlib.contextmanager
def guest_console(toolstack: Toolstack, name: str,
                  timeout: float = CONSOLE_TIMEOUT_S) -> Iterator[GuestConsole]:
    """open_console() for a with-block: hung up at the end, whatever happened."""
    console = open_console(toolstack, name, timeout)
    try:
        yield console
    finally:
        hang_up(console)


def typed(console: GuestConsole, command: str, timeout: float = 30.0) -> ConsoleResult:
    """console.run(), with a console that went away (the domain left) as a ConsoleError."""
    try:
        return console.run(command, timeout)
    except PTY_CLOSED as exc:
        raise ConsoleError(f"{console.where}: console closed before `{command}` ({exc})") from None


def guest_run(console: GuestConsole, command: str, timeout: float = 30.0) -> str:
    """A command in the guest's shell; its output without the kernel's console lines."""
    result = typed(console, command, timeout)
    output = _KERNEL_LINE.sub("", result.output)
    if result.status != 0:
        last = output.strip().splitlines()
        raise ConsoleError(f"{console.where}: `{command}` exited {result.status}: "
                           f"{last[-1] if last else 'no output'}")
    return output


def ip_commands(module_path: str, ip: str, prefix: int) -> tuple[str, str]:
    """What is typed in the guest's console to give it its address: the network driver,
    then the address (set_guest_ip types them; a plan lists them)."""
    netmask = ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask
    return (f"insmod {shlex.quote(module_path)}",
            f"ifconfig {GUEST_IFACE} {ip} netmask {netmask} up")


def set_guest_ip(console: GuestConsole, module_path: str, ip: str, prefix: int,
                 timeout: float = 30.0) -> None:
    """The article's `insmod xen-netfront.ko; ifconfig eth0 IP up` (a loaded module is fine)."""
    insmod, command = ip_commands(module_path, ip, prefix)
    result = typed(console, insmod)
    if result.status != 0 and "File exists" not in result.output:
        raise ConsoleError(f"{console.where}: insmod {module_path} exited {result.status}: "
                           f"{result.output.strip()}")
    # eth0 appears once netfront has connected to its backend: a moment after insmod
    wait_for(lambda: (typed(console, command).status == 0, console.transcript[-120:]),
             timeout=timeout, interval=1.0, what=f"{console.where}: {command}")


def set_token(console: GuestConsole, token: str) -> None:
    """A value that exists only in the guest's memory: a variable of its console shell."""
    if not re.fullmatch(r"[0-9a-f]+", token):
        raise ValueError(f"token must be lowercase hex, not {token!r}")
    guest_run(console, f"XENLAB_TOKEN={token}")


def announce(console: GuestConsole, peer_ip: str, seconds: float) -> None:
    """The guest pings peer_ip once a second for a bounded time, in the background.

    A busybox guest is otherwise silent: if the unsolicited neighbour
    advertisement it sends on resume is lost, the lab's bridges keep forwarding
    to the old host until something from the guest passes (seen once on the
    box: no reply for 60 s). A server with traffic announces itself the same way.
    """
    guest_run(console, f"(ping -q -i 1 -w {int(seconds)} {shlex.quote(peer_ip)} "
                       ">/dev/null 2>&1 &)")


def read_facts(console: GuestConsole) -> GuestFacts:
    uptime = _UPTIME.search(guest_run(console, "cat /proc/uptime"))
    if uptime is None:
        raise ConsoleError(f"{console.where}: no uptime in /proc/uptime; last seen: "
                           f"{console.transcript[-120:]!r}")
    shown = guest_run(console, f"ifconfig {GUEST_IFACE} 2>/dev/null || true")  # none yet: None
    eth0 = next((i for i in (parse_ifconfig(shown) if shown.strip() else ())
                 if i.name == GUEST_IFACE), None)
    token = _TOKEN.search(guest_run(console, 'echo "XENLAB_TOKEN=[$XENLAB_TOKEN]"'))
    return GuestFacts(uptime_s=float(uptime[1]), mac=eth0.mac if eth0 else None,
                      ip=eth0.ipv4 if eth0 else None, token=token[1] if token else "")




# --- the guest's heartbeat: its own account of how long it was paused ------------------

# A FIFO nobody writes, open on the shell's fd 3: `read -t S x <&3` waits S seconds in the
# shell itself, without a fork (the heartbeat, the load and the data check's writer).
WAIT_FIFO = "mkfifo /dev/xhf 2>/dev/null; exec 3<>/dev/xhf"

# Typed one short line at a time (the console's line editor wraps at 80 columns): a loop
# that writes /proc/uptime (the guest's boot-time clock, which Xen's PV clock carries on
# across the move, pause included) into a file of /dev (devtmpfs: the guest's memory), and
# the awk program that finds the longest gap between two beats. No fork in the loop (read
# and echo are the shell's own; it waits 50 ms reading a FIFO nobody writes): forks make
# new page tables, which a PV guest's migration must copy again (a usleep loop of 5-20
# beats a second made the box's moves 110-117 s where 65 s were usual). ~17 beats a second
# under TCG, so the pause is known to ~0.06 s.
HEARTBEAT_LINES = (
    WAIT_FIFO,
    "echo 'while read u i </proc/uptime' >/dev/xhb",
    "echo 'do echo $u;read -t 0.05 x <&3;done' >>/dev/xhb",
    "echo 'NR==1{f=$1}NR>1&&$1-p>m{m=$1-p}' >/dev/xhg",
    "echo '{p=$1}END{print m,NR,f,p}' >>/dev/xhg",
)


@dataclass(frozen=True)
class GuestPause:
    """The longest gap between two heartbeats the guest wrote: how long it did not run."""

    longest_gap_s: float
    beats: int
    resolution_s: float | None  # the usual spacing of the other beats


def start_heartbeat(console: GuestConsole, seconds: float) -> bool:
    """The heartbeat started in the guest's background, for at most `seconds`; False when
    the guest has no writable /dev (no heartbeat: the pause is then the toolstack's only)."""
    if typed(console, HEARTBEAT_LINES[0]).status != 0:
        return False
    for line in HEARTBEAT_LINES[1:]:
        guest_run(console, line)
    guest_run(console, f"rm -f /dev/xhl; timeout {int(seconds)} sh /dev/xhb >/dev/xhl & XB=$!")
    return True


def read_heartbeat(console: GuestConsole) -> GuestPause:
    """The heartbeat stopped and its longest gap."""
    return parse_heartbeat(guest_run(console, "kill $XB 2>/dev/null; awk -f /dev/xhg /dev/xhl"),
                           console.where)


def parse_heartbeat(said: str, where: str = "guest") -> GuestPause:
    words = said.split()
    try:
        gap, beats, first, last = float(words[0]), int(words[1]), float(words[2]), float(words[3])
    except (IndexError, ValueError):
        raise ConsoleError(f"{where}: no heartbeat summary (longest gap, beats, first, last) "
                           f"in {said.strip()[:80]!r}") from None
    return GuestPause(round(gap, 3), beats,
                      round((last - first - gap) / (beats - 2), 4) if beats > 2 else None)


# --- a memory-dirtying load: the move under write pressure (--migration-load) -----------

# A loop that rewrites a file of N MiB in /dev (devtmpfs: the guest's memory) once a
# second: N MiB of its memory dirtied every second, which the live copy must send again.
# One dd a second (a fork a second, not a fork a beat); each pass leaves a line in /dev/xlc,
# so the rate reached is counted, not assumed. Typed a short line at a time, as above.
LOAD_LINES = (
    WAIT_FIFO,
    "echo 'while dd if=/dev/zero of=/dev/xld bs=1M \\' >/dev/xlb",
    "echo ' count=$1 2>/dev/null' >>/dev/xlb",
    "echo 'do echo >>/dev/xlc;read -t 1 x <&3;done' >>/dev/xlb",
)
LOAD_STOP = ("kill $XL 2>/dev/null; rm -f /dev/xld", "cat /proc/uptime; wc -l </dev/xlc")
LOAD_MAX_SHARE = 4  # at most a quarter of the guest's memory rewritten each second


@dataclass(frozen=True)
class GuestLoad:
    """The load during a move: what was asked and what the guest reached."""

    asked_mib_s: int
    passes: int  # times the guest rewrote its N MiB
    seconds: float  # from the load's start to its stop, the guest's clock (pause included)

    @property
    def reached_mib_s(self) -> float:
        return round(self.asked_mib_s * self.passes / self.seconds, 1) if self.seconds else 0.0


def start_load(console: GuestConsole, mib_s: int, memory_mib: int, seconds: float) -> float:
    """The load started in the guest's background, for at most `seconds`; the guest's uptime
    when it started."""
    if mib_s * LOAD_MAX_SHARE > memory_mib:
        raise ConsoleError(f"{console.where}: a load of {mib_s} MiB/s rewrites more than a "
                           f"quarter of the guest's {memory_mib} MiB each second; at most "
                           f"{memory_mib // LOAD_MAX_SHARE} MiB/s")
    typed(console, LOAD_LINES[0])
    for line in LOAD_LINES[1:]:
        guest_run(console, line)
    started = _UPTIME.search(guest_run(console, "rm -f /dev/xlc; cat /proc/uptime"))
    guest_run(console, f"timeout {int(seconds)} sh /dev/xlb {int(mib_s)} & XL=$!")
    return float(started[1]) if started else 0.0


def stop_load(console: GuestConsole, mib_s: int, started: float) -> GuestLoad:
    """The load stopped, its file gone (the memory freed), and what it reached."""
    guest_run(console, LOAD_STOP[0])
    return parse_load(guest_run(console, LOAD_STOP[1]), mib_s, started, console.where)


def parse_load(said: str, mib_s: int, started: float, where: str = "guest") -> GuestLoad:
    """`UPTIME IDLE` then the count of passes, as stop_load reads them."""
    words = said.split()
    try:
        now, passes = float(words[0]), int(words[2])
    except (IndexError, ValueError):
        raise ConsoleError(f"{where}: no load summary (uptime, passes) in "
                           f"{said.strip()[:80]!r}") from None
    return GuestLoad(mib_s, passes, round(now - started, 2))
