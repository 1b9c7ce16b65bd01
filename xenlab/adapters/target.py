"""The iSCSI target software of the target host: tgt (scsi-target-utils, the article's).

`detect_target(host)` picks the adapter once (or the inventory names it with
`iscsi_target_software`); stage 1 and 2 read what it exports as neutral data
(`Export`, `ExportedLun`) and never see a tgt type. A new target software is a
subclass with `exports()`, `build()`, `hazards()` and `writing_word()`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from xenlab.checks import Finding, fail
from xenlab.errors import XenlabError
from xenlab.parsers import TgtTarget, parse_tgtadm_show
from xenlab.remote import Host, guard

READ_TIMEOUT_S = 20
START_TIMEOUT_S = 60
SOFTWARE_VAR = "iscsi_target_software"  # inventory: name it instead of detecting it


@dataclass(frozen=True)
class ExportedLun:
    lun: int
    type: str  # "disk" for a block device the initiators see as a disk
    backing_store: str | None  # the device or file behind it
    size_bytes: int
    serial: str  # the SCSI serial number the initiators read (VPD page 0x80)


@dataclass(frozen=True)
class Export:
    """One iSCSI target as its software reports it."""

    iqn: str
    luns: tuple[ExportedLun, ...]
    acls: tuple[str, ...]  # who may log in, in the software's terms (tgt: addresses, ALL)
    accounts: tuple[str, ...]  # CHAP users

    def lun(self, number: int) -> ExportedLun | None:
        return next((lun for lun in self.luns if lun.lun == number), None)


class IscsiTarget:
    """The target software of one host; subclasses say how it is read and configured."""

    software: ClassVar[str]  # shown to people ("tgt"), never compared above this module
    program: ClassVar[str]  # the command the write guard asks writing_word() about

    def __init__(self, host: Host) -> None:
        self.host = host

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.host.name})"

    def exports(self) -> tuple[Export, ...]:
        """Every target the software serves now (read-only)."""
        raise NotImplementedError

    def build(self, iqn: str, backing_store: str, initiator_address: str) -> list[str]:
        """Export the LUN (build mode), changing only what is missing; what changed."""
        raise NotImplementedError

    def hazards(self, export: Export) -> list[Finding]:
        """What is unsafe about the export (anyone may log in, no authentication)."""
        raise NotImplementedError

    @staticmethod
    def writing_word(args: list[str]) -> str | None:
        """For the write guard: what in `PROGRAM ARGS` writes, else None."""
        raise NotImplementedError


class Tgt(IscsiTarget):
    """tgt: targets.conf (or conf.d) loaded by tgtd; read with `tgtadm ... -o show`."""

    software = "tgt"
    program = "tgtadm"
    SHOW = "tgtadm --lld iscsi -m target -o show"
    CONF_D = "/etc/tgt/conf.d"
    CONF_MAIN = "/etc/tgt/targets.conf"
    WRITING_OPS = frozenset({"new", "delete", "bind", "unbind", "update", "start", "stop"})

    def exports(self) -> tuple[Export, ...]:
        # tgtd's own view (its control socket), not targets.conf: a target defined live
        # with tgtadm, or a file not loaded yet, is what the initiators really meet.
        result = self.host.run(self.SHOW, timeout=READ_TIMEOUT_S)
        if result.rc != 0:
            fail(self.host.name, f"tgtd answering `{self.SHOW}`", result.one_line())
        return tuple(_export(t) for t in parse_tgtadm_show(result.stdout))

    @staticmethod
    def stanza(iqn: str, backing_store: str, initiator_address: str) -> str:
        """The article's targets.conf entry."""
        return (f"<target {iqn}>\n    backing-store {backing_store}\n"
                f"    initiator-address {initiator_address}\n</target>\n")

    def build(self, iqn: str, backing_store: str, initiator_address: str) -> list[str]:
        host, changes = self.host, []
        configured = host.run("grep -rls -- %s %s %s", f"<target {iqn}>", self.CONF_MAIN,
                              self.CONF_D)
        if not configured.stdout.strip():
            stanza = self.stanza(iqn, backing_store, initiator_address)
            if host.run("test -d %s", self.CONF_D).rc == 0:
                host.write_file(f"{self.CONF_D}/xenlab.conf", stanza)
                changes.append(f"{host.name}: wrote {self.CONF_D}/xenlab.conf")
            else:
                host.change("printf '%%s' %s >> %s", stanza, self.CONF_MAIN)
                changes.append(f"{host.name}: appended the target to {self.CONF_MAIN}")
        if host.run(self.SHOW, timeout=READ_TIMEOUT_S).rc != 0:
            host.change("systemctl start tgt 2>/dev/null || service tgtd start",
                        timeout=START_TIMEOUT_S)
            changes.append(f"{host.name}: started tgtd")
        elif not any(t.iqn == iqn for t in self.exports()):
            host.change("tgt-admin --update ALL", timeout=START_TIMEOUT_S)
            changes.append(f"{host.name}: loaded the target into the running tgtd "
                           "(tgt-admin --update ALL)")
        return changes

    def hazards(self, export: Export) -> list[Finding]:
        found = []
        if "ALL" in export.acls:
            found.append(Finding(self.host.name,
                                 f"target {export.iqn} accepts any initiator (ACL ALL)",
                                 "any host on the network can log in and write the shared disk",
                                 "initiator-address limited to the Xen hosts' network or names"))
        if not export.accounts:
            found.append(Finding(self.host.name, f"target {export.iqn} has no CHAP account",
                                 "initiators are not authenticated; an address is easy to borrow",
                                 "incominguser/CHAP on the target and node.session.auth on "
                                 "initiators"))
        return found

    @classmethod
    def writing_word(cls, args: list[str]) -> str | None:
        ops = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("-o", "--op")]
        ops += [a.split("=", 1)[1] for a in args if a.startswith("--op=")]
        op = next((o for o in ops if o in cls.WRITING_OPS), None)
        return f"--op {op}" if op else None

    @staticmethod
    def admin_writing_word(args: list[str]) -> str | None:
        """tgt-admin (re)loads targets.conf into tgtd: a write whatever its arguments."""
        return ""


