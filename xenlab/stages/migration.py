"""Stage 9: the live migration, proven live and measured.

The steps call these one per Gherkin step:
- prechecks, before anything moves: the checks of stages 4-6 and 8 again, for
  this move (the same bridge, the same image, free memory, the relocation path),
  and no domain of the guest's name on the destination;
- migrate(): facts before (xenlab.live.guest), a ping -D probe from a third host
  (xenlab.live.probe), the toolstack's migration, the probe stopped, facts after
  -> MigrationRecord;
- the proofs on that record (check_same_ip ... check_downtime, assert_live).
Every remote command has a deadline and every wait ends with what it saw last.
"""
from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from xenlab.adapters.toolstack import Toolstack
from xenlab.checks import CheckFailure, LabCheckFailed, every, expect, fail
from xenlab.errors import ParseError
from xenlab.live.diskdata import GuestData, start_writing, stop_and_read
from xenlab.live.guest import (CONSOLE_TIMEOUT_S, GUEST_IFACE, GuestFacts, GuestLoad,
                               GuestPause, announce, guest_console, read_facts, read_heartbeat,
                               set_token, start_heartbeat, start_load, stop_load)
from xenlab.live.probe import (ANSWER_WAIT_S, PROBE_INTERVAL_S, BackgroundPing, Downtime,
                               analyse_probe, clock_offset, replies_after)
from xenlab.parsers import Domain, MigrationPhases, XenInfo, parse_migration_log
from xenlab.remote import Host
from xenlab.remote.transport import timed_lines
from xenlab.stages import bridge, on_each, storage, xen
from xenlab.stages.leaks import MOVING_SUFFIXES
from xenlab.wait import WaitTimeout, progress, wait_for

MIGRATE_TIMEOUT_S = 600.0
DOMAIN_WAIT_S = 30.0


# --- prechecks: stages 4-6 and 8 again, for this move ----------------------------------

def check_same_bridge(source: Host, destination: Host, name: str) -> None:
    """A bridge of that name on both hosts (stage 5's reading): the guest's vif is
    plugged into it by name."""
    for host in (source, destination):
        bridge.check_is_bridge(host, name, "the guest's vif needs it")


def check_disk_on_destination(source: Host, destination: Host, path: str) -> None:
    """The guest's disk at the same path on both hosts, the same image (stage 6's
    identity: size, extent map and data, so the same blocks of the shared disk)."""
    hosts = (source, destination)
    found = on_each(hosts, lambda h: storage.image_identity(h, path))
    storage.check_same_image({h.name: i for h, i in zip(hosts, found)}, path)


def check_destination_memory(source: Toolstack, destination: Toolstack, name: str) -> None:
    """Free memory on the destination (stage 4's check) >= the guest's, as it runs on
    the source."""
    running = source.domain(name)
    if running is None:
        fail(source.host.name, f"{name} running on {source.host.name} (to know the memory it "
             "needs)", f"no domain {name}")
    xen.check_free_memory(destination.host, destination.info(), running.mem_mib,
                          f"{name} ({name} runs with it on {source.host.name})")


def moves_xen_supports(source: XenInfo, destination: XenInfo, one_way_allowed: bool,
                       guest_type: str | None = None) -> tuple[str | None, str | None]:
    """(why nothing may move, why the guest may not come back) for a move there and back
    between these releases (xen.unsupported_move). Nothing moves when Xen does not support
    the way there, nor when it does not support the way back and a one-way move is not
    allowed: a run leaves the guest where it was."""
    there = xen.unsupported_move(source, destination, guest_type)
    if there:
        return f"{there}; not tried", None
    back = xen.unsupported_move(destination, source, guest_type)
    if back and not one_way_allowed:
        return (f"{back}; the guest could not come back, and a run leaves it where it was, "
                f"so nothing moved (--migration-one-way moves it to "
                f"{destination.host or 'the destination'} and leaves it there, as in a "
                "rolling upgrade)"), None
    return None, back


def check_absent(toolstack: Toolstack, name: str, timeout: float = 0.0) -> None:
    """No domain `name` on this host (within timeout)."""
    _await_domain(toolstack, name, lambda d: d is None, f"no domain {name}", timeout)


