"""What the next boot reads: the files and records that bring a lab back after a reboot.

A running lab can be right today and gone after a reboot: a target defined live with
`tgtadm` or one-shot `targetcli` commands, an iSCSI node left at `node.startup =
manual`, a mount typed by hand, a bridge made with `ip`. These parsers read what the
boot will read:

- `parse_fstab`: /etc/fstab;
- `parse_node_records`: `iscsiadm -m node -T IQN -p PORTAL -o show` (the node record
  open-iscsi's boot service logs in from when its startup is automatic);
- `parse_tgt_conf`: tgt's targets.conf and the files it includes (tgt-admin loads
  them when tgtd starts);
- `parse_lio_saveconfig`: LIO's saveconfig.json (restored at boot by targetctl);
- `parse_network_files`: the network configuration, as `grep -H ''` of its files
  (`PATH:LINE`): ifupdown's interfaces (following `source`), RHEL's ifcfg files,
  systemd-networkd's and NetworkManager's files.
"""
from __future__ import annotations

import fnmatch
import json
import re
from dataclasses import dataclass, replace

from ._common import Unparsable, lines, parser, to_int

# fstab escapes a space, tab, newline and backslash in a field as octal.
_FSTAB_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class FstabEntry:
    source: str  # /dev/sdb1, UUID=..., LABEL=..., PARTUUID=..., host:/export
    target: str  # the mount point
    fstype: str
    options: tuple[str, ...]

    def source_tag(self) -> tuple[str, str] | None:
        """("UUID", value) for UUID=/LABEL=/PARTUUID=/PARTLABEL= sources, else None."""
        key, sep, value = self.source.partition("=")
        if sep and key in ("UUID", "LABEL", "PARTUUID", "PARTLABEL"):
            return key, value.strip('"')
        return None


def _unescape(field: str) -> str:
    return _FSTAB_ESCAPE.sub(lambda m: chr(int(m[1], 8)), field)


@parser(empty=())
def parse_fstab(text: str) -> tuple[FstabEntry, ...]:
    """/etc/fstab: one entry per line (source, mount point, type, options, ...); '#'
    comments and blank lines skipped. A line of fewer than three fields is an error."""
    found = []
    for line in lines(text):
        if line.lstrip().startswith("#"):
            continue
        fields = line.split()
        if len(fields) < 3:
            raise Unparsable(f"not an fstab entry (source, mount point, type): {line!r}")
        options = tuple(fields[3].split(",")) if len(fields) > 3 else ("defaults",)
        found.append(FstabEntry(_unescape(fields[0]), _unescape(fields[1]), fields[2], options))
    return tuple(found)


@dataclass(frozen=True)
class NodeRecord:
    """One iSCSI node record (target, portal, iface) of open-iscsi's database."""

    iqn: str
    address: str
    port: int
    startup: str  # "automatic", "manual" or "onboot"
    fields: tuple[tuple[str, str], ...]  # every `name = value` line, in order

    def get(self, name: str) -> str | None:
        return next((v for k, v in self.fields if k == name), None)


_RECORD_FIELD = re.compile(r"(?P<name>[\w.\[\]]+) = (?P<value>.*)")


@parser()
def parse_node_records(text: str) -> tuple[NodeRecord, ...]:
    """`iscsiadm -m node [-T IQN -p PORTAL] -o show`: records between `# BEGIN RECORD`
    and `# END RECORD`, each `name = value` (`<empty>` for nothing)."""
    records: list[list[tuple[str, str]]] = []
    current: list[tuple[str, str]] | None = None
    for line in lines(text):
        line = line.strip()
        if line.startswith("# BEGIN RECORD"):
            current = []
        elif line == "# END RECORD":
            if current is None:
                raise Unparsable("'# END RECORD' without '# BEGIN RECORD'")
            records.append(current)
            current = None
        elif current is not None:
            found = _RECORD_FIELD.fullmatch(line)
            if not found:
                raise Unparsable(f"not a 'name = value' line in a node record: {line!r}")
            value = found["value"]
            current.append((found["name"], "" if value == "<empty>" else value))
        else:
            raise Unparsable(f"outside any node record: {line!r}")
    if current is not None:
        raise Unparsable("a node record without '# END RECORD'")
    if not records:
        raise Unparsable("no node record")
    return tuple(_record(r) for r in records)


