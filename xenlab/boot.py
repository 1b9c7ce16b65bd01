"""What a reboot brings back: the service units a lab needs at boot.

Each stage says what of its part would not come back after a reboot
(`xenlab.checks.RebootFinding`), from what the next boot reads (xenlab.parsers.boot);
the services are read here, with `systemctl is-enabled` (the unit files' links, not
whether the service runs now: a service started by hand runs until the next boot), or
on a SysV system (the article's CentOS 6) the runlevel 3 links chkconfig writes.
"""
from __future__ import annotations

from xenlab.checks import RebootFinding
from xenlab.remote import Host, command_line

# States in which systemd starts a unit at boot, or lets another unit pull it in.
STARTS_AT_BOOT = frozenset({"enabled", "static", "indirect", "generated", "alias",
                            "sysv-enabled"})
NO_SUCH_UNIT = "not-found"
READ_TIMEOUT_S = 15
ENABLE_TIMEOUT_S = 60
NO_SYSTEMCTL = 127  # the shell's "command not found": a SysV init system (CentOS 6)
# SysV init: a service starts in runlevel 3 when an S link to its script is there (what
# chkconfig and update-rc.d write); Debian's and RHEL's rc directories.
SYSV_STATE = ("for d in /etc/rc3.d /etc/rc.d/rc3.d; do ls $d/S[0-9][0-9]%s >/dev/null 2>&1 "
              "&& echo sysv-enabled && exit 0; done; test -e /etc/init.d/%s && echo sysv-disabled; true")


def unit_state(host: Host, unit: str) -> str:
    """`systemctl is-enabled UNIT`: enabled, disabled, masked, static, ...;
    NO_SUCH_UNIT when no such unit is installed. Without systemd, the SysV links."""
    result = host.run("systemctl is-enabled %s", unit, ok=(0, 1, 4, NO_SYSTEMCTL),
                      timeout=READ_TIMEOUT_S)
    if result.rc == NO_SYSTEMCTL:
        result = host.run(SYSV_STATE, unit, unit, timeout=READ_TIMEOUT_S)
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


def enable_line(unit: str, state: str) -> str:
    """The command that makes unit start at boot, for a fix shown to people."""
    if state.startswith("sysv-"):
        return command_line("chkconfig %s on", unit)
    return command_line("systemctl enable -- %s", unit)


def unit_findings(host: Host, units: tuple[str, ...], what: str, why: str
                  ) -> list[RebootFinding]:
    """A finding when the service (`units`: its names by system) would not start at boot:
    `what` is the part of the lab it brings back."""
    unit, state = boot_unit(host, units)
    if starts_at_boot(state):
        return []
    return [RebootFinding(host.name, f"{what} ({unit}.service {state})", why,
                          f"`{enable_line(unit, state)}`")]


def enable_at_boot(host: Host, units: tuple[str, ...], does: str) -> list[str]:
    """Build mode: the service starts at boot (`does`: what it then does); what changed."""
    unit, state = boot_unit(host, units)
    if starts_at_boot(state):
        return []
    host.change("systemctl enable -- %s", unit, timeout=ENABLE_TIMEOUT_S)
    return [f"{host.name}: {unit} enabled ({does})"]
