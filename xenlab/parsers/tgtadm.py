"""`tgtadm --lld iscsi -m target -o show` (scsi-target-utils / tgt).

The structure is read from the section and field names, not from the
indentation (captures lose spaces; tgt versions indent differently).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Unparsable, lines, parser, split_field, to_bool, to_int

_TARGET = re.compile(r"Target\s+(\d+)\s*:\s*(\S+)")
_SIZE = re.compile(r"(\d+)\s*MB\s*,\s*Block size\s*:\s*(\d+)")
_SECTIONS = {
    "System information": "system",
    "I_T nexus information": "nexus",
    "LUN information": "lun",
    "Account information": "accounts",
    "ACL information": "acls",
}


@dataclass(frozen=True)
class TgtNexus:
    nexus: int
    initiator: str
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class TgtLun:
    lun: int
    type: str
    scsi_id: str
    scsi_sn: str
    size_mb: int
    block_size: int
    online: bool
    readonly: bool
    backing_store_type: str
    backing_store_path: str | None


@dataclass(frozen=True)
class TgtTarget:
    tid: int
    iqn: str
    state: str | None
    nexuses: tuple[TgtNexus, ...]
    luns: tuple[TgtLun, ...]
    accounts: tuple[str, ...]
    acls: tuple[str, ...]


class _Target:
    """Mutable collector for one 'Target N:' block."""

    def __init__(self, tid: int, iqn: str) -> None:
        self.tid, self.iqn = tid, iqn
        self.state: str | None = None
        self.nexuses: list[dict] = []
        self.luns: list[dict[str, str]] = []
        self.lists: dict[str, list[str]] = {"accounts": [], "acls": []}

    def add(self, section: str, line: str) -> None:
        if section in self.lists:  # free lines: user names, addresses (may hold ':')
            self.lists[section].append(line)
            return
        field = split_field(line)
        if field is None:
            raise Unparsable(f"expected 'key: value' in {section} section: {line!r}")
        key, value = field
        if section == "system":
            if key == "State":
                self.state = value
        elif section == "nexus":
            self._add_nexus(key, value)
        elif key == "LUN":
            self.luns.append({"LUN": value})
        elif not self.luns:
            raise Unparsable(f"LUN field before any 'LUN:' line: {line!r}")
        else:
            self.luns[-1][key] = value

    def _add_nexus(self, key: str, value: str) -> None:
        if key == "I_T nexus":
            self.nexuses.append({"nexus": to_int(value, "I_T nexus"), "addresses": []})
        elif not self.nexuses:
            raise Unparsable(f"nexus field {key!r} before any 'I_T nexus:' line")
        elif key == "Initiator":
            self.nexuses[-1]["initiator"] = re.split(r"\s+alias:", value)[0].strip()
        elif key == "IP Address":
            self.nexuses[-1]["addresses"].append(value)

    def build(self) -> TgtTarget:
        return TgtTarget(
            tid=self.tid,
            iqn=self.iqn,
            state=self.state,
            nexuses=tuple(
                TgtNexus(n["nexus"], n.get("initiator", ""), tuple(n["addresses"]))
                for n in self.nexuses
            ),
            luns=tuple(_lun(fields) for fields in self.luns),
            accounts=tuple(self.lists["accounts"]),
            acls=tuple(self.lists["acls"]),
        )


def _lun(fields: dict[str, str]) -> TgtLun:
    def need(key: str) -> str:
        if key not in fields:
            raise Unparsable(f"LUN {fields['LUN']} has no {key!r} line")
        return fields[key]

    size = _SIZE.fullmatch(need("Size"))
    if not size:
        raise Unparsable(f"LUN size is not 'N MB, Block size: N': {fields['Size']!r}")
    path = need("Backing store path")
    return TgtLun(
        lun=to_int(fields["LUN"], "LUN"),
        type=need("Type"),
        scsi_id=need("SCSI ID"),
        scsi_sn=need("SCSI SN"),
        size_mb=int(size[1]),
        block_size=int(size[2]),
        online=to_bool(need("Online"), "Online"),
        readonly=to_bool(need("Readonly"), "Readonly"),
        backing_store_type=need("Backing store type"),
        backing_store_path=None if path == "None" else path,
    )


@parser(empty=())
def parse_tgtadm_show(text: str) -> tuple[TgtTarget, ...]:
    """All targets; empty output means tgtd has no target defined."""
    targets: list[_Target] = []
    section = None
    for raw in lines(text):
        line = raw.strip()
        head = _TARGET.fullmatch(line)
        if head:
            targets.append(_Target(int(head[1]), head[2]))
            section = None
        elif not targets:
            raise Unparsable("expected 'Target N: <iqn>' first")
        elif line.endswith(":") and line[:-1].strip() in _SECTIONS:
            section = _SECTIONS[line[:-1].strip()]
        elif section is None:
            raise Unparsable(f"line outside any section: {line!r}")
        else:
            targets[-1].add(section, line)
    return tuple(target.build() for target in targets)