def _record(fields: list[tuple[str, str]]) -> NodeRecord:
    named = dict(fields)
    missing = [n for n in ("node.name", "node.startup", "node.conn[0].address",
                           "node.conn[0].port") if n not in named]
    if missing:
        raise Unparsable(f"node record without {', '.join(missing)}")
    return NodeRecord(named["node.name"], named["node.conn[0].address"].strip("[]"),
                      to_int(named["node.conn[0].port"], "node.conn[0].port"),
                      named["node.startup"], tuple(fields))


@dataclass(frozen=True)
class TgtConfTarget:
    """A `<target IQN>` block of tgt's configuration."""

    iqn: str
    backing_stores: tuple[str, ...]  # backing-store and direct-store paths
    initiator_addresses: tuple[str, ...]
    initiator_names: tuple[str, ...]


_TGT_OPEN = re.compile(r"<\s*(?P<kind>[\w-]+)\s+(?P<value>[^>]+?)\s*>")
_TGT_CLOSE = re.compile(r"</\s*(?P<kind>[\w-]+)\s*>")
_TGT_STORES = ("backing-store", "direct-store")


@parser(empty=())
def parse_tgt_conf(text: str) -> tuple[TgtConfTarget, ...]:
    """tgt's targets.conf (and included files, concatenated): `<target IQN>` blocks with
    `backing-store PATH` (or a `<backing-store PATH>` block), `direct-store`,
    `initiator-address`, `initiator-name`; other directives are skipped."""
    targets: list[TgtConfTarget] = []
    current: dict[str, list[str]] | None = None
    iqn = ""
    depth = 0  # blocks open inside the target (<backing-store PATH> ... </backing-store>)
    for line in lines(text):
        line = line.strip()
        if line.startswith("#"):
            continue
        opened, closed = _TGT_OPEN.fullmatch(line), _TGT_CLOSE.fullmatch(line)
        if opened and opened["kind"].lower() == "target":
            if current is not None:
                raise Unparsable(f"<target> inside <target {iqn}>: {line!r}")
            iqn, current, depth = opened["value"].strip(), {}, 0
        elif opened:
            if current is None:
                raise Unparsable(f"<{opened['kind']}> outside any <target>: {line!r}")
            if opened["kind"].lower() in _TGT_STORES:
                current.setdefault("store", []).append(opened["value"].strip())
            depth += 1
        elif closed:
            if current is None:
                raise Unparsable(f"{line!r} without its opening line")
            if depth:
                depth -= 1
                continue
            targets.append(TgtConfTarget(iqn, tuple(current.get("store", ())),
                                         tuple(current.get("initiator-address", ())),
                                         tuple(current.get("initiator-name", ()))))
            current = None
        elif current is not None:
            key, _, value = line.replace("=", " ", 1).partition(" ")
            key, value = key.lower(), value.strip()
            if key in _TGT_STORES:
                key = "store"
            current.setdefault(key, []).append(value)
    if current is not None:
        raise Unparsable(f"<target {iqn}> without </target>")
    return tuple(targets)


@dataclass(frozen=True)
class SavedLioTarget:
    iqn: str
    luns: tuple[tuple[int, str], ...]  # (LUN, the device or file of its storage object)
    acls: tuple[str, ...]
    portals: tuple[str, ...]  # "ADDRESS:PORT"


