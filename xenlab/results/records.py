"""Building records (the plugin, on whichever process ran the test): a command, a
migration, a lab, each as JSON-able data with no secret in it."""
from __future__ import annotations

import dataclasses

from typing import Any, Iterable

from xenlab.checks import LabCheckFailed
from xenlab.errors import XenlabError

SHOWN_CHARS = 4000  # of a command's stdout/stderr kept in a record


def command_record(result) -> dict[str, Any]:
    """One xenlab.remote.Result, trimmed for a report."""
    return {"host": result.host, "command": result.command, "rc": result.rc,
            "duration_s": result.duration_s, "stdout": _trim(result.stdout),
            "stderr": _trim(result.stderr)}


def _trim(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    return text[:SHOWN_CHARS] + f"\n... ({len(text) - SHOWN_CHARS} more characters)"


def migration_record(m) -> dict[str, Any]:
    """A xenlab.migration.MigrationRecord's figures and probe timeline."""
    d = m.downtime
    return {"guest": m.guest, "source": m.source, "destination": m.destination,
            "round": getattr(m, "round", None),
            "load": (None if getattr(m, "load", None) is None else
                     dataclasses.asdict(m.load) | {"reached_mib_s": m.load.reached_mib_s}),
            "data": (None if getattr(m, "data", None) is None else dataclasses.asdict(m.data)),
            "started": m.started, "ended": m.ended, "wall_s": round(m.wall_s, 3),
            "downtime_s": None if d.longest_gap_s == float("inf") else round(d.longest_gap_s, 3),
            "gap_start": None if d.gap_start is None else round(d.gap_start - m.started, 3),
            "gap_end": None if d.gap_end is None else round(d.gap_end - m.started, 3),
            "lost": d.lost, "replies": d.replies, "interval_s": d.interval_s,
            "resolution_s": d.resolution_s,
            "timeline": [[round(t, 4), round(rtt, 3)] for t, rtt in d.timeline]} | downtime_parts(m)


def downtime_parts(m) -> dict[str, Any]:
    """Where the downtime went: the toolstack's moments (seconds since the start), its
    pause (suspended until running again), the guest's own longest gap between heartbeats,
    and how much longer the network gap was than the guest's pause."""
    phases, pause = m.phases, m.guest_pause
    gap = m.downtime.longest_gap_s
    return {"phases": None if phases is None else dataclasses.asdict(phases),
            "paused_s": None if phases is None else phases.paused_s,
            "guest_paused_s": None if pause is None else pause.longest_gap_s,
            "heartbeat_resolution_s": None if pause is None else pause.resolution_s,
            "unreachable_beyond_pause_s": (None if pause is None or gap == float("inf")
                                           else round(gap - pause.longest_gap_s, 3))}


def lab_description(lab) -> dict[str, Any]:
    """Hosts, roles, addresses and the guest of a xenlab.inventory.Lab: no secret in it."""
    def roles(spec) -> list[str]:
        found = ["iSCSI target"] if spec == lab.target else []
        if spec in lab.xen_hosts:
            found.append("Xen host")
        if spec == lab.source:
            found.append("migration source")
        if spec == lab.destination:
            found.append("migration destination")
        return found
    return {"name": lab.name, "inventory": str(lab.inventory),
            "hosts": [{"name": h.name, "roles": roles(h), "endpoint": h.endpoint,
                       "lab_ip": h.lab_ip} for h in lab.hosts],
            "guest": {"name": lab.vars.get("guest_name"), "ip": lab.vars.get("guest_ip")},
            "bridge": lab.vars.get("bridge")}


def secrets_of(*labs) -> tuple[str, ...]:
    """Every value a report must not show (xenlab.inventory.HostSpec.secrets, all hosts of
    every lab), longest first."""
    found = {s for lab in labs for spec in lab.hosts for s in spec.secrets}
    return tuple(sorted(found, key=len, reverse=True))


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (str, list, dict: any JSON) with every secret replaced by ***."""
    secrets = tuple(secrets)
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    return value


def failure_data(exc: BaseException | None) -> dict[str, Any]:
    """What a test's failure is about, read from the exception's data, never from its text:
    `failed_host`, the first host it names (a LabCheckFailed's first failed check, or a
    XenlabError's host), and `failures`, each failed check (empty for other errors)."""
    if isinstance(exc, LabCheckFailed):
        return {"failed_host": exc.hosts[0], "failures": [f.data() for f in exc.failures]}
    return {"failed_host": exc.host if isinstance(exc, XenlabError) else None, "failures": []}
