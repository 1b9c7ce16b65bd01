"""Stage 9's failure drill (-m drill, opt-in): a live migration cut part-way must leave the
guest running on the source, as if nothing happened, and nothing on the destination.

The fault is the one a network cut or a crashed receiver makes: once the migration's
transport on the source (xl: `ssh DEST xl migrate-receive`) has streamed a quarter of the
guest's memory, it is killed. Measured on the box: xl says "Migration failed, resuming at
sender", the guest runs on, and the receiver destroys its NAME--incoming. The drill is
verify-safe: it ends only a process of the migration it started, and leaves the guest
where it was (if the move finished before the cut, the run's teardown brings it back).

The proofs are the migration's own (address, MAC, uptime, the token in memory, the network
gap, nothing leaked), read on the source, and one more: the guest runs exactly there. A
guest that runs nowhere (lost) or on both hosts (two writers on one disk) after a failed
migration is the critical failure it is.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from xenlab.adapters.toolstack import Toolstack
from xenlab.checks import CheckFailure, expect, fail
from xenlab.live.guest import CONSOLE_TIMEOUT_S, GuestFacts, GuestPause
from xenlab.parsers import MigrationPhases
from xenlab.live.probe import PROBE_INTERVAL_S, Downtime
from xenlab.remote import Host
from xenlab.stages.migration import (DOMAIN_WAIT_S, MIGRATE_TIMEOUT_S, Watched, alive,
                                     phases_of, timed_log)
from xenlab.wait import WaitTimeout, progress, wait_for

CUT_AT = 0.25  # of the guest's memory streamed: part-way, whatever the link's speed
MIB = 1024 * 1024
TRANSPORT_POLL_S = 0.25


@dataclass(frozen=True)
class DrillRecord:
    guest: str
    source: str
    destination: str
    started: float  # epoch, this machine's clock
    ended: float
    cut: str  # what was cut, when; "" when the migration ended before the cut
    rc: int | None  # the toolstack's exit status
    toolstack_output: str
    runs_on: tuple[str, ...]  # the hosts the guest runs on after the drill
    downtime: Downtime
    before: GuestFacts
    after: GuestFacts | None  # read on the source; None when it does not run there
    leaked: tuple[CheckFailure, ...] = ()
    toolstack_log: str = ""  # as MigrationRecord's
    phases: MigrationPhases | None = None
    guest_pause: GuestPause | None = None

    @property
    def landed(self) -> str:
        """Where the guest must run after a failed migration: where it was."""
        return self.source


def cut_part_way(source: Toolstack, destination: Toolstack, name: str, dest_address: str,
                 guest_ip: str, *, probe_host: Host, timeout: float = MIGRATE_TIMEOUT_S,
                 probe_interval_s: float = PROBE_INTERVAL_S,
                 console_timeout: float = CONSOLE_TIMEOUT_S) -> DrillRecord:
    """Start the live migration, cut its transport once a quarter of the guest's memory has
    streamed, and read where the guest runs and what it kept. Raises only when the drill
    could not be run (no guest to move, a host not answering), never for what it found."""
    running = source.domain(name)
    if running is None:
        fail(source.host.name, f"{name} running on {source.host.name} (the drill moves it)",
             f"no domain {name}")
    threshold = int(running.mem_mib * MIB * CUT_AT)
    watched = Watched(source, name, probe_host, guest_ip, timeout=timeout,
                      probe_interval_s=probe_interval_s, console_timeout=console_timeout)
    with watched:
        progress.info("%s: failure drill: live migration %s -> %s, cut at %d MiB streamed",
                      name, source.host.name, destination.host.name, threshold // MIB)
        started = time.time()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="xenlab-drill") as pool:
            stamps: list = []
            moving = pool.submit(source.migrate, name, dest_address, timeout,
                                 tuple(range(256)), stamps)
            cut = _cut_when_streamed(source, threshold, moving.done, timeout, started)
            result = moving.result()
        ended = time.time()
        downtime = watched.network_gap(started, ended)
    progress.info("%s: failure drill: %s; %s exited %s", name, cut or "not cut",
                  source.command, result.rc)
    runs_on = _settled(source, destination, name)
    seen = (watched.guest_facts(source, name, console_timeout)
            if source.host.name in runs_on else None)
    after, pause = (seen.facts, seen.pause) if seen else (None, None)
    log = timed_log(stamps, started)
    return DrillRecord(
        guest=name, source=source.host.name, destination=destination.host.name,
        started=started, ended=ended, cut=cut, rc=result.rc,
        toolstack_output=result.stdout + result.stderr, runs_on=runs_on,
        downtime=downtime, before=watched.before, after=after, toolstack_log=log,
        phases=phases_of(log), guest_pause=pause)


def _cut_when_streamed(source: Toolstack, threshold: int, finished, timeout: float,
                       started: float) -> str:
    """Kill the transport once it has written `threshold` bytes; "" if the migration
    ended first (then there was nothing left to cut)."""
    seen: list[tuple[int, int] | None] = [None]

    def streamed() -> tuple[bool, str]:
        if finished():
            return True, "ended"
        seen[0] = source.migration_transport()
        done = seen[0] is not None and seen[0][1] >= threshold
        return done, (f"transport pid {seen[0][0]}, {seen[0][1] // MIB} MiB written"
                      if seen[0] else "no transport yet")

    try:
        wait_for(streamed, timeout=timeout, interval=TRANSPORT_POLL_S,
                 what=f"{source.host.name}: the migration's transport streaming "
                      f"{threshold // MIB} MiB")
    except WaitTimeout as exc:
        fail(source.host.name, f"the migration's transport streaming {threshold // MIB} MiB "
             "(the drill's moment to cut it)", str(exc).split("last seen: ", 1)[-1])
    if finished() or seen[0] is None:
        return ""
    pid, written = seen[0]
    source.cut_migration(pid)
    return (f"{source.host.name}: the migration's transport (pid {pid}) killed after "
            f"{written // MIB} MiB streamed, {time.time() - started:.1f} s in")


def _settled(source: Toolstack, destination: Toolstack, name: str) -> tuple[str, ...]:
    """The hosts the guest runs on once the failure has settled: the source resumes it
    (xl: at once), the destination destroys what it received; within DOMAIN_WAIT_S."""
    def where() -> tuple[bool, tuple[str, ...]]:
        found = {t.host.name: t.domains() for t in (source, destination)}
        runs = tuple(h for h, domains in found.items()
                     if any(d.name == name and alive(d) for d in domains))
        moving = any(d.name.startswith(f"{name}--") for ds in found.values() for d in ds)
        return runs == (source.host.name,) and not moving, runs

    try:
        return wait_for(where, timeout=DOMAIN_WAIT_S, interval=1.0,
                        what=f"{name} settled after the failed migration")
    except WaitTimeout:
        return where()[1]


def check_kept_on_source(record: DrillRecord) -> None:
    """The migration failed and the guest runs where it was, once: lost or duplicated is
    critical; moved although cut means the drill proved nothing."""
    both = f"{record.source}, {record.destination}"
    if not record.runs_on:
        fail(record.source, f"{record.guest} running on {record.source} after the failed "
             "migration", f"it runs on neither {both}: the guest is LOST (critical)")
    if len(record.runs_on) > 1:
        fail(record.source, f"{record.guest} running on {record.source} only",
             f"it runs on {both}: the guest is DUPLICATED (critical: two writers on one disk)")
    expect(bool(record.cut), record.source, "the migration cut part-way (the drill's fault)",
           f"it ended before the cut (exit status {record.rc}): the drill proved nothing; "
           "a faster link needs an earlier cut")
    expect(record.rc != 0, record.source, "the toolstack reporting the migration failed",
           f"exit status 0 although its transport was cut ({record.cut})")
    expect(record.runs_on == (record.source,), record.source,
           f"{record.guest} running on {record.source}, where it was",
           f"it runs on {record.runs_on[0]} although the migration failed")
