"""The iSCSI target software of the target host: tgt (scsi-target-utils, the article's)
or LIO (the Linux kernel's target, configured with targetcli).

`detect_target(host)` picks the adapter once (or the inventory names it with
`iscsi_target_software`); stage 1 and 2 read what it exports as neutral data
(`Export`, `ExportedLun`) and never see a tgt type. A new target software is a
subclass with `exports()`, `build()`, `hazards()` and `writing_word()`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, ClassVar

from xenlab.boot import enable_at_boot, unit_findings
from xenlab.checks import Finding, RebootFinding, fail
from xenlab.errors import XenlabError
from xenlab.parsers import LioConfig, LioTarget, TgtTarget, parse_lio_configfs, parse_tgtadm_show
from xenlab.parsers.lio import LioTpg
from xenlab.parsers.boot import (SavedLioTarget, TgtConfTarget, parse_lio_saveconfig,
                                 parse_tgt_conf)
from xenlab.remote import Host, guard, write_command

TARGETCLI_DEFAULT_PORT = 3260  # of the portal targetcli-fb gives a new target (0.0.0.0)

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
    acls: tuple[str, ...]  # who may log in, in the software's terms (tgt: addresses, ALL;
    #                        LIO: initiator IQNs)
    accounts: tuple[str, ...]  # CHAP users
    portals: tuple[str, ...] = ()  # "ADDRESS:PORT" it serves on, where the software says
    any_initiator: bool = False  # every initiator may log in (tgt: ACL ALL; LIO: demo mode)

    def lun(self, number: int) -> ExportedLun | None:
        return next((lun for lun in self.luns if lun.lun == number), None)


@dataclass(frozen=True)
class WantedExport:
    """What build mode exports: the inventory's values, in no software's terms."""

    iqn: str
    lun: int
    backing_store: str
    acls: tuple[str, ...]  # the adapter's ACL entries (acl_entries())
    portal: str  # the target's lab address
    port: int


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

    def acl_entries(self, initiator_address: str,
                    initiator_names: Callable[[], dict[str, str]]) -> dict[str, str]:
        """The ACL entries the lab needs, each with whom it admits: tgt admits the
        inventory's network; LIO admits initiator names (initiator_names() gives each
        Xen host's, asked only by the software that needs them)."""
        raise NotImplementedError

    def build(self, want: WantedExport) -> list[str]:
        """Export the LUN (build mode), changing only what is missing; what changed."""
        raise NotImplementedError

    def hazards(self, export: Export) -> list[Finding]:
        """What is unsafe about the export (anyone may log in, no authentication)."""
        raise NotImplementedError

    def after_reboot(self, export: Export, lun: int) -> list[RebootFinding]:
        """What of the export (its LUN `lun`) the target would not serve after a reboot:
        the configuration its boot loads (saved_targets), and the service that loads it."""
        saved = next((t for t in self.saved_targets() if t.iqn == export.iqn), None)
        if saved is None:
            what = f"target {export.iqn} ({self.NOT_SAVED})"
        else:
            differs = self.saved_differences(export, saved, lun)
            what = (f"target {export.iqn}'s {', '.join(differs)} (not in {self.SAVED_WHERE})"
                    if differs else "")
        found = [RebootFinding(self.host.name, what, self.WHY_REBOOT,
                               self.save_fix(export, lun))] if what else []
        return found + unit_findings(self.host, self.BOOT_UNITS, f"the {self.software} service",
                                     self.WHY_REBOOT)

    # What the boot loads, for the findings: where it is, and what "not there" means.
    SAVED_WHERE: ClassVar[str]
    NOT_SAVED: ClassVar[str]

    def saved_targets(self) -> tuple:
        """The targets the configuration loaded at boot defines (read-only)."""
        raise NotImplementedError

    def saved_differences(self, export: Export, saved, lun: int) -> list[str]:
        """What the export serves that its saved definition lacks."""
        raise NotImplementedError

    def save_fix(self, export: Export, lun: int) -> str:
        """The command(s) that save the running export for the next boot."""
        raise NotImplementedError

    # The service that starts the target at boot and loads its configuration, by system.
    BOOT_UNITS: ClassVar[tuple[str, ...]]
    WHY_REBOOT = ("the Xen hosts' logins fail after the target reboots: no shared disk, and "
                  "a running guest loses its disk")

    def _enable_at_boot(self) -> list[str]:
        return enable_at_boot(self.host, self.BOOT_UNITS, "serves the target after a reboot")

    @staticmethod
    def writing_word(args: list[str]) -> str | None:
        """For the write guard: what in `PROGRAM ARGS` writes, else None."""
        raise NotImplementedError