@parser()
def parse_lio_saveconfig(text: str) -> tuple[SavedLioTarget, ...]:
    """LIO's saveconfig.json (rtslib): its iSCSI targets, each LUN with the device or
    file its storage object names."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise Unparsable(f"not JSON: {exc}") from None
    if not isinstance(data, dict) or "targets" not in data:
        raise Unparsable("no 'targets' list: not an rtslib saveconfig")
    stores = {f"/backstores/{s.get('plugin', '')}/{s.get('name', '')}":
              s.get("dev", "") for s in data.get("storage_objects", [])}
    found = []
    for target in data["targets"]:
        if target.get("fabric") != "iscsi":
            continue
        tpgs = target.get("tpgs", [])
        found.append(SavedLioTarget(
            iqn=target["wwn"],
            luns=tuple((to_int(lun["index"], "LUN index"), stores.get(lun["storage_object"], ""))
                       for t in tpgs for lun in t.get("luns", [])),
            acls=tuple(a["node_wwn"] for t in tpgs for a in t.get("node_acls", [])),
            portals=tuple(f"{p['ip_address']}:{p['port']}" for t in tpgs
                          for p in t.get("portals", []))))
    return tuple(found)


@dataclass(frozen=True)
class IfupdownIface:
    name: str
    method: str  # static, dhcp, manual, ...
    options: tuple[tuple[str, str], ...]  # (option, value), e.g. ("address", "10.0.0.1/24")
    path: str = ""  # the file of the stanza

    def option(self, name: str) -> str | None:
        return next((v for k, v in self.options if k == name), None)


@dataclass(frozen=True)
class NetworkFiles:
    """The network configuration the boot reads, by system."""

    ifupdown: tuple[IfupdownIface, ...]  # stanzas of /etc/network/interfaces and its sources
    ifupdown_auto: tuple[str, ...]  # interfaces `auto` (brought up at boot by `ifup -a`)
    ifcfg: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (file, KEY=VALUE pairs)
    others: tuple[tuple[str, str], ...]  # (file, its text): networkd, NetworkManager

    def ifupdown_iface(self, name: str) -> IfupdownIface | None:
        return next((i for i in self.ifupdown if i.name == name), None)

    def ifcfg_device(self, name: str) -> dict[str, str] | None:
        """The ifcfg file for DEVICE=name (else the file named ifcfg-name), as a dict."""
        for path, pairs in self.ifcfg:
            values = dict(pairs)
            if values.get("DEVICE", path.rsplit("ifcfg-", 1)[-1]) == name:
                return values
        return None


IFUPDOWN_MAIN = "/etc/network/interfaces"
_IFUPDOWN_STANZAS = ("iface", "mapping", "auto", "allow-auto", "allow-hotplug", "source",
                     "source-directory", "no-auto-down", "no-scripts", "rename")


@parser(empty=NetworkFiles((), (), (), ()))
def parse_network_files(text: str) -> NetworkFiles:
    """`grep -H '' FILE...` of the network configuration: PATH:LINE per line."""
    files: dict[str, list[str]] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        path, sep, rest = line.partition(":")
        if not sep or not path.startswith("/"):
            raise Unparsable(f"not a 'PATH:LINE' line: {line!r}")
        files.setdefault(path, []).append(rest)
    ifaces, auto = _ifupdown(files)
    ifcfg = tuple((p, tuple(_shell_pairs(body))) for p, body in files.items()
                  if p.rsplit("/", 1)[-1].startswith("ifcfg-"))
    others = tuple((p, "\n".join(body)) for p, body in files.items()
                   if p.startswith(("/etc/systemd/network/", "/etc/NetworkManager/")))
    return NetworkFiles(ifaces, auto, ifcfg, others)


def _ifupdown(files: dict[str, list[str]]) -> tuple[tuple[IfupdownIface, ...], tuple[str, ...]]:
    """The stanzas ifupdown reads: /etc/network/interfaces and what it sources, in order."""
    ifaces: list[IfupdownIface] = []
    auto: list[str] = []
    seen: set[str] = set()

    def read(path: str) -> None:
        if path in seen or path not in files:
            return
        seen.add(path)
        current: list | None = None
        for raw in files[path]:
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split()
            if words[0] in _IFUPDOWN_STANZAS:
                current = None
            if words[0] == "iface" and len(words) >= 4:
                current = [words[1], words[3], [], path]
                ifaces.append(current)  # type: ignore[arg-type]
            elif words[0] in ("auto", "allow-auto"):
                auto.extend(words[1:])
            elif words[0] in ("source", "source-directory"):
                for pattern in words[1:]:
                    if words[0] == "source-directory":
                        pattern = pattern.rstrip("/") + "/*"
                    for other in sorted(files):
                        if fnmatch.fnmatch(other, pattern):
                            read(other)
            elif current is not None and words[0] not in _IFUPDOWN_STANZAS:
                current[2].append((words[0], " ".join(words[1:])))

    read(IFUPDOWN_MAIN)
    return (tuple(IfupdownIface(n, m, tuple(o), p) for n, m, o, p in ifaces),  # type: ignore[misc]
            tuple(dict.fromkeys(auto)))


def _shell_pairs(body: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for line in body:
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            pairs.append((key.strip(), value.strip().strip("'\"")))
    return pairs


@dataclass(frozen=True)
class BootEntry:
    title: str
    entry_id: str | None
    xen: bool  # loads a Xen hypervisor (multiboot/multiboot2 or xen_hypervisor of a xen*
    #            file; grub legacy: `kernel /xen...`)


@dataclass(frozen=True)
class BootMenu:
    entries: tuple[BootEntry, ...]  # the top-level entries, in order (a submenu by its title)
    default: str  # as written: an index, a title, an id, a "1>2" path; "0" when unset

    def named(self) -> BootEntry | None:
        """The entry `default` names: by index, title or id (the first of a submenu path);
        None when it names none."""
        first = self.default.split(">")[0]  # as GRUB compares it: spaces count
        if first.strip().isdigit():
            index = int(first)
            return self.entries[index] if index < len(self.entries) else None
        return next((e for e in self.entries if first in (e.title, e.entry_id)), None)

    def default_entry(self) -> BootEntry | None:
        """The entry the boot loader boots: the one `default` names, else (as GRUB) the first."""
        return self.named() or (self.entries[0] if self.entries else None)

    def matches(self) -> bool:
        """Whether `default` names an existing entry (else GRUB falls back to the first)."""
        return self.named() is not None


_GRUB2_ENTRY = re.compile(r"""^(menuentry|submenu)\s+(['"])(.*?)\2(.*)\{\s*$""")
_GRUB2_ID = re.compile(r"""\$menuentry_id_option\s+(['"])(.*?)\1""")
_GRUB2_DEFAULT = re.compile(r"""^\s*set\s+default=(['"]?)(.*?)\1\s*$""")
_XEN_LOADER = re.compile(r"^\s*(multiboot2?|xen_hypervisor)\s+(?:--\S+\s+)*\S*/xen[^/\s]*\s*")


@parser()
def parse_boot_menu(text: str) -> BootMenu:
    """The boot loader's menu and its default: GRUB 2's grub.cfg (update-grub's), or GRUB
    legacy's grub.conf (the article's CentOS 6: `default=N`, `title`, `kernel /xen.gz`).
    A grub.cfg default of "${saved_entry}" is given as "saved" (grubenv holds the entry);
    a one-shot "${next_entry}" is ignored."""
    rows = lines(text)
    if any(_GRUB2_ENTRY.match(r.strip()) for r in rows):
        return _grub2(rows)
    if any(r.strip().startswith("title ") for r in rows):
        return _grub_legacy(rows)
    raise Unparsable("neither a grub.cfg (menuentry) nor a grub.conf (title)")


def _grub2(rows: list[str]) -> BootMenu:
    entries: list[BootEntry] = []
    default = "0"
    depth = 0
    for row in rows:
        line = row.strip()
        entry = _GRUB2_ENTRY.match(line)
        if entry:
            if depth == 0:
                found = _GRUB2_ID.search(entry.group(4))
                entries.append(BootEntry(entry.group(3), found.group(2) if found else None, False))
            depth += 1
            continue
        if depth == 0:
            value = _GRUB2_DEFAULT.match(line)
            if value and value.group(2) != "${next_entry}":
                default = "saved" if value.group(2) == "${saved_entry}" else value.group(2)
            continue
        if _XEN_LOADER.match(line):  # inside the top-level entry last read
            entries[-1] = replace(entries[-1], xen=True)
        depth += line.count("{") - line.count("}") if not line.startswith("#") else 0
    return BootMenu(tuple(entries), default)


def _grub_legacy(rows: list[str]) -> BootMenu:
    entries: list[BootEntry] = []
    default = "0"
    for row in rows:
        line = row.strip()
        if line.startswith("#"):
            continue
        key, _, value = line.partition("=") if "=" in line.split()[0] else line.partition(" ")
        if not entries and key == "default":
            default = value.strip()
        elif key == "title":
            entries.append(BootEntry(value.strip(), None, False))
        elif key == "kernel" and entries:
            path = value.split()[0] if value.split() else ""
            if path.rsplit("/", 1)[-1].startswith("xen"):
                entries[-1] = replace(entries[-1], xen=True)
    return BootMenu(tuple(entries), default)


@parser()
def parse_grubenv(text: str) -> dict[str, str]:
    """GRUB's environment block (/boot/grub/grubenv): `key=value` lines, '#' padding."""
    env = {}
    for line in lines(text):
        if line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise Unparsable(f"not a key=value line: {line[:60]!r}")
        env[key.strip()] = value
    return env
