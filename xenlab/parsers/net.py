"""Network state: `ifconfig`, `ip -j [-d] addr show`, `ss -tunl` / `ss -tln`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ._common import Unparsable, json_list, json_object, lines, load_json, parser, to_int

# Old net-tools / busybox ("HWaddr 08:00:...", "inet addr:1.2.3.4", "Mask:")
# and net-tools 2.10 ("ether 08:00:...", "inet 1.2.3.4", "netmask ");
# spaces may be missing ("HWaddr08:00:27:16:D9:AA").
_MAC = re.compile(r"\b(?:HWaddr|ether)\s*((?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2})")
_IPV4 = re.compile(r"\binet\s+(?:addr:\s*)?(\d+\.\d+\.\d+\.\d+)")
_NETMASK = re.compile(r"(?:\bMask:|\bnetmask\s)\s*(\d+\.\d+\.\d+\.\d+)")
_FIRST_LINE = re.compile(r"(?P<name>\S+?):?\s+(?:Link encap:|flags=)")
_FLAGS = re.compile(r"flags=\d*<([^>]*)>")
_SS_STATES = {"LISTEN": "tcp", "UNCONN": "udp"}  # proto when ss omits Netid (-t or -u only)


@dataclass(frozen=True)
class Interface:
    name: str
    mac: str | None  # lowercase
    ipv4: str | None
    netmask: str | None
    up: bool
    running: bool


@dataclass(frozen=True)
class IpInterface:
    name: str
    mac: str | None
    mtu: int | None
    up: bool
    master: str | None
    kind: str | None  # linkinfo.info_kind, only with `ip -d`
    addresses: tuple[tuple[str, int], ...]  # (address, prefixlen)


@dataclass(frozen=True)
class Listener:
    proto: str
    local_address: str  # "*", "0.0.0.0", "::" (no brackets), "127.0.0.53%lo"
    port: int


def _search(pattern: re.Pattern[str], block: str) -> str | None:
    found = pattern.search(block)
    return found[1] if found else None


@parser()
def parse_ifconfig(text: str) -> tuple[Interface, ...]:
    """One block per interface; a block starts at a line that is not indented."""
    blocks: list[list[str]] = []
    for line in lines(text):
        if not line[0].isspace():
            blocks.append([])
        elif not blocks:
            raise Unparsable(f"indented line before any interface: {line.strip()!r}")
        blocks[-1].append(line)
    return tuple(_interface(block) for block in blocks)


def _interface(block: list[str]) -> Interface:
    head = _FIRST_LINE.match(block[0])
    if not head:
        raise Unparsable(f"not an ifconfig interface line: {block[0].strip()!r}")
    text = "\n".join(block)
    # "flags=4163<UP,BROADCAST,RUNNING,MULTICAST>" or the old "UP BROADCAST RUNNING" line
    flags = set(re.findall(r"\b[A-Z]+\b", _search(_FLAGS, block[0]) or text))
    mac = _search(_MAC, text)
    return Interface(
        name=head["name"],
        mac=mac.lower() if mac else None,
        ipv4=_search(_IPV4, text),
        netmask=_search(_NETMASK, text),
        up="UP" in flags,
        running="RUNNING" in flags,
    )


@parser()
def parse_ip_addr_json(text: str) -> tuple[IpInterface, ...]:
    """`ip -j addr show` (with -d, also the link kind); [] means no interface."""
    data = load_json(text)
    if not isinstance(data, list):
        raise Unparsable("expected a JSON list of interfaces")
    # iproute2 6.1 prints [{}] when no interface matches (e.g. `show up`)
    return tuple(_ip_interface(item) for item in data if item != {})


def _ip_interface(item: Any) -> IpInterface:
    item = json_object(item, "interface")
    if not isinstance(item.get("ifname"), str):
        raise Unparsable(f"interface without ifname: {item!r}")
    mtu = item.get("mtu")
    return IpInterface(
        name=item["ifname"],
        mac=item.get("address"),
        mtu=None if mtu is None else to_int(mtu, "mtu"),
        up="UP" in json_list(item, "flags") or item.get("operstate") == "UP",
        master=item.get("master"),
        kind=json_object(item.get("linkinfo") or {}, "linkinfo").get("info_kind"),
        addresses=_addresses(item),
    )


def _addresses(item: dict) -> tuple[tuple[str, int], ...]:
    found = []
    for addr in json_list(item, "addr_info"):
        addr = json_object(addr, "addr_info entry")
        if "local" in addr:  # ip also lists lifetime-only entries
            found.append((str(addr["local"]), to_int(addr.get("prefixlen"), "prefixlen")))
    return tuple(found)


@parser()
def parse_ss_listen(text: str) -> tuple[Listener, ...]:
    """Listening sockets; the header line is optional (the article greps it away)."""
    found = []
    for line in lines(text):
        words = line.split()
        if words[0] in ("Netid", "State"):
            continue
        if words[0] not in _SS_STATES:
            proto, words = words[0], words[1:]
        else:
            proto = _SS_STATES[words[0]]
        if len(words) < 5 or words[0] not in _SS_STATES or not words[1].isdigit():
            raise Unparsable(f"not an 'ss -l' socket line: {line.strip()!r}")
        address, _, port = words[3].rpartition(":")
        found.append(Listener(proto, address.strip("[]"), to_int(port, "local port")))
    return tuple(found)
