"""The Xen toolstack of a host: `xl` (Xen >= 4.1, the only one from 4.5) or `xm` (xend, <= 4.4).

Like testinfra's Service -> Systemd/SysV, `detect(host)` picks the adapter
once; everything above it speaks Toolstack's capability methods (`fits`,
`relocation_config`, `builds_relocation`, ...), never the command's name. Every
command goes through the host: reads with check(), create/destroy with change()
(build mode only), the migration with migrate() (the one write verify mode allows).
"""
from __future__ import annotations

import shlex
from typing import ClassVar

from xenlab.errors import XenlabError
from xenlab.parsers import (Domain, DomainDisk, XenInfo, parse_domain_disks, parse_domain_list,
                            parse_domain_types, parse_xen_info)
from xenlab.remote import command_line, Host, Result, guard

# The toolstack subcommands that only read (any other one writes): what the verify-mode
# write guard lets through.
READ_SUBCOMMANDS = frozenset({"list", "info", "dmesg", "uptime", "vcpu-list", "network-list",
                              "block-list", "pci-list", "log", "-V", "version", "help",
                              "console"})

READ_TIMEOUT_S = 30
CREATE_TIMEOUT_S = 120
DESTROY_TIMEOUT_S = 60
PROBE_TIMEOUT_S = 10
# After the connection: SSH's key exchange and login. ~3 s between idle TCG dom0s;
# 8 at once (the box verified as 4 labs side by side) took more than 15 s.
PROBE_LOGIN_S = 20