def check_no_half_moved(source: Toolstack, destination: Toolstack, name: str) -> None:
    """No domain under the names xl gives the two halves of a move, left by an earlier one:
    xl migrate creates NAME--incoming on the destination and renames the guest
    NAME--migratedaway on the source, and fails at once where that name is taken (measured
    on the box: a paused busybox--incoming on test2 made `xl migrate` fail after 8 s)."""
    for toolstack in (source, destination):
        taken = [d.name for d in toolstack.domains()
                 if d.name in (name + s for s in MOVING_SUFFIXES)]
        expect(not taken, toolstack.host.name,
               f"no {name}{MOVING_SUFFIXES[0]} or {name}{MOVING_SUFFIXES[1]} domain (left by an "
               "earlier move: xl migrate needs those names)", ", ".join(taken),
               fix=tuple(toolstack.destroy_command(t) for t in taken))


def check_runs_on(toolstack: Toolstack, name: str, timeout: float = DOMAIN_WAIT_S) -> Domain:
    """Domain `name` on this host, alive: running, blocked or runnable (not paused, not dying)."""
    return _await_domain(toolstack, name, alive, f"{name} running or blocked (not paused)",
                         timeout)


def alive(domain: Domain | None) -> bool:
    # "------" is alive too: runnable, waiting for a CPU (seen under TCG right
    # after `xl create`, and in xl list beside a running dom0).
    return domain is not None and not (
        domain.paused or domain.shutdown or domain.crashed or domain.dying)


def _await_domain(toolstack: Toolstack, name: str, ok: Callable[[Domain | None], bool],
                  expected: str, timeout: float) -> Domain | None:
    last: list[Domain | None] = [None]

    def look() -> tuple[bool, Domain | None]:
        last[0] = toolstack.domain(name)
        return ok(last[0]), last[0]

    try:
        return wait_for(look, timeout=timeout, interval=1.0, what=expected)
    except WaitTimeout:
        seen = last[0]
        fail(toolstack.host.name, expected, f"no domain {name}" if seen is None
             else f"{name} in state {seen.state} (id {seen.domid})")


def plan_guest_start(toolstack: Toolstack, config_path: str, name: str,
                     typed: tuple[str, ...]) -> list[str]:
    """Plan mode: the guest created on this host, and what is typed in its console."""
    toolstack.create(config_path)
    toolstack.host.plan_console(toolstack.console_command(name), list(typed))
    return [f"{toolstack.host.name}: start {name} from {config_path}, its address set "
            "through its console"]


def guest_start(toolstack: Toolstack, config_path: str, name: str,
                timeout: float = DOMAIN_WAIT_S) -> Domain:
    """Create the guest unless it runs there already (create: build mode only)."""
    if toolstack.domain(name) is not None:
        return check_runs_on(toolstack, name, timeout)
    toolstack.create(config_path)
    try:
        return check_runs_on(toolstack, name, timeout)
    except LabCheckFailed as exc:  # e.g. "Domain 5 has shut down, reason code 3" (a crash)
        said = toolstack.last_log_line(name)
        if not said:
            raise
        raise LabCheckFailed(*(dataclasses.replace(
            f, seen=f"{f.seen} ({toolstack.log_path.format(name=name)}: {said})")
            for f in exc.failures)) from None


# --- the migration ----------------------------------------------------------------------

@dataclass(frozen=True)
class MigrationRecord:
    guest: str
    source: str
    destination: str
    started: float  # epoch, this machine's clock
    ended: float
    wall_s: float
    toolstack_output: str  # what xl/xm printed (stdout, then stderr)
    downtime: Downtime
    before: GuestFacts
    after: GuestFacts
    leaked: tuple[CheckFailure, ...] = ()  # xenlab.stages.leaks: what the move left behind
    # Where the downtime went: the toolstack's lines as they arrived ("SECONDS TEXT", since
    # started), the moments they mark, and the guest's own longest gap between heartbeats.
    toolstack_log: str = ""
    phases: MigrationPhases | None = None
    guest_pause: GuestPause | None = None
    round: int | None = None  # of stage 9's outline (--migration-rounds), when it ran in one
    load: GuestLoad | None = None  # the memory-dirtying load it moved under (--migration-load)
    data: GuestData | None = None  # what the guest wrote to its disk, read back (--guest-data)

    @property
    def landed(self) -> str:
        """Where the guest must run now (the proofs read it there)."""
        return self.destination


