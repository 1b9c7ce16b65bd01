"""Stage 2: both Xen hosts log in to the target and see the same disk."""
from __future__ import annotations

from dataclasses import dataclass

from xenlab.checks import expect
from xenlab.errors import ParseError, XenlabError
from xenlab.parsers import (BlockDevice, IscsiSessionDetail, parse_discovery,
                            parse_initiator_name, parse_lsblk_json, parse_session_detail,
                            parse_sessions)
from xenlab.remote import Host

NO_SESSIONS = 21  # iscsiadm's exit status for "No active sessions"
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
    if any(s.iqn == iqn and s.address == portal for s in sessions):
        return changes
    host.change("systemctl start iscsid 2>/dev/null || service iscsid start", timeout=60)
    found = parse_discovery(host.change("iscsiadm -m discovery -t st -p %s",
                                        f"{portal}:{port}", timeout=30).stdout)
    expect(any(t.iqn == iqn for t in found), host.name,
           f"discovery at {portal}:{port} to offer {iqn}", [t.iqn for t in found])
    host.change("iscsiadm -m node -T %s -p %s -l", iqn, f"{portal}:{port}", timeout=60)
    host.change("udevadm settle --timeout=30", timeout=40)
    changes.append(f"{host.name}: logged in to {iqn} at {portal}:{port}")
    return changes


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
