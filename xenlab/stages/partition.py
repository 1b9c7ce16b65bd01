"""Stage 3: one partition and a filesystem on the shared disk (destructive, done once)."""
from __future__ import annotations

from dataclasses import replace

from xenlab.checks import expect, fail, refuse
from xenlab.parsers import BlockDevice, FdiskPartition, parse_fdisk_list, parse_lsblk_json
from xenlab.remote import Host

from .initiators import LSBLK

SIZE_TOLERANCE_MIB = 8  # fdisk rounds a "+2G" partition to cylinders or 1 MiB alignment


NO_SIGNATURE = 2  # blkid -p: nothing found on the device


def _lsblk(host: Host, device: str) -> BlockDevice:
    """The device and its partitions as the kernel lists them, each filesystem type read
    from the disk itself (probed_fstype): lsblk's own FSTYPE is udev's database, which
    stays stale on a host that logged in before another host formatted the LUN."""
    dev = parse_lsblk_json(host.check(LSBLK, device, timeout=15).stdout)[0]
    def probed(d: BlockDevice) -> BlockDevice:
        return replace(d, fstype=probed_fstype(host, d.path or f"/dev/{d.name}"))
    return replace(probed(dev), children=tuple(probed(c) for c in dev.children))


def probed_fstype(host: Host, device: str) -> str | None:
    """The filesystem type in the device's superblock (`blkid -p`: a low-level probe of
    the device, no cache), or None where there is none."""
    result = host.check("blkid -p -s TYPE -o value -- %s", device, ok=(0, NO_SIGNATURE),
                        timeout=15)
    return result.stdout.strip() or None


def build(source: Host, others: list[Host], disk: str, partition: str, size_mib: int,
          type_id: str, fstype: str, allow_destructive: bool) -> list[str]:
    """Partition and format on the source, then make the others see the new table."""
    changes = []
    if source.planning and source.run("test -b %s", disk).rc != 0:
        # planned after stage 2's login, which attaches the disk: a blank disk then
        dev = BlockDevice(disk.rsplit("/", 1)[-1], disk, 0, "disk", None, None, (), None, None,
                          None, ())
    else:
        dev = _lsblk(source, disk)
    part = next((c for c in dev.children if c.path == partition), None)
    if part is None or part.fstype != fstype:
        # a plan lists the commands, marked as destroying data, whatever the flag says
        refuse_unless_blank(source, dev, partition, fstype,
                            allow_destructive or source.planning)
        if part is None:
            source.change("echo %s | sfdisk -q -- %s", f",{size_mib}MiB,{type_id}", disk,
                          timeout=60, destructive=True)
            source.change("partx -u %s; udevadm settle --timeout=30", disk, timeout=40)
            changes.append(f"{source.name}: partitioned {disk} ({size_mib} MiB, type {type_id})")
        source.change("mkfs -t %s -q -- %s", fstype, partition, timeout=300, destructive=True)
        changes.append(f"{source.name}: mkfs -t {fstype} {partition}")
    elif (listed := _table(source, disk).get(partition)) and listed.id != type_id:
        # the type id only, in the table on the disk: no data moves (--no-reread: the
        # kernel keeps its view of a partition in use, and the type is not part of it)
        number = partition[len(disk):].lstrip("p")
        source.change("sfdisk -q --no-reread --part-type %s %s %s", disk, number, type_id,
                      timeout=30)
        changes.append(f"{source.name}: {partition} of type {type_id} (was {listed.id})")
    for host in others:
        if host.run("test -b %s", partition).rc != 0:
            host.change("blockdev --rereadpt %s || partx -u %s; udevadm settle --timeout=30",
                        disk, disk, timeout=40)
            changes.append(f"{host.name}: re-read the partition table of {disk}")
    return changes


def _table(host: Host, disk: str) -> dict[str, FdiskPartition]:
    """The partitions in the table on the disk (fdisk reads it), by device."""
    listing = parse_fdisk_list(host.check("fdisk -l -- %s", disk, timeout=20).stdout)
    return {p.device: p for p in listing.partitions}


def refuse_unless_blank(host: Host, dev: BlockDevice, partition: str, fstype: str,
                        allow_destructive: bool) -> None:
    """Refuse to partition/format unless allowed, and never a disk in use or holding data."""
    if not allow_destructive:
        fail(host.name, f"{partition} with {fstype} (creating it needs --allow-destructive)",
             f"{dev.path}: " + (", ".join(f"{c.path} {c.fstype or 'no filesystem'}"
                                           for c in dev.children) or "no partition"))
    mounted = [c.path for c in (dev, *dev.children) if c.mountpoint]
    if mounted:
        refuse(host.name, f"{dev.path} not in use", f"{', '.join(mounted)} mounted",
               f"refusing to partition or format {dev.path}: {', '.join(mounted)} mounted")
    foreign = [f"{c.path} holds {c.fstype}" for c in (dev, *dev.children)
               if c.fstype and c.fstype != fstype]
    other_parts = [c.path for c in dev.children if c.path != partition]
    if foreign or other_parts or (dev.pttype and not dev.children):
        seen = "; ".join(foreign + [f"{p} exists" for p in other_parts]
                         or [f"it has a {dev.pttype} partition table"])
        refuse(host.name, f"{dev.path} blank or holding only {partition}", seen,
               f"refusing to partition or format {dev.path}: {seen}")


def check_partition(host: Host, disk: str, partition: str, type_id: str, size_mib: int,
                    fstype: str) -> FdiskPartition:
    # The partition table on the disk (fdisk reads it), not the kernel's copy, which a host
    # keeps from its last re-read; the filesystem from the disk too (probed_fstype).
    parts = _table(host, disk)
    expect(partition in parts, host.name, f"partition {partition} on {disk}",
           ", ".join(parts) or "no partition")
    part = parts[partition]
    expect(part.id == type_id, host.name, f"{partition} of type {type_id}", part.id)
    size = part.sectors * 512 // 2**20 if part.sectors else (part.blocks or 0) // 1024
    expect(abs(size - size_mib) <= SIZE_TOLERANCE_MIB, host.name,
           f"{partition} of about {size_mib} MiB", f"{size} MiB")
    seen = probed_fstype(host, partition)
    expect(seen == fstype, host.name, f"{partition} formatted {fstype}", seen or "no filesystem")
    return part


def check_same_size(sizes: dict[str, int], partition: str) -> None:
    first, size = next(iter(sizes.items()))
    for host, other in sizes.items():
        expect(other == size, host, f"{partition} of {size} bytes as on {first}", other)


def partition_size(host: Host, partition: str) -> int:
    # The kernel's size of the partition: what a mount of it uses.
    return int(host.check("blockdev --getsize64 %s", partition, timeout=15).stdout)
