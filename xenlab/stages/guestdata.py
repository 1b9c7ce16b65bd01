"""Stage 9's data check (--guest-data=DIR): what the guest writes to its disk is kept
across the move.

Before anything is written: DIR must be on a disk of the guest's own, mounted read-write
in the guest, backed in both dom0s by something both may write - the same block device
(a LUN or LV per guest), or a file of a cluster filesystem (gfs2, ocfs2). A file on ext4
or xfs mounted by both hosts is refused, in one line: measured on the box, 1 MiB the
guest wrote and synced on test1 read back different on test2 after the move, because
test2's ext4 still had the image's old extents (bench/RESULTS.md); writing there would
also allocate blocks in a filesystem two hosts change behind each other's back.

After the move (xenlab.live.diskdata reads the disk through the destination's backend):
the block written before the move reads back identical, and the records written during
it are all there, in sequence, none torn.
"""
from __future__ import annotations

from dataclasses import dataclass

from xenlab.adapters.toolstack import Toolstack
from xenlab.checks import every, expect, fail
from xenlab.live.diskdata import GuestData, GuestMount, guest_mount
from xenlab.live.guest import guest_console
from xenlab.remote import Host
from xenlab.stages import check_each
from xenlab.stages.storage import CLUSTER_FS

# What backs the disk in a dom0: "block SIZE WWN SERIAL" (lsblk: the LUN's identity, the
# same on every host that sees it), "file FSTYPE MOUNTPOINT" (findmnt: the filesystem
# holding it), or "none".
BACKING = r"""p=%s
if [ -b "$p" ]; then echo block $(blockdev --getsize64 "$p") $(lsblk -dn -o WWN,SERIAL "$p")
elif [ -f "$p" ]; then echo file $(findmnt -n -o FSTYPE,TARGET -T "$p")
else echo none; fi"""
MEASURED = "bench/RESULTS.md: a synced write read back different after the move"


@dataclass(frozen=True)
class Backing:
    kind: str  # "block", "file", "none"
    detail: str  # block: "SIZE WWN SERIAL"; file: "FSTYPE MOUNTPOINT"


def backing(host: Host, target: str) -> Backing:
    """What backs the guest's disk on this host, read from the host's own devices and mount
    table (not the guest's config: the path must resolve the same way on both hosts)."""
    said = host.check(BACKING, target, timeout=30).stdout.strip()
    kind, _, detail = said.partition(" ")
    expect(kind in ("block", "file", "none"), host.name,
           f"what backs {target} (block, file or none)", said[:80] or "nothing")
    return Backing(kind, detail.strip())


def data_disk(source: Toolstack, name: str, directory: str) -> tuple[GuestMount, str]:
    """The guest's mount holding DIR and the dom0 path of the disk under it, read in the
    guest (its mount table) and from libxl's record of the running domain."""
    where = source.host.name
    with guest_console(source, name) as console:
        mount = guest_mount(console, directory)
    expect(mount.disk is not None, where,
           f"{name}'s {directory} on a disk of its own (--guest-data)",
           f"{mount.mountpoint} is {mount.fstype} from {mount.device}, not a disk")
    expect(mount.read_write, where, f"{name}'s {directory} mounted read-write",
           f"{mount.mountpoint} mounted read-only from {mount.device}")
    disks = source.disks(name)
    disk = next((d for d in disks if d.guest_name == mount.disk), None)
    if disk is None:
        fail(where, f"a disk {mount.disk} of {name} in libxl's record of it (xl list -l)",
             ", ".join(d.vdev for d in disks) or "no disk")
    expect(disk.writable and bool(disk.target), where,
           f"{name}'s {disk.vdev} writable, on a dom0 path", f"{disk.target or 'empty'}, "
           f"{'read-write' if disk.writable else 'read-only'}")
    return mount, disk.target


def check_both_may_write(hosts: tuple[Host, Host], target: str, disk: str) -> None:
    """The disk is one both hosts may write: the same block device on both, or a file of a
    cluster filesystem. Nothing is written before this passes."""
    found = check_each(hosts, lambda h: backing(h, target))
    for host, back in zip(hosts, found):
        expect(back.kind != "none", host.name, f"{target} ({disk}) present", "no such file "
               "or device")
        if back.kind == "file":
            fstype, _, mountpoint = back.detail.partition(" ")
            expect(fstype in CLUSTER_FS, host.name,
                   f"the guest's {disk} on a block device or a file of a cluster filesystem "
                   f"({', '.join(CLUSTER_FS)}), which both hosts may write",
                   f"{target}, a file on {fstype} ({mountpoint}): {fstype} mounted on two hosts "
                   f"does not see the other's writes ({MEASURED}); not written")
    kinds = {b.kind for b in found}
    expect(len(kinds) == 1, hosts[1].name, f"{target} a {found[0].kind} as on {hosts[0].name}",
           f"a {found[1].kind}")
    if found[0].kind == "block":
        expect(found[0].detail == found[1].detail, hosts[1].name,
               f"{target} the same device as on {hosts[0].name} (size, WWN, serial: "
               f"{found[0].detail})", found[1].detail)


def check_data_kept(data: GuestData | None, host: str) -> None:
    """Both proofs; one LabCheckFailed naming each that failed."""
    expect(data is not None, host, "the guest's data read back after the move (--guest-data)",
           "nothing read")
    every((check_before_kept, check_records_kept), data, host)


def check_before_kept(data: GuestData, host: str) -> None:
    expect(data.after_md5 == data.before_md5, host,
           f"the {data.directory} block written before the move read back identical "
           f"(md5 {data.before_md5})", f"md5 {data.after_md5}")


def check_records_kept(data: GuestData, host: str) -> None:
    r = data.records
    expect(r.count > 0, host, f"the records written in {data.directory} during the move",
           "none read back")
    expect(not r.torn, host, f"every record in {data.directory} whole",
           f"{r.torn} torn or garbled line{'s' if r.torn > 1 else ''} among {r.count} records")
    expect(not r.first_missing and r.count == r.last, host,
           f"records 1 to {r.last} in {data.directory}, none missing",
           f"record {r.first_missing or '?'} missing ({r.count} of {r.last} read back)")
