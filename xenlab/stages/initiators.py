"""Stage 2: both Xen hosts log in to the target and see the same disk."""
from __future__ import annotations

from dataclasses import dataclass

from xenlab.boot import enable_at_boot, unit_findings
from xenlab.checks import RebootFinding, expect
from xenlab.errors import ParseError, XenlabError
from xenlab.parsers import (BlockDevice, IscsiSessionDetail, parse_discovery,
                            parse_initiator_name, parse_lsblk_json, parse_session_detail,
                            parse_sessions)
from xenlab.parsers.boot import NodeRecord, parse_node_records
from xenlab.remote import Host, command_line

NO_SESSIONS = 21  # iscsiadm's exit status for "No active sessions" (and "No records found")
NODE_SHOW = "iscsiadm -m node -T %s -p %s -o show"
STARTUP_AUTOMATIC = "iscsiadm -m node -T %s -p %s -o update -n node.startup -v automatic"
# The service that logs in at boot to every node whose startup is automatic: Debian's
# open-iscsi, RHEL's iscsi.
BOOT_LOGIN_UNITS = ("open-iscsi", "iscsi")
INITIATOR_NAME_VAR = "iscsi_initiator_name"  # inventory: a Xen host's IQN, for LIO's ACLs
INITIATOR_FILE = "/etc/iscsi/initiatorname.iscsi"
LSBLK = "lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT,SERIAL,WWN,PTTYPE -- %s"


@dataclass(frozen=True)
class SharedDisk:
    """The LUN as one Xen host sees it."""

    host: str
    device: BlockDevice


def initiator_name(host: Host) -> str:
    """The host's iSCSI initiator name: the inventory's `iscsi_initiator_name`, else the
    one in its initiatorname.iscsi."""
    named = host.spec.vars.get(INITIATOR_NAME_VAR)
    if named:
        return named
    # The file iscsid reads when it starts and presents at every login: the name a
    # target's ACL must hold (`iscsiadm` has no query for it without a session).
    text = host.read_file(INITIATOR_FILE)
    if text is None:
        raise XenlabError(f"{host.name}: no initiator name: {INITIATOR_FILE} missing "
                          f"(install open-iscsi, or set {INITIATOR_NAME_VAR} in the inventory)",
                          host.name)
    try:
        return parse_initiator_name(text)
    except ParseError as exc:
        raise XenlabError(f"{host.name}: no initiator name in {INITIATOR_FILE}: {exc.reason}",
                          host.name) from None


def build(host: Host, iqn: str, portal: str, port: int) -> list[str]:
    changes = []
    sessions = parse_sessions(host.run("iscsiadm -m session", ok=(0, NO_SESSIONS)).stdout)
    if not any(s.iqn == iqn and s.address == portal for s in sessions):
        changes += _log_in(host, iqn, portal, port)
    return changes + _persist_login(host, iqn, portal, port)


def _log_in(host: Host, iqn: str, portal: str, port: int) -> list[str]:
    host.change("systemctl start iscsid 2>/dev/null || service iscsid start", timeout=60)
    discovered = host.change("iscsiadm -m discovery -t st -p %s", f"{portal}:{port}",
                             timeout=30)
    if not host.planning:  # a planned discovery answers nothing
        found = parse_discovery(discovered.stdout)
        expect(any(t.iqn == iqn for t in found), host.name,
               f"discovery at {portal}:{port} to offer {iqn}", [t.iqn for t in found])
    host.change("iscsiadm -m node -T %s -p %s -l", iqn, f"{portal}:{port}", timeout=60)
    host.change("udevadm settle --timeout=30", timeout=40)
    return [f"{host.name}: logged in to {iqn} at {portal}:{port}"]


def _persist_login(host: Host, iqn: str, portal: str, port: int) -> list[str]:
    """The login comes back at boot: the node's startup automatic, the boot login enabled."""
    changes = []
    records = node_records(host, iqn, portal, port)
    # planned before the discovery that makes the record (open-iscsi makes it manual)
    if (host.planning and not records) or any(r.startup != "automatic" for r in records):
        host.change(STARTUP_AUTOMATIC, iqn, f"{portal}:{port}", timeout=30)
        changes.append(f"{host.name}: node {iqn} at {portal}:{port} logs in at boot "
                       "(node.startup = automatic)")
    return changes + enable_at_boot(host, BOOT_LOGIN_UNITS,
                                    "logs in to automatic nodes at boot")