def _export(target: TgtTarget) -> Export:
    # tgt's "Size: N MB" is in units of 1000 * 1000 bytes.
    return Export(
        iqn=target.iqn,
        luns=tuple(ExportedLun(lun.lun, lun.type, lun.backing_store_path,
                               lun.size_mb * 1000 * 1000, lun.scsi_sn) for lun in target.luns),
        acls=target.acls, accounts=target.accounts)


ADAPTERS: tuple[type[IscsiTarget], ...] = (Tgt,)
guard.learn(Tgt.program, Tgt.writing_word)
guard.learn("tgt-admin", Tgt.admin_writing_word)
_DETECT = ("for p in tgtadm; do command -v $p >/dev/null 2>&1 && echo $p; done; "
           "test -d /sys/kernel/config/target/iscsi && echo configfs; true")


def detect_target(host: Host) -> IscsiTarget:
    """The target software on host: the inventory's `iscsi_target_software`, else the
    one whose admin tool is installed (tgt's tgtadm)."""
    named = host.spec.vars.get(SOFTWARE_VAR)
    if named:
        for kind in ADAPTERS:
            if kind.software == named:
                return kind(host)
        raise XenlabError(f"{host.name}: {SOFTWARE_VAR}={named!r} is not a target software "
                          f"xenlab knows ({', '.join(k.software for k in ADAPTERS)})")
    found = host.check(_DETECT, timeout=READ_TIMEOUT_S).stdout.split()
    for kind in ADAPTERS:
        if kind.program in found:
            return kind(host)
    seen = ("the kernel target (LIO, configfs) is configured, which xenlab does not read yet"
            if "configfs" in found else "no tgtadm installed")
    raise XenlabError(f"{host.name}: no iSCSI target software xenlab knows ({seen})", host.name)
