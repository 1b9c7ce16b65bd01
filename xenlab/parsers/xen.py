"""Xen toolstack outputs: `xm list` / `xl list` and `xm info` / `xl info`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ._common import Unparsable, json_object, lines, load_json, parser, split_field, to_float, to_int

_LIST_HEADER = ["Name", "ID", "Mem", "VCPUs", "State", "Time(s)"]


def _state_flag(flag: str) -> property:
    """A bool property: is `flag` set in the domain's state column?"""
    return property(lambda domain: flag in domain.state)


@dataclass(frozen=True)
class Domain:
    name: str
    domid: int
    mem_mib: int
    vcpus: int
    state: str  # six flag columns, e.g. "r-----", "--p---"
    time_s: float

    running = _state_flag("r")
    blocked = _state_flag("b")
    paused = _state_flag("p")
    shutdown = _state_flag("s")
    crashed = _state_flag("c")
    dying = _state_flag("d")


@dataclass(frozen=True)
class XenInfo:
    host: str | None
    release: str | None
    xen_major: int
    xen_minor: int
    xen_extra: str
    free_memory_mib: int | None
    total_memory_mib: int | None
    nr_cpus: int | None
    xen_caps: str | None
    xen_commandline: str | None
    fields: tuple[tuple[str, str], ...]  # every "key : value" pair, in order

    @property
    def xen_version(self) -> str:
        """'4.2.5-38.el6': major.minor followed by extra (which starts with '.')."""
        return f"{self.xen_major}.{self.xen_minor}{self.xen_extra}"

    @property
    def virt_caps(self) -> tuple[str, ...] | None:
        """What the running hypervisor can do (xl on Xen >= 4.13: 'pv hvm shadow ...');
        None when the toolstack does not say (no field, or empty as on the article's 4.2)."""
        value = dict(self.fields).get("virt_caps", "").split()
        return tuple(value) if value else None


@parser()
def parse_domain_list(text: str) -> tuple[Domain, ...]:
    """The header line, then one domain per line (spaces or tabs between columns)."""
    header, *rows = lines(text)
    if header.split()[: len(_LIST_HEADER)] != _LIST_HEADER:
        raise Unparsable("expected the header 'Name ID Mem VCPUs State Time(s)'")
    return tuple(_domain(row) for row in rows)


def _domain(row: str) -> Domain:
    words = row.rsplit(None, 5)  # the name may hold spaces; the rest may not
    if len(words) != 6:
        raise Unparsable(f"domain line has fewer than six columns: {row!r}")
    name, domid, mem, vcpus, state, time_s = words
    if len(state) != 6 or set(state) - set("rbpscd-"):
        raise Unparsable(f"not a six-flag domain state: {state!r}")
    return Domain(
        name=name.strip(),
        domid=to_int(domid, "ID"),
        mem_mib=to_int(mem, "Mem"),
        vcpus=to_int(vcpus, "VCPUs"),
        state=state,
        time_s=to_float(time_s, "Time(s)"),
    )


def _optional_int(info: dict[str, str], key: str) -> int | None:
    return to_int(info[key], key) if key in info else None


@parser()
def parse_xen_info(text: str) -> XenInfo:
    """'key : value' lines (spacing around the colon varies, even none)."""
    pairs = []
    for line in lines(text):
        field = split_field(line)
        if field is None:
            raise Unparsable(f"not a 'key : value' line: {line.strip()!r}")
        pairs.append(field)
    info = dict(pairs)
    if "xen_major" not in info or "xen_minor" not in info:
        raise Unparsable("no xen_major / xen_minor")
    return XenInfo(
        host=info.get("host"),
        release=info.get("release"),
        xen_major=to_int(info["xen_major"], "xen_major"),
        xen_minor=to_int(info["xen_minor"], "xen_minor"),
        xen_extra=info.get("xen_extra", ""),
        free_memory_mib=_optional_int(info, "free_memory"),
        total_memory_mib=_optional_int(info, "total_memory"),
        nr_cpus=_optional_int(info, "nr_cpus"),
        xen_caps=info.get("xen_caps"),
        xen_commandline=info.get("xen_commandline"),
        fields=tuple(pairs),
    )