@dataclass(frozen=True)
class Load:
    """A memory-dirtying load to run in the guest during a move (--migration-load)."""

    mib_s: int
    memory_mib: int  # the guest's memory: the load may rewrite at most a quarter a second


@dataclass(frozen=True)
class Seen:
    """What the guest said after a move, where it runs then."""

    facts: GuestFacts
    pause: GuestPause | None  # its heartbeat's longest gap
    load: GuestLoad | None  # the load it ran, stopped now
    data: GuestData | None  # what it wrote to its disk, read back from it


class Watched:
    """A move of the guest, watched: its facts read before (a token set in its memory, the
    guest announcing itself to the prober), then a 5 ms ping from the prober while the
    move runs (`with`); network_gap() ends the probe and measures the gap on our clock.

    The migration and the failure drill (xenlab.stages.drill) watch a move alike."""

    def __init__(self, source: Toolstack, name: str, prober: Host, guest_ip: str, *,
                 timeout: float, probe_interval_s: float, console_timeout: float,
                 load: Load | None = None, data: str | None = None) -> None:
        with guest_console(source, name, console_timeout) as console:
            set_token(console, secrets.token_hex(8))
            announce(console, prober.spec.lab_ip, timeout + ANSWER_WAIT_S)
            self.before = read_facts(console)
            self.heartbeat = start_heartbeat(console, timeout + ANSWER_WAIT_S)
            self.load, self.data = load, data
            self._load_from = (start_load(console, load.mib_s, load.memory_mib,
                                          timeout + ANSWER_WAIT_S) if load else 0.0)
            self._data_md5 = (start_writing(console, data, timeout + ANSWER_WAIT_S)
                              if data else "")
        self.prober, self.guest_ip, self.interval_s = prober, guest_ip, probe_interval_s
        self._offset_before = clock_offset(prober)
        self._probe = BackgroundPing(prober, guest_ip, max_s=timeout + ANSWER_WAIT_S + 30,
                                     interval_s=probe_interval_s)
        self._stopped = False

    def __enter__(self) -> Watched:
        self._probe.start()
        return self

    def __exit__(self, kind, *_) -> None:
        if kind is not None and not self._stopped:
            with contextlib.suppress(Exception):
                self._probe.stop()

    def guest_facts(self, toolstack: Toolstack, name: str, console_timeout: float) -> Seen:
        """What the guest says after the move, where it runs now."""
        with guest_console(toolstack, name, console_timeout) as console:
            facts = read_facts(console)
            pause = read_heartbeat(console) if self.heartbeat else None
            load = stop_load(console, self.load.mib_s, self._load_from) if self.load else None
            data = None
            if self.data:
                digest, records = stop_and_read(console, self.data)
                data = GuestData(self.data, self._data_md5, digest, records)
            return Seen(facts, pause, load, data)

    def network_gap(self, started: float, ended: float) -> Downtime:
        """The probe's gap around [started, ended] (this machine's clock)."""
        # No answer: the record says so. Answers: the background probe also
        # records replies for a few seconds after the end, more than the
        # uncertainty of the clock offset (half an SSH round trip, ~1 s on a
        # loaded TCG box), so "a reply after the migration" is not left to chance.
        replies_after(self.prober, self.guest_ip)
        # The prober's clock drifts from ours under load (a TCG VM during a 90 s
        # migration): measured again after the move.
        offset_after = clock_offset(self.prober)
        self._stopped = True
        replies = self._probe.stop()
        return analyse_probe(replies, self.interval_s, started + self._offset_before,
                             ended + offset_after)


