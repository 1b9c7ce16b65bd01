"""Stage 9: what a migration leaves behind on the Xen hosts (osstest's leak check, for one
guest and one move), and exactly one guest.

Both hosts are read before and after each migration, read-only:
- the domains, from the toolstack (`xl list`): the hypervisor's own list;
- the ports of the lab's bridge (sysfs brif: what the kernel has plugged in, whatever
  made it) and, per backend kind, the domains dom0's xenstore holds backend entries for
  (`xenstore-list /local/domain/0/backend/KIND`: the device model's and the hotplug
  scripts' bookkeeping, which a failed teardown leaves behind);
- the iSCSI sessions (iscsiadm: the kernel's sessions) and the shared mount (the kernel's
  mount table).

After the move, on the two hosts together: the guest runs exactly once, under its own name;
no `NAME--incoming` / `NAME--migratedaway` domain is left (xl's names for the two halves
of a move); no vif port and no backend entry belongs to a domain that no longer exists; the
sessions and the mount are those of before. A leak fails with what leaked, where.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, TypeVar

from xenlab.adapters.toolstack import Toolstack
from xenlab.checks import CheckFailure
from xenlab.parsers import BackendInventory, Domain, parse_backend_inventory, parse_sessions
from xenlab.parsers.xen import BACKEND_KINDS
from xenlab.stages import on_each, storage
from xenlab.stages.initiators import NO_SESSIONS

# xl's names of a domain in the middle of a move (libxl: the receiving side is created as
# NAME--incoming, the sending side renamed NAME--migratedaway until it is destroyed)
MOVING_SUFFIXES = ("--incoming", "--migratedaway")
R = TypeVar("R")  # a move's record (MigrationRecord, DrillRecord): it has `leaked`
BACKEND_INVENTORY = ("echo @@ports; ls -1 /sys/class/net/%s/brif 2>/dev/null; "
                     + "".join(f"echo @@{k}; xenstore-list /local/domain/0/backend/{k} "
                               "2>/dev/null; " for k in BACKEND_KINDS) + "true")


@dataclass(frozen=True)
class HostState:
    """One Xen host as a leak check reads it."""

    host: str
    domains: tuple[Domain, ...]
    dom0: BackendInventory
    sessions: tuple[str, ...]  # "IQN at ADDRESS:PORT"
    mount: str | None  # "SOURCE FSTYPE" of the shared mount point; None: not mounted


def read_state(toolstack: Toolstack, bridge: str, mountpoint: str) -> HostState:
    host = toolstack.host
    dom0 = parse_backend_inventory(host.check(BACKEND_INVENTORY, bridge, timeout=20).stdout)
    listed = host.run("iscsiadm -m session", ok=(0, NO_SESSIONS), timeout=20)
    sessions = tuple(sorted(f"{s.iqn} at {s.address}:{s.port}"
                            for s in parse_sessions(listed.stdout)))
    mount = storage.mount_of(host, mountpoint)
    return HostState(host.name, toolstack.domains(), dom0, sessions,
                     f"{mount.source} {mount.fstype}" if mount else None)


def read_both(toolstacks: tuple[Toolstack, Toolstack], bridge: str, mountpoint: str
              ) -> dict[str, HostState]:
    found = on_each(toolstacks, lambda t: read_state(t, bridge, mountpoint))
    return {s.host: s for s in found}


def audited(toolstacks: tuple[Toolstack, Toolstack], guest: str, bridge: str,
            mountpoint: str, move: Callable[[], R]) -> R:
    """move() (a migration, a drill) with both hosts read before and after it: its record
    with `leaked` set to what it left behind."""
    before = read_both(toolstacks, bridge, mountpoint)
    record = move()
    after = read_both(toolstacks, bridge, mountpoint)
    return dataclasses.replace(record, leaked=tuple(leaks(guest, before, after)))


def leaks(guest: str, before: dict[str, HostState], after: dict[str, HostState]
          ) -> list[CheckFailure]:
    """What the move left behind, each a failure naming host, expected, seen; [] when
    nothing leaked and the guest runs once."""
    found = []
    both = ", ".join(after)
    instances = [(s.host, d) for s in after.values() for d in s.domains if d.name == guest]
    live = [(h, d) for h, d in instances if not (d.shutdown or d.crashed)]
    if len(live) != 1:
        seen = "; ".join(f"{d.name} (id {d.domid}, {d.state}) on {h}" for h, d in instances)
        verdict = ("the guest is LOST (critical)" if not live else
                   "the guest is DUPLICATED (critical: two writers on one disk)")
        found.append(CheckFailure(live[0][0] if live else next(iter(after)),
                                  f"exactly one running {guest} across {both}",
                                  f"{seen or 'none'}: {verdict}"))
    for state in after.values():
        where = state.host
        ids = {d.domid for d in state.domains}
        moving = [d.name for d in state.domains if d.name.endswith(MOVING_SUFFIXES)]
        if moving:
            found.append(CheckFailure(where, f"no half-moved domain ({' or '.join(MOVING_SUFFIXES)})",
                                      ", ".join(moving)))
        orphans = [f"{p} (no domain {d})" for p, d in state.dom0.port_domids().items()
                   if d not in ids]
        if orphans:
            found.append(CheckFailure(where, "no vif of a domain that is gone on the bridge",
                                      ", ".join(orphans)))
        stale = [f"backend/{kind}/{d}" for kind, domids in state.dom0.backends for d in domids
                 if d not in ids]
        if stale:
            found.append(CheckFailure(where, "no xenstore backend entry of a domain that is gone",
                                      ", ".join(stale)))
        was = before.get(where)
        if was is not None and was.sessions != state.sessions:
            found.append(CheckFailure(where, f"the iSCSI sessions of before ({_list(was.sessions)})",
                                      _list(state.sessions)))
        if was is not None and was.mount != state.mount:
            found.append(CheckFailure(where, f"the shared mount of before ({was.mount or 'none'})",
                                      state.mount or "not mounted"))
    return found


def _list(items: tuple[str, ...]) -> str:
    return ", ".join(items) or "none"