class Toolstack:
    """One host's toolstack; subclasses say how each operation is spelled."""

    command: ClassVar[str]  # the program; shown to people, never compared above this module
    migrate_template: ClassVar[str]  # with %s for the domain and the destination address
    relocation_path: ClassVar[str]  # what relocation_check() proves, with {address} and {port}
    log_path: ClassVar[str]  # where the toolstack says why a domain ended, with {name}
    # The relocation server's configuration file on a host, where the toolstack has a
    # relocation server (xend); None where migration needs none (xl: SSH).
    relocation_config: ClassVar[str | None] = None
    # Whether build mode can set up the relocation path (xl: root SSH trust; xenlab does
    # not edit xend-config.sxp).
    builds_relocation: ClassVar[bool] = False
    newest_xen: ClassVar[tuple[int, int] | None] = None  # the last Xen it runs on (None: any)

    def __init__(self, host: Host) -> None:
        self.host = host

    def fits(self, info: XenInfo) -> bool:
        """Whether this toolstack belongs on that Xen (xm was removed in Xen 4.5)."""
        return self.newest_xen is None or (info.xen_major, info.xen_minor) <= self.newest_xen

    @staticmethod
    def writing_word(args: list[str]) -> str | None:
        """For the write guard: what in `xl|xm ARGS` writes (e.g. "create"), else None."""
        sub = next((a for a in args if not a.startswith("-") or a == "-V"), None)
        return None if sub is None or sub in READ_SUBCOMMANDS else sub

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host.name})"

    def info(self) -> XenInfo:
        return parse_xen_info(self.host.check(f"{self.command} info",
                                              timeout=READ_TIMEOUT_S).stdout)

    def domains(self) -> tuple[Domain, ...]:
        # The hypervisor's domains as the toolstack lists them (xl: libxl asks Xen), not
        # xendomains or a saved state: a domain that runs is what migrates.
        return parse_domain_list(self.host.check(f"{self.command} list",
                                                 timeout=READ_TIMEOUT_S).stdout)

    def domain(self, name: str) -> Domain | None:
        return next((d for d in self.domains() if d.name == name), None)

    def domain_type(self, name: str) -> str | None:
        """The running domain's type ("pv", "pvh", "hvm"), as the toolstack holds it; None
        where this toolstack does not say."""
        return None

    def disks(self, name: str) -> tuple[DomainDisk, ...]:
        """The running domain's disks, as the toolstack holds them."""
        raise XenlabError(f"{self.host.name}: the data check reads a running domain's disks "
                          f"from `xl list -l`; {self.command} does not say them", self.host.name)

    def create(self, config_path: str) -> Result:
        return self.host.change(f"{self.command} create %s", config_path, timeout=CREATE_TIMEOUT_S)

    def destroy(self, name: str) -> Result:
        return self.host.change(f"{self.command} destroy %s", name, timeout=DESTROY_TIMEOUT_S)

    def destroy_command(self, name: str) -> str:
        """The command destroy() runs, for a fix shown to people."""
        return command_line(f"{self.command} destroy %s", name)

    def migrate(self, name: str, dest_address: str, timeout: float,
                ok: tuple[int, ...] = (0,), stamps: list | None = None) -> Result:
        """Live-migrate `name` to dest_address; the Result is the toolstack's own account
        (`ok`: the exit statuses that are not an error, e.g. any in a failure drill;
        `stamps`: filled as its output arrives, xenlab.remote.timed_lines)."""
        return self.host.migrate(self.migrate_template, name, dest_address, timeout=timeout,
                                 ok=ok, stamps=stamps)

    # The failure drill (-m drill): a migration's transport on the sending host, found,
    # measured and cut while the guest's memory streams through it.
    transport_pattern: ClassVar[str | None] = None  # pgrep -f pattern; None: nothing to cut

    def migration_transport(self) -> tuple[int, int] | None:
        """(pid, bytes it has written) of the migration's transport process on this host;
        None while there is none. Read from /proc (the kernel's count of the process's
        writes), read-only."""
        if self.transport_pattern is None:
            raise XenlabError(f"{self.host.name}: {self.command} migrates through no transport "
                              "process xenlab can cut (the drill cuts xl's SSH stream)",
                              self.host.name)
        shown = self.host.check(
            "p=$(pgrep -f -- %s | head -n 1); [ -n \"$p\" ] || exit 0; "
            "echo \"$p $(awk '/^wchar:/ {print $2}' /proc/$p/io 2>/dev/null)\"",
            self.transport_pattern, timeout=READ_TIMEOUT_S).stdout.split()
        if len(shown) == 2 and all(word.isdigit() for word in shown):
            return int(shown[0]), int(shown[1])
        if not shown or len(shown) == 1:  # none, or it ended between pgrep and /proc
            return None
        raise XenlabError(f"{self.host.name}: unexpected transport reading {' '.join(shown)!r}",
                          self.host.name)

    def cut_migration(self, pid: int) -> Result:
        """Kill the migration's transport process (the drill's fault): the stream breaks
        mid-transfer, as a network cut or a crashed receiver would break it."""
        return self.host.drill("kill -TERM %s", pid, timeout=READ_TIMEOUT_S, ok=(0, 1))

    def console_command(self, name: str) -> str:
        return f"{self.command} console {shlex.quote(name)}"

    def relocation_check(self, dest_address: str, port: int) -> Result:
        """Probe, from this host, the path a migration to dest_address takes (rc 0: it works)."""
        return self.host.run(*self.relocation_probe(dest_address, port),
                             timeout=PROBE_TIMEOUT_S + PROBE_LOGIN_S)

    def relocation_probe(self, dest_address: str, port: int) -> tuple[str, ...]:
        """(command template, its args) for relocation_check."""
        raise NotImplementedError

    def last_log_line(self, name: str) -> str:
        """The toolstack log's last line, e.g. why `name` ended ('' if none)."""
        result = self.host.run("tail -n 1 -- %s", self.log_path.format(name=name),
                               timeout=READ_TIMEOUT_S)
        return result.stdout.strip() if result.ok else ""


