"""Block devices: `fdisk -l DEV` (util-linux 2.17 and 2.38) and `lsblk -J -b`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._common import (
    Unparsable, json_list, json_object, lines, load_json, parser, split_field, to_int,
)

# "Disk /dev/sdb: 5378 MB, 5378310144 bytes" (2.17) or
# "Disk /dev/sdb: 5 GiB, 5368709120 bytes, 10485760 sectors" (2.38)
_DISK = re.compile(r"Disk\s+(\S+):.*?,\s*(\d+)\s*bytes\b.*")
# Columns that hold numbers; the last column (System / Type) is free text.
_NUMBERS = {"Start": "start", "End": "end", "Blocks": "blocks", "Sectors": "sectors"}
_LSBLK_TEXT = ("name", "path", "type", "fstype", "serial", "wwn", "pttype")


@dataclass(frozen=True)
class FdiskPartition:
    device: str
    boot: bool
    start: int
    end: int
    blocks: int | None
    sectors: int | None
    id: str | None  # MBR type in hex ("83"); None on GPT, which has no Id column
    system: str


@dataclass(frozen=True)
class FdiskDisk:
    device: str
    size_bytes: int
    identifier: str | None
    label_type: str | None
    partitions: tuple[FdiskPartition, ...]


@dataclass(frozen=True)
class BlockDevice:
    name: str
    path: str | None
    size: int
    type: str
    fstype: str | None
    mountpoint: str | None  # the first of mountpoints (lsblk lists the last mounted first)
    mountpoints: tuple[str, ...]
    serial: str | None
    wwn: str | None
    pttype: str | None
    children: tuple[BlockDevice, ...]

    @property
    def scsi_identity(self) -> str:
        """The LUN's SCSI identity (WWN, else serial): equal on hosts that share it."""
        return self.wwn or self.serial or "none"


@parser()
def parse_fdisk_list(text: str) -> FdiskDisk:
    """One disk, as `fdisk -l DEV` prints it."""
    disk: dict[str, Any] = {}
    columns: list[str] | None = None
    partitions = []
    for raw in lines(text):
        line = raw.strip()
        head = _DISK.fullmatch(line)
        field = split_field(line)
        if head:
            if "device" in disk:
                raise Unparsable(f"more than one disk: {line!r}")
            disk.update(device=head[1], size_bytes=int(head[2]))
        elif line.split()[0] == "Device":
            columns = [c for c in line.split()[1:] if c != "Boot"]
            if not {"Start", "End"} <= set(columns[:-1]):
                raise Unparsable(f"partition table header without Start and End: {line!r}")
        elif columns is not None and not line.startswith("Partition"):
            partitions.append(_partition(columns, line))
        elif field and field[0] in ("Disk identifier", "Disklabel type"):
            disk[field[0]] = field[1]
    if "device" not in disk:
        raise Unparsable("no 'Disk <device>: ..., N bytes' line")
    return FdiskDisk(
        device=disk["device"],
        size_bytes=disk["size_bytes"],
        identifier=disk.get("Disk identifier"),
        label_type=disk.get("Disklabel type"),
        partitions=tuple(partitions),
    )


def _partition(columns: list[str], line: str) -> FdiskPartition:
    """A table row; `columns` are the header's names after Device and Boot."""
    words = line.split()
    device, boot = words[0], words[1:2] == ["*"]
    words = words[2:] if boot else words[1:]
    if len(words) < len(columns):
        raise Unparsable(f"partition row has fewer columns than its header: {line!r}")
    row = dict(zip(columns[:-1], words))
    row[columns[-1]] = " ".join(words[len(columns) - 1:])
    numbers = {
        key: to_int(row[column].rstrip("+"), column)  # 2.17 marks odd sizes "2104683+"
        for column, key in _NUMBERS.items()
        if column in row
    }
    return FdiskPartition(
        device=device,
        boot=boot,
        start=numbers["start"],
        end=numbers["end"],
        blocks=numbers.get("blocks"),
        sectors=numbers.get("sectors"),
        id=row.get("Id"),
        system=row.get("System", row.get("Type", "")),
    )


@parser()
def parse_lsblk_json(text: str) -> tuple[BlockDevice, ...]:
    """`lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT,SERIAL,WWN,PTTYPE`."""
    data = load_json(text)
    if not isinstance(data, dict) or not isinstance(data.get("blockdevices"), list):
        raise Unparsable("no 'blockdevices' list")
    return tuple(_block_device(item) for item in data["blockdevices"])


def _block_device(item: Any) -> BlockDevice:
    item = json_object(item, "block device")
    if "name" not in item or "size" not in item:
        raise Unparsable(f"block device without name and size: {item!r}")
    text = {key: _text(item.get(key)) for key in _LSBLK_TEXT}
    # MOUNTPOINTS (lsblk >= 2.37) is a list, [null] when unmounted
    mounts = tuple(m for m in json_list(item, "mountpoints") or [item.get("mountpoint")] if m)
    return BlockDevice(
        **text,
        size=to_int(item["size"], "size"),
        mountpoint=mounts[0] if mounts else None,
        mountpoints=mounts,
        children=tuple(_block_device(child) for child in json_list(item, "children")),
    )


def _text(value: Any) -> str | None:
    """lsblk prints null or "" for an unset column; older versions quote numbers."""
    if value is None:
        return None
    return str(value).strip() or None