def node_records(host: Host, iqn: str, portal: str, port: int) -> tuple[NodeRecord, ...]:
    """The node records for iqn at portal: () when there is none."""
    # open-iscsi's node database (/etc/iscsi/nodes, through `iscsiadm -o show`): what its
    # boot service logs in from, not the live session, which a manual login also makes.
    result = host.run(NODE_SHOW, iqn, f"{portal}:{port}", ok=(0, NO_SESSIONS), timeout=20)
    return parse_node_records(result.stdout) if result.rc == 0 else ()


def after_reboot(host: Host, iqn: str, portal: str, port: int) -> list[RebootFinding]:
    """What of the host's login to the target a reboot would not bring back."""
    found, where = [], f"{portal}:{port}"
    why = ("without the session there is no shared disk after the reboot: no mount, no guest "
           "image, no migration to or from this host")
    records = node_records(host, iqn, portal, port)
    manual = sorted({r.startup for r in records if r.startup != "automatic"})
    if not records:
        found.append(RebootFinding(
            host.name, f"the login to {iqn} at {where} (no node record)", why,
            f"`iscsiadm -m discovery -t st -p {where}` then "
            f"`{command_line(STARTUP_AUTOMATIC, iqn, where)}`"))
    elif manual:
        found.append(RebootFinding(
            host.name, f"the login to {iqn} at {where} (node.startup = {', '.join(manual)})",
            why + "; open-iscsi logs in at boot only to nodes whose startup is automatic",
            f"`{command_line(STARTUP_AUTOMATIC, iqn, where)}`"))
    return found + unit_findings(host, BOOT_LOGIN_UNITS, "the boot-time iSCSI login", why)


def check_session(host: Host, iqn: str, portal: str) -> tuple[str, ...]:
    """The host has a logged-in session to iqn at portal; returns its attached disks."""
    # iscsid's live sessions (the kernel's, through iscsiadm), not the node records a
    # discovery left behind: a record is not a login.
    result = host.run("iscsiadm -m session -P 3", ok=(0, NO_SESSIONS), timeout=20)
    sessions = parse_session_detail(result.stdout)
    mine = [s for s in sessions if s.iqn == iqn and s.address == portal]
    expect(bool(mine), host.name, f"an iSCSI session to {iqn} at {portal}",
           ", ".join(f"{s.iqn} at {s.address}" for s in sessions) or "no session")
    expect(mine[0].state == "LOGGED_IN", host.name, f"session to {iqn} LOGGED_IN",
           session_state(mine[0]))
    return mine[0].disks


def session_state(session: IscsiSessionDetail) -> str:
    """What a session's state says, with the way out when iscsid is reopening it."""
    seen = (f"{session.state} (connection {session.connection_state}, "
            f"iscsid {session.iscsid_state})")
    if session.iscsid_state == "REOPEN":
        seen += ("; iscsid is reconnecting: if the target answers and this lasts, iscsid "
                 "may be stuck (\"can't bind conn\" in its log, open-iscsi issue #387); "
                 "`systemctl restart iscsid` on this host recovers the session")
    return seen


def shared_disk(host: Host, iqn: str, portal: str, device: str) -> SharedDisk:
    disks = check_session(host, iqn, portal)
    name = device.rsplit("/", 1)[-1]
    # The disk the session attached (the session's own view), then its SCSI identity
    # (lsblk: WWN and serial, read from the device's VPD pages; they never change).
    expect(name in disks, host.name, f"the LUN of {iqn} attached as {device}",
           ", ".join(f"/dev/{d}" for d in disks) or "no attached disk")
    found = parse_lsblk_json(host.check(LSBLK, device, timeout=15).stdout)
    return SharedDisk(host.name, found[0])


def check_same_disk(disks: list[SharedDisk], lun_serial: str) -> None:
    """Every host sees the same LUN (same WWN/serial), and it is the target's LUN."""
    first = disks[0]
    for disk in disks:
        expect(disk.device.serial == lun_serial, disk.host,
               f"{disk.device.path} to carry the target LUN's SCSI serial {lun_serial}",
               disk.device.serial)
        identity = disk.device.scsi_identity
        expect(identity == first.device.scsi_identity, disk.host,
               f"{disk.device.path} to be the same disk as on {first.host} "
               f"({first.device.scsi_identity})", identity)
        expect(disk.device.size == first.device.size, disk.host,
               f"{disk.device.path} of {first.device.size} bytes as on {first.host}",
               disk.device.size)