def migrate(source: Toolstack, destination: Toolstack, name: str, dest_address: str,
            guest_ip: str, *, probe_host: Host | None = None, timeout: float = MIGRATE_TIMEOUT_S,
            probe_interval_s: float = PROBE_INTERVAL_S,
            console_timeout: float = CONSOLE_TIMEOUT_S, load: Load | None = None,
            data: str | None = None) -> MigrationRecord:
    """Move the guest and gather what proves it moved alive (the proofs: assert_live).

    probe_host pings the guest throughout (default: the destination; a third host
    on the lab network sees both sides alike). load: the guest dirties its memory at that
    rate throughout (--migration-load). data: a directory of the guest's where it writes
    records throughout, read back after (--guest-data; checked safe before: guestdata).
    """
    prober = probe_host or destination.host
    watched = Watched(source, name, prober, guest_ip, timeout=timeout,
                      probe_interval_s=probe_interval_s, console_timeout=console_timeout,
                      load=load, data=data)
    with watched:
        progress.info("%s: live migration %s -> %s started (probe from %s every %g s)", name,
                      source.host.name, destination.host.name, prober.name, probe_interval_s)
        started, stamps = time.time(), []
        result = source.migrate(name, dest_address, timeout, stamps=stamps)
        ended = time.time()
        progress.info("%s: live migration %s -> %s done in %.1f s", name, source.host.name,
                      destination.host.name, ended - started)
        downtime = watched.network_gap(started, ended)
    check_runs_on(destination, name)
    check_absent(source, name)
    seen = watched.guest_facts(destination, name, console_timeout)
    log = timed_log(stamps, started)
    return MigrationRecord(
        guest=name, source=source.host.name, destination=destination.host.name,
        started=started, ended=ended, wall_s=round(ended - started, 3),
        toolstack_output=result.stdout + result.stderr, downtime=downtime,
        before=watched.before, after=seen.facts, toolstack_log=log, phases=phases_of(log),
        guest_pause=seen.pause, load=seen.load, data=seen.data)


def timed_log(stamps: list, started: float) -> str:
    """The toolstack's lines as they arrived: `SECONDS TEXT`, seconds since `started`."""
    return "".join(f"{t - started:.3f} {line}\n" for t, line in timed_lines(stamps))


def phases_of(log: str) -> MigrationPhases | None:
    """The moments of the move in the toolstack's timed log; None when it names none (xm
    prints nothing)."""
    try:
        return parse_migration_log(log)
    except ParseError:
        return None


# --- the proofs (pure) ------------------------------------------------------------------

def check_same_ip(record: MigrationRecord) -> None:
    expect(record.after.ip is not None and record.after.ip == record.before.ip, record.landed,
           f"{record.guest} with {GUEST_IFACE} {record.before.ip}, as on {record.source}",
           f"{GUEST_IFACE} {record.after.ip or 'without an IPv4 address'}")


def check_same_mac(record: MigrationRecord) -> None:
    expect(record.after.mac is not None and record.after.mac == record.before.mac,
           record.landed,
           f"{record.guest} with MAC {record.before.mac}, as on {record.source}",
           f"MAC {record.after.mac}")


def check_not_rebooted(record: MigrationRecord) -> None:
    before, after = record.before.uptime_s, record.after.uptime_s
    expect(after > before, record.landed,
           f"{record.guest} up for more than {before:.2f} s (its uptime on {record.source})",
           f"uptime {after:.2f} s: it booted again")


def check_memory_kept(record: MigrationRecord) -> None:
    expect(bool(record.before.token) and record.after.token == record.before.token,
           record.landed,
           f"XENLAB_TOKEN={record.before.token or '(set before)'} still in the guest's shell",
           f"XENLAB_TOKEN={record.after.token or '(unset)'}")


def check_answered_after(record: MigrationRecord) -> None:
    d = record.downtime
    expect(d.gap_end is not None, record.landed,
           f"{record.guest} answering ping after the migration",
           f"{d.replies} replies, none after it")


def check_downtime(record: MigrationRecord, downtime_max_s: float) -> None:
    d = record.downtime
    expect(d.longest_gap_s <= downtime_max_s, record.landed,
           f"a network gap of at most {downtime_max_s:g} s during the migration",
           f"{d.longest_gap_s:.2f} s without a reply ({d.lost} probes lost, "
           f"resolution {d.resolution_s} s)")


LIVE_PROOFS = (check_same_ip, check_same_mac, check_not_rebooted, check_memory_kept,
               check_answered_after)


def assert_live(record: MigrationRecord, downtime_max_s: float) -> None:
    """Every proof; one LabCheckFailed naming each that failed."""
    every((*LIVE_PROOFS, lambda r: check_downtime(r, downtime_max_s)), record)