class Tgt(IscsiTarget):
    """tgt: targets.conf (or conf.d) loaded by tgtd; read with `tgtadm ... -o show`."""

    software = "tgt"
    program = "tgtadm"
    SHOW = "tgtadm --lld iscsi -m target -o show"
    BIND = "tgtadm --lld iscsi -m target -o bind -t %s -I %s"
    CONF_D = "/etc/tgt/conf.d"
    CONF_MAIN = "/etc/tgt/targets.conf"
    BOOT_UNITS = ("tgt", "tgtd")  # Debian's, RHEL's (scsi-target-utils)
    SAVED_WHERE = f"{CONF_MAIN} or what it includes"
    NOT_SAVED = f"defined in the running tgtd only, not in {SAVED_WHERE}"
    # What tgtd loads when it starts (tgt-admin -e): targets.conf and the files it includes.
    CONF_READ = ("for f in /etc/tgt/targets.conf $(awk '$1 == \"include\" {print $2}' "
                 "/etc/tgt/targets.conf 2>/dev/null); do [ -f \"$f\" ] && cat -- \"$f\"; "
                 "done; true")
    WRITING_OPS = frozenset({"new", "delete", "bind", "unbind", "update", "start", "stop"})

    def exports(self) -> tuple[Export, ...]:
        # tgtd's own view (its control socket), not targets.conf: a target defined live
        # with tgtadm, or a file not loaded yet, is what the initiators really meet.
        result = self.host.run(self.SHOW, timeout=READ_TIMEOUT_S)
        if result.rc != 0:
            fail(self.host.name, f"tgtd answering `{self.SHOW}`", result.one_line())
        return tuple(_export(t) for t in parse_tgtadm_show(result.stdout))

    def acl_entries(self, initiator_address: str,
                    initiator_names: Callable[[], dict[str, str]]) -> dict[str, str]:
        return {initiator_address: "the lab network"}

    @staticmethod
    def stanza(iqn: str, backing_store: str, acls: tuple[str, ...]) -> str:
        """The article's targets.conf entry."""
        return (f"<target {iqn}>\n    backing-store {backing_store}\n"
                + "".join(f"    initiator-address {acl}\n" for acl in acls) + "</target>\n")

    def build(self, want: WantedExport) -> list[str]:
        host, changes, iqn = self.host, [], want.iqn
        configured = host.run("grep -rls -- %s %s %s", f"<target {iqn}>", self.CONF_MAIN,
                              self.CONF_D)
        if not configured.stdout.strip():
            stanza = self.stanza(iqn, want.backing_store, want.acls)
            if host.run("test -d %s", self.CONF_D).rc == 0:
                host.write_file(f"{self.CONF_D}/xenlab.conf", stanza)
                changes.append(f"{host.name}: wrote {self.CONF_D}/xenlab.conf")
            else:
                host.change("printf '%%s' %s >> %s", stanza, self.CONF_MAIN)
                changes.append(f"{host.name}: appended the target to {self.CONF_MAIN}")
        shown = host.run(self.SHOW, timeout=READ_TIMEOUT_S)
        live = next((t for t in parse_tgtadm_show(shown.stdout) if t.iqn == iqn), None) \
            if shown.rc == 0 else None
        if shown.rc != 0:
            host.change("systemctl start tgt 2>/dev/null || service tgtd start",
                        timeout=START_TIMEOUT_S)
            changes.append(f"{host.name}: started tgtd")
        elif live is None:
            host.change("tgt-admin --update ALL", timeout=START_TIMEOUT_S)
            changes.append(f"{host.name}: loaded the target into the running tgtd "
                           "(tgt-admin --update ALL)")
        else:
            # the running target admits whom the lab needs (an ACL changed live, with
            # tgtadm, is what the initiators meet; targets.conf is the reboot's business)
            for acl in (a for a in want.acls if a not in live.acls):
                host.change(self.BIND, live.tid, acl, timeout=READ_TIMEOUT_S)
                changes.append(f"{host.name}: {acl} admitted to the running target {iqn}")
        return changes + self._enable_at_boot()

    def saved_targets(self) -> tuple[TgtConfTarget, ...]:
        # targets.conf and its includes: what tgtd loads at its start. tgtadm shows what
        # runs now, which a target defined live with tgtadm also is.
        return parse_tgt_conf(self.host.check(self.CONF_READ, timeout=READ_TIMEOUT_S).stdout)

    def saved_differences(self, export: Export, saved: TgtConfTarget, lun: int) -> list[str]:
        served = export.lun(lun)
        return ([f"LUN {lun} on {served.backing_store}"]
                if served and served.backing_store not in saved.backing_stores else [])

    def save_fix(self, export: Export, lun: int) -> str:
        served = export.lun(lun)
        stanza = self.stanza(export.iqn, served.backing_store if served else "", export.acls)
        return f"`{write_command(self.CONF_D + '/xenlab.conf', stanza)}`"

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
        acls=target.acls, accounts=target.accounts, any_initiator="ALL" in target.acls)