class Xl(Toolstack):
    """xl: `xl migrate` runs `xl migrate-receive` on the destination over root SSH."""

    command = "xl"
    # no -l: xl migrates live anyway. -vvv: libxl's debug lines say when the guest was
    # suspended (xenlab.parsers.migrationlog), which xl says at no lower level.
    migrate_template = "xl -vvv migrate %s %s"
    # xl's transport: `ssh DEST xl migrate-receive`, spawned by `xl migrate` (measured on the
    # box: cut at 60 MB of 192 MiB, xl said "Migration failed, resuming at sender", the
    # receiver destroyed its NAME--incoming)
    transport_pattern = "^ssh .*xl .*migrate-receive"  # xl -vvv: `xl -vvv migrate-receive`
    relocation_path = "root SSH to {address} without a password (xl migrate's channel)"
    log_path = "/var/log/xen/xl-{name}.log"
    builds_relocation = True

    def domain_type(self, name: str) -> str | None:
        # libxl's own record of the running domain (`xl list -l`), not the config file.
        return parse_domain_types(self._long_list(name)).get(name)

    def disks(self, name: str) -> tuple[DomainDisk, ...]:
        # libxl's record of the running domain: a disk attached since its start is there,
        # an edit of its config file since is not.
        return parse_domain_disks(self._long_list(name)).get(name, ())

    def _long_list(self, name: str) -> str:
        """`xl list -l NAME`: libxl's JSON record of the running domain."""
        return self.host.check("xl list -l %s", name, timeout=READ_TIMEOUT_S).stdout

    def relocation_probe(self, dest_address: str, port: int) -> tuple[str, ...]:
        return ("ssh -o BatchMode=yes -o StrictHostKeyChecking=yes "
                f"-o ConnectTimeout={PROBE_TIMEOUT_S} %s true", f"root@{dest_address}")


class Xm(Toolstack):
    """xm: xend's relocation server on the destination (TCP, no authentication)."""

    command = "xm"
    migrate_template = "xm migrate -l %s %s"
    relocation_path = "xend's relocation server {address}:{port} accepting connections"
    log_path = "/var/log/xen/xend.log"
    relocation_config = "/etc/xen/xend-config.sxp"
    newest_xen = (4, 4)

    def relocation_probe(self, dest_address: str, port: int) -> tuple[str, ...]:
        # bash's /dev/tcp: no nc/telnet needed on an old dom0
        return (f"timeout {PROBE_TIMEOUT_S} bash -c %s",
                f"exec 3<>/dev/tcp/{dest_address}/{int(port)}")


# xm first: on Xen <= 4.4 both exist, and while xend runs it owns the domains.
_DETECT = ("if command -v xm >/dev/null 2>&1 && xm info >/dev/null 2>&1; then echo xm; "
           "elif command -v xl >/dev/null 2>&1 && xl info >/dev/null 2>&1; then echo xl; "
           "else echo none; xl info 2>&1 | head -n 1; xm info 2>&1 | head -n 1; fi")


def detect(host: Host) -> Toolstack:
    """The toolstack that answers on host: xm while xend answers, else xl."""
    result = host.check(_DETECT, timeout=READ_TIMEOUT_S)
    found, *why = result.stdout.strip().splitlines() or ["none"]
    for kind in (Xl, Xm):
        if found == kind.command:
            return kind(host)
    seen = " | ".join(line.strip() for line in why if line.strip()) or "empty output"
    raise XenlabError(f"{host.name}: no Xen toolstack answers (`xl info` / `xm info`); "
                      f"saw: {seen}", host.name)


class Toolstacks:
    """Each host's toolstack, detected on first use and kept for the run (one detection
    per host, whichever stage asks first)."""

    def __init__(self) -> None:
        self._found: dict[str, Toolstack] = {}

    def __getitem__(self, host: Host) -> Toolstack:
        if host.name not in self._found:
            self._found[host.name] = detect(host)
        return self._found[host.name]


for _kind in (Xl, Xm):
    guard.learn(_kind.command, _kind.writing_word)
