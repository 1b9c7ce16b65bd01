"""What a reboot brings back: the service units a lab needs at boot.

Each stage says what of its part would not come back after a reboot
(`xenlab.checks.RebootFinding`), from what the next boot reads (xenlab.parsers.boot);
the services are read here, with `systemctl is-enabled` (the unit files' links, not
whether the service runs now: a service started by hand runs until the next boot).
"""
from __future__ import annotations

from xenlab.remote import Host

# States in which systemd starts a unit at boot, or lets another unit pull it in.
STARTS_AT_BOOT = frozenset({"enabled", "static", "indirect", "generated", "alias"})
NO_SUCH_UNIT = "not-found"
READ_TIMEOUT_S = 15


def unit_state(host: Host, unit: str) -> str:
    """`systemctl is-enabled UNIT`: enabled, disabled, masked, static, ...;
    NO_SUCH_UNIT when no such unit is installed."""
    result = host.run("systemctl is-enabled %s", unit, ok=(0, 1, 4), timeout=READ_TIMEOUT_S)
    state = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    return state or NO_SUCH_UNIT


def boot_unit(host: Host, units: tuple[str, ...]) -> tuple[str, str]:
    """The first of `units` (the same service's names on different systems, e.g. tgt and
    tgtd) that is installed, with its state; (units[0], NO_SUCH_UNIT) when none is."""
    for unit in units:
        state = unit_state(host, unit)
        if state != NO_SUCH_UNIT:
            return unit, state
    return units[0], NO_SUCH_UNIT


def starts_at_boot(state: str) -> bool:
    return state in STARTS_AT_BOOT