class Lio(IscsiTarget):
    """LIO, the kernel's target: configured with targetcli (rtslib), live state in configfs,
    saved to /etc/rtslib-fb-target/saveconfig.json and restored at boot by
    rtslib-fb-targetctl.service."""

    software = "lio"
    program = "targetcli"
    TPG = "tpg1"  # targetcli's name for target portal group 1, the one it creates
    SAVED = "/etc/rtslib-fb-target/saveconfig.json"
    RESTORE_UNIT = "rtslib-fb-targetctl"
    BOOT_UNITS = (RESTORE_UNIT, "target")  # Debian's, RHEL's (targetcli)
    SAVED_WHERE = SAVED
    NOT_SAVED = f"not in {SAVED}; targetcli saves by itself only when its interactive shell exits"
    # configfs is the kernel target's live state: what an initiator meets now. Not
    # `targetcli ls`, which writes its preferences and history under ~/.targetcli even
    # to list, and not saveconfig.json, which is what the next boot restores.
    READ = r"""cd /sys/kernel/config/target 2>/dev/null || exit 0
echo '# files'
grep -Hs '' iscsi/*/tpgt_*/enable iscsi/*/tpgt_*/attrib/generate_node_acls \
  iscsi/*/tpgt_*/attrib/demo_mode_write_protect iscsi/*/tpgt_*/attrib/authentication \
  iscsi/*/tpgt_*/acls/*/auth/userid core/*/*/udev_path core/*/*/wwn/vpd_unit_serial \
  core/*/*/info
echo '# tree'
find iscsi 2>/dev/null -mindepth 2 -maxdepth 5 -path '*/tpgt_*' \( -type l -printf '%p -> %l\n' -o \
  -type d \( -path '*/np/*' -o -path '*/acls/*' -o -name 'tpgt_*' \) -printf '%p/\n' \)
echo '# sizes'
for dev in $(cat core/iblock_*/*/udev_path 2>/dev/null); do
  echo "$dev $(blockdev --getsize64 "$dev" 2>/dev/null)"
done
true"""
    READS = frozenset({"ls", "get", "info", "pwd", "help", "version", "status",
                       "--version", "-v", "--help", "-h"})
    WRITING_TARGETCTL = frozenset({"restore", "save", "clear"})

    def config(self) -> LioConfig:
        result = self.host.run(self.READ, timeout=READ_TIMEOUT_S)
        if result.rc != 0:
            fail(self.host.name, "configfs of the kernel target readable", result.one_line())
        return parse_lio_configfs(result.stdout)

    def exports(self) -> tuple[Export, ...]:
        config = self.config()
        out = []
        for target in config.targets:
            tpgs = [t for t in target.tpgs if t.enabled]  # a disabled TPG refuses logins
            luns = []
            for tpg in tpgs:
                for number, key in tpg.luns:
                    store = config.backstore(key)
                    luns.append(ExportedLun(
                        number, "disk", store.path if store else None,
                        (store.size_bytes or 0) if store else 0, store.serial if store else ""))
            out.append(Export(
                iqn=target.iqn, luns=tuple(luns),
                acls=tuple(a for t in tpgs for a in t.acls),
                accounts=tuple(u for t in tpgs for u in t.acl_users)
                if any(t.authentication for t in tpgs) else (),
                portals=tuple(p for t in tpgs for p in t.portals),
                any_initiator=any(t.generate_node_acls for t in tpgs)))
        return tuple(out)

    def acl_entries(self, initiator_address: str,
                    initiator_names: Callable[[], dict[str, str]]) -> dict[str, str]:
        return {iqn: host for host, iqn in initiator_names().items()}

    def build(self, want: WantedExport) -> list[str]:
        host, changes = self.host, []
        config = self.config()
        here = f"/iscsi/{want.iqn}/{self.TPG}"

        def targetcli(*words: str, what: str) -> None:
            host.change("targetcli" + " %s" * len(words), *words, timeout=START_TIMEOUT_S)
            changes.append(f"{host.name}: {what} (targetcli {' '.join(words)})")

        store = next((b for b in config.backstores if b.path == want.backing_store), None)
        # targetcli's directory for configfs's plugin name (iblock_N is /backstores/block)
        kind = {"iblock": "block", "rd_mcp": "ramdisk"}.get(store.plugin, store.plugin) \
            if store else "block"
        name = store.name if store else "xenlab"
        if store is None:
            targetcli("/backstores/block", "create", f"name={name}", f"dev={want.backing_store}",
                      what=f"backstore {name} on {want.backing_store}")
        target = next((t for t in config.targets if t.iqn == want.iqn), None)
        if target is None:
            targetcli("/iscsi", "create", want.iqn, what=f"target {want.iqn}")
            config = self.config()
            target = next((t for t in config.targets if t.iqn == want.iqn), None)
            if target is None and host.planning:  # what targetcli-fb creates: tpg1 on 0.0.0.0
                target = LioTarget(want.iqn, (LioTpg(1, True, (), (), (), (), (
                    f"0.0.0.0:{TARGETCLI_DEFAULT_PORT}",), False, True, False),))
            # targetcli's default portal is 0.0.0.0: every address of the host
            for portal in target.tpgs[0].portals:
                address, _, port = portal.rpartition(":")
                targetcli(f"{here}/portals", "delete", address, port,
                          what=f"default portal {portal} removed")
            target = LioTarget(want.iqn, (replace(target.tpgs[0], portals=()),))
        if not target.tpgs:
            fail(host.name, f"a target portal group on {want.iqn}", "none (made without "
                 "targetcli? `targetcli /iscsi/<iqn> create` adds tpg1)")
        tpg = target.tpgs[0]
        here = f"/iscsi/{want.iqn}/tpg{tpg.tag}"
        if not any(n == want.lun for n, _ in tpg.luns):
            targetcli(f"{here}/luns", "create", f"/backstores/{kind}/{name}", f"lun={want.lun}",
                      what=f"LUN {want.lun} on {want.iqn}")
        for acl in want.acls:
            if acl not in tpg.acls:
                targetcli(f"{here}/acls", "create", acl, what=f"ACL for {acl}")
        served = {p.rpartition(":")[0] for p in tpg.portals
                  if p.rpartition(":")[2] == str(want.port)}
        if not served & {want.portal, "0.0.0.0", "[::0]", "[::]"}:
            targetcli(f"{here}/portals", "create", want.portal, str(want.port),
                      what=f"portal {want.portal}:{want.port}")
        # targetcli saves by itself only when its interactive shell exits: a lab set up
        # with one-shot commands (as scripts and many students do) is lost at reboot.
        if changes or self.host.run("grep -qs -- %s %s", want.iqn, self.SAVED).rc != 0:
            targetcli("saveconfig", what=f"saved to {self.SAVED}")
        return changes + self._enable_at_boot()

    def saved_targets(self) -> tuple[SavedLioTarget, ...]:
        # saveconfig.json: what targetctl restores at boot. configfs is what runs now, and
        # targetcli's one-shot commands change only that.
        text = self.host.read_file(self.SAVED)
        return parse_lio_saveconfig(text) if text and text.strip() else ()

    def saved_differences(self, export: Export, saved: SavedLioTarget, lun: int) -> list[str]:
        served = export.lun(lun)
        differs = [f"LUN {lun} on {served.backing_store}"] if served and (
            (lun, served.backing_store) not in saved.luns) else []
        return differs + [f"ACL {a}" for a in export.acls if a not in saved.acls]

    def save_fix(self, export: Export, lun: int) -> str:
        return f"`targetcli saveconfig` (writes {self.SAVED})"

    def hazards(self, export: Export) -> list[Finding]:
        found = []
        if export.any_initiator:
            found.append(Finding(self.host.name,
                                 f"target {export.iqn} accepts any initiator "
                                 "(generate_node_acls=1, demo mode)",
                                 "any host on the network can log in and write the shared disk",
                                 "set attribute generate_node_acls=0 and create an ACL per "
                                 "Xen host's initiator name"))
        if not export.accounts:
            found.append(Finding(self.host.name, f"target {export.iqn} has no authentication",
                                 "initiators are not authenticated; an initiator name is easy "
                                 "to borrow",
                                 "set attribute authentication=1 and a CHAP userid/password "
                                 "on each ACL; node.session.auth on the initiators"))
        wild = [p for p in export.portals if p.rpartition(":")[0] in ("0.0.0.0", "[::0]", "[::]")]
        if wild:
            found.append(Finding(self.host.name,
                                 f"target {export.iqn} serves on every address ({wild[0]})",
                                 "the LUN is offered on every network the target is on",
                                 "a portal on the target's lab address only"))
        return found

    @classmethod
    def writing_word(cls, args: list[str]) -> str | None:
        words = [a for a in args if not a.startswith("/") and "=" not in a]
        if not words:
            return "(interactive shell)" if not args else None
        return None if words[0] in cls.READS else words[0]

    @classmethod
    def targetctl_writing_word(cls, args: list[str]) -> str | None:
        return next((a for a in args if a in cls.WRITING_TARGETCTL), None)