def _long_domains(text: str) -> list[tuple[dict, dict]]:
    """`xl list -l`'s domains: (config, c_info) of each, as JSON objects."""
    domains = load_json(text)
    if not isinstance(domains, list) or not domains:
        raise Unparsable("expected a JSON list of domains")
    found = []
    for domain in domains:
        config = json_object(json_object(domain, "a domain").get("config"), "config")
        found.append((config, json_object(config.get("c_info"), "c_info")))
    return found


@parser()
def parse_domain_types(text: str) -> dict[str, str]:
    """`xl list -l [NAME]` (JSON: one object per domain) -> domain name -> its type as libxl
    says it ("pv", "pvh", "hvm")."""
    types = {}
    for _, info in _long_domains(text):
        if not isinstance(info.get("name"), str) or not isinstance(info.get("type"), str):
            raise Unparsable(f"a domain without c_info name and type: {str(info)[:80]!r}")
        types[info["name"]] = info["type"]
    return types


@dataclass(frozen=True)
class DomainDisk:
    """A disk of a running domain, as libxl holds it (`xl list -l`): what the guest calls it
    and what backs it in dom0."""

    vdev: str  # "xvda", "sdb", "hda", as the config names it
    target: str  # pdev_path: a file or a block device of dom0 ("" for an empty drive)
    writable: bool

    @property
    def guest_name(self) -> str:
        """The name a PV guest's blkfront gives it: xvdX whatever the config called it."""
        m = re.fullmatch(r"(?:xvd|sd|hd)([a-z]+)", self.vdev)
        return f"xvd{m[1]}" if m else self.vdev


@parser()
def parse_domain_disks(text: str) -> dict[str, tuple[DomainDisk, ...]]:
    """`xl list -l [NAME]` -> domain name -> its disks, in libxl's order (the running
    domain's own record: disks attached since it started are there, the config file's
    later edits are not)."""
    found = {}
    for config, info in _long_domains(text):
        name = info.get("name")
        if not isinstance(name, str):
            raise Unparsable("a domain without c_info name")
        disks = config.get("disks") or []
        if not isinstance(disks, list):
            raise Unparsable(f"{name}: disks is not a list: {str(disks)[:80]!r}")
        found[name] = tuple(_domain_disk(name, json_object(d, "a disk")) for d in disks)
    return found


def _domain_disk(domain: str, disk: dict) -> DomainDisk:
    if not isinstance(disk.get("vdev"), str):
        raise Unparsable(f"{domain}: a disk without vdev: {str(disk)[:80]!r}")
    target = disk.get("pdev_path") or ""
    if not isinstance(target, str):
        raise Unparsable(f"{domain}: disk {disk['vdev']}: pdev_path is not a string")
    return DomainDisk(disk["vdev"], target, bool(disk.get("readwrite", 0)))


@dataclass(frozen=True)
class BackendInventory:
    """What of its domains a Xen host's dom0 holds besides the domains themselves: the ports
    of the lab's bridge (a guest's vif is `vifDOMID.N`) and, per backend kind of xenstore
    (vif, vbd, qdisk), the domains it has backend entries for."""

    ports: tuple[str, ...]
    backends: tuple[tuple[str, tuple[int, ...]], ...]  # (kind, domids)

    def port_domids(self) -> dict[str, int]:
        """Each `vifD.N`/`vifD.N-emu` port -> D."""
        found = {}
        for port in self.ports:
            m = re.fullmatch(r"vif(\d+)\.\d+(-emu)?", port)
            if m:
                found[port] = int(m[1])
        return found


# The sections BACKEND_INVENTORY prints (xenlab.stages.leaks): @@ports, then @@<kind> for
# each backend kind of xenstore.
BACKEND_KINDS = ("vif", "vbd", "qdisk")


@parser()
def parse_backend_inventory(text: str) -> BackendInventory:
    sections: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("@@"):
            current = line[2:]
            sections[current] = []
        elif line:
            if current is None:
                raise Unparsable(f"a line before any @@section: {line!r}")
            sections[current].append(line)
    if "ports" not in sections or not all(k in sections for k in BACKEND_KINDS):
        raise Unparsable(f"sections {sorted(sections)}, expected ports and {', '.join(BACKEND_KINDS)}")
    backends = []
    for kind in BACKEND_KINDS:
        bad = [d for d in sections[kind] if not d.isdigit()]
        if bad:
            raise Unparsable(f"backend/{kind}: not a domain id: {bad[0]!r}")
        backends.append((kind, tuple(int(d) for d in sections[kind])))
    return BackendInventory(tuple(sections["ports"]), tuple(backends))
