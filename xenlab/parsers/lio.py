"""The kernel target (LIO) as configfs shows it, read by `Lio.READ` (xenlab.adapters.target).

The read prints three sections, each line tagged by the configfs path it came from
(paths are relative to /sys/kernel/config/target):

    # files        `grep -Hs ''` of the attributes we need: `PATH:VALUE`, one per line
    # tree         `find`: `DIR/` for directories, `LINK -> TARGET` for symlinks
    # sizes        `DEVICE BYTES` for each block backstore's device (blockdev --getsize64)

No output at all means configfs has no target directory: the kernel target is not
loaded, so nothing is configured. A line in none of these forms is an error.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Unparsable, parser, to_int

_FILES = ("enable", "generate_node_acls", "demo_mode_write_protect", "authentication",
          "userid", "udev_path", "vpd_unit_serial", "info")
_FILE_LINE = re.compile(r"^(?P<path>.*?/(?:%s)):(?P<value>.*)$" % "|".join(_FILES))
_TPG = re.compile(r"^iscsi/(?P<iqn>[^/]+)/tpgt_(?P<tag>\d+)(?:/(?P<rest>.*))?$")
_BACKSTORE = re.compile(r"^core/(?P<hba>(?P<plugin>[a-z]+)_\d+)/(?P<name>[^/]+)/(?P<rest>.*)$")
_LINK_TO_BACKSTORE = re.compile(r"core/(?P<hba>[a-z]+_\d+)/(?P<name>[^/]+)/?$")
_FILEIO_SIZE = re.compile(r"\bSize:\s*(\d+)")


@dataclass(frozen=True)
class LioBackstore:
    key: str  # "iblock_0/lun1": configfs HBA directory and storage object name
    plugin: str  # iblock (targetcli's "block"), fileio, pscsi, rd_mcp
    name: str
    path: str  # udev_path: the device or file behind it ("" when not set)
    size_bytes: int | None  # None when not known (device missing, plugin without size)
    serial: str  # T10 VPD unit serial number: what initiators read as the disk's serial


@dataclass(frozen=True)
class LioTpg:
    tag: int
    enabled: bool
    luns: tuple[tuple[int, str], ...]  # (LUN number, backstore key)
    acls: tuple[str, ...]  # initiator IQNs allowed to log in
    acl_luns: tuple[tuple[str, tuple[int, ...]], ...]  # (initiator, mapped LUN numbers)
    acl_users: tuple[str, ...]  # CHAP user ids set on ACLs
    portals: tuple[str, ...]  # "ADDRESS:PORT" network portals
    generate_node_acls: bool  # any initiator may log in (targetcli's demo mode)
    demo_mode_write_protect: bool
    authentication: bool


@dataclass(frozen=True)
class LioTarget:
    iqn: str
    tpgs: tuple[LioTpg, ...]


@dataclass(frozen=True)
class LioConfig:
    backstores: tuple[LioBackstore, ...]
    targets: tuple[LioTarget, ...]

    def backstore(self, key: str) -> LioBackstore | None:
        return next((b for b in self.backstores if b.key == key), None)


@parser(empty=LioConfig((), ()))
def parse_lio_configfs(text: str) -> LioConfig:
    files: dict[str, str] = {}
    dirs: set[str] = set()
    links: dict[str, str] = {}
    sizes: dict[str, int] = {}
    section = None
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line:
            continue
        if line.startswith("# "):
            section = line[2:].strip()
            if section not in ("files", "tree", "sizes"):
                raise Unparsable(f"unknown section {line!r}")
            continue
        if section == "files":
            m = _FILE_LINE.match(line)
            if not m:
                raise Unparsable(f"not an attribute line: {line!r}")
            path = m["path"]
            files[path] = (files[path] + "\n" + m["value"]) if path in files else m["value"]
        elif section == "tree":
            if " -> " in line:
                link, _, to = line.partition(" -> ")
                links[link] = to
            elif line.endswith("/"):
                dirs.add(line.rstrip("/"))
            else:
                raise Unparsable(f"not a directory or link: {line!r}")
        elif section == "sizes":
            device, _, size = line.rpartition(" ")
            if not device:
                continue  # a device blockdev could not read: size unknown
            sizes[device] = to_int(size, f"size of {device}")
        else:
            raise Unparsable(f"line before any section: {line!r}")
    if section is None:
        raise Unparsable("no section header (# files, # tree, # sizes)")
    return LioConfig(_backstores(files, sizes), _targets(files, dirs, links))


def _backstores(files: dict[str, str], sizes: dict[str, int]) -> tuple[LioBackstore, ...]:
    found: dict[str, dict[str, str]] = {}
    for path, value in files.items():
        m = _BACKSTORE.match(path)
        if m:
            found.setdefault(f"{m['hba']}/{m['name']}", {})[m["rest"]] = value
    out = []
    for key, attrs in sorted(found.items()):
        hba, name = key.split("/", 1)
        plugin = hba.rsplit("_", 1)[0]
        path = attrs.get("udev_path", "").strip()
        size = sizes.get(path)
        if size is None:
            m = _FILEIO_SIZE.search(attrs.get("info", ""))
            size = int(m.group(1)) if m else None
        serial = attrs.get("wwn/vpd_unit_serial", "").partition(":")[2].strip()
        out.append(LioBackstore(key, plugin, name, path, size, serial))
    return tuple(out)


def _targets(files: dict[str, str], dirs: set[str], links: dict[str, str]
             ) -> tuple[LioTarget, ...]:
    tpgs: dict[tuple[str, int], dict] = {}

    def tpg(path: str) -> tuple[dict, str] | None:
        m = _TPG.match(path)
        if not m:
            return None
        entry = tpgs.setdefault((m["iqn"], int(m["tag"])), {
            "attrs": {}, "luns": [], "acls": set(), "acl_luns": {}, "portals": set()})
        return entry, m["rest"] or ""

    for path, value in files.items():
        found = tpg(path)
        if found:
            found[0]["attrs"][found[1]] = value.strip()
    for path in dirs:
        found = tpg(path)
        if not found:
            continue
        entry, rest = found
        parts = rest.split("/")
        if parts[0] == "np" and len(parts) == 2:
            entry["portals"].add(parts[1])
        elif parts[0] == "acls" and len(parts) >= 2:
            entry["acls"].add(parts[1])
            if len(parts) == 3 and parts[2].startswith("lun_"):
                mapped = to_int(parts[2][4:], f"mapped LUN {parts[2]}")
                entry["acl_luns"].setdefault(parts[1], set()).add(mapped)
    for path, to in links.items():
        found = tpg(path)
        if not found:
            continue
        entry, rest = found
        parts = rest.split("/")
        if parts[0] == "lun" and len(parts) == 3 and parts[1].startswith("lun_"):
            m = _LINK_TO_BACKSTORE.search(to)
            if not m:
                raise Unparsable(f"LUN {path} links to {to!r}, not a backstore")
            entry["luns"].append((to_int(parts[1][4:], f"LUN {parts[1]}"),
                                  f"{m['hba']}/{m['name']}"))
    targets: dict[str, list[LioTpg]] = {}
    for (iqn, tag), entry in sorted(tpgs.items()):
        attrs = entry["attrs"]
        targets.setdefault(iqn, []).append(LioTpg(
            tag=tag,
            enabled=attrs.get("enable", "0") == "1",
            luns=tuple(sorted(entry["luns"])),
            acls=tuple(sorted(entry["acls"])),
            acl_luns=tuple(sorted((i, tuple(sorted(l))) for i, l in entry["acl_luns"].items())),
            acl_users=tuple(sorted(v for k, v in attrs.items()
                                   if k.startswith("acls/") and k.endswith("/auth/userid") and v)),
            portals=tuple(sorted(entry["portals"])),
            generate_node_acls=attrs.get("attrib/generate_node_acls", "0") == "1",
            demo_mode_write_protect=attrs.get("attrib/demo_mode_write_protect", "1") == "1",
            authentication=attrs.get("attrib/authentication", "0") == "1"))
    return tuple(LioTarget(iqn, tuple(t)) for iqn, t in targets.items())