ADAPTERS: tuple[type[IscsiTarget], ...] = (Tgt, Lio)
guard.learn(Tgt.program, Tgt.writing_word)
guard.learn("tgt-admin", Tgt.admin_writing_word)
guard.learn(Lio.program, Lio.writing_word)
guard.learn("targetctl", Lio.targetctl_writing_word)
# What is installed, and what serves: tgtd answering on its control socket; the kernel
# target with a target portal group in configfs. All reads.
_DETECT = ("for p in tgtadm targetcli; do command -v $p >/dev/null 2>&1 && echo $p; done; "
           "tgtadm --lld iscsi -m target -o show >/dev/null 2>&1 && echo tgtd; "
           "ls -d /sys/kernel/config/target/iscsi/*/tpgt_* >/dev/null 2>&1 && echo configfs; "
           "true")


def detect_target(host: Host) -> IscsiTarget:
    """The target software on host: the inventory's `iscsi_target_software`, else the one
    that serves (tgtd answering: tgt; a target in the kernel's configfs: LIO), else the one
    installed (tgt when both are: the article's)."""
    named = host.spec.vars.get(SOFTWARE_VAR)
    if named:
        for kind in ADAPTERS:
            if kind.software == named:
                return kind(host)
        raise XenlabError(f"{host.name}: {SOFTWARE_VAR}={named!r} is not a target software "
                          f"xenlab knows ({', '.join(k.software for k in ADAPTERS)})", host.name)
    found = set(host.check(_DETECT, timeout=READ_TIMEOUT_S).stdout.split())
    if {"tgtd", "configfs"} <= found:
        raise XenlabError(f"{host.name}: both tgtd and the kernel target (LIO) serve iSCSI "
                          f"targets; name the lab's with {SOFTWARE_VAR}=tgt or "
                          f"{SOFTWARE_VAR}=lio in the inventory", host.name)
    if "tgtd" in found:
        return Tgt(host)
    if "configfs" in found:
        return Lio(host)
    for kind in ADAPTERS:
        if kind.program in found:
            return kind(host)
    raise XenlabError(f"{host.name}: no iSCSI target software installed (neither tgtadm "
                      "nor targetcli)", host.name)
