"""Stage 5: the bridge carries the host's lab address, with the lab NIC enslaved to it."""
from __future__ import annotations

import ipaddress

from xenlab.checks import RebootFinding, expect
from xenlab.errors import CommandFailed
from xenlab.parsers import IpInterface, parse_ip_addr_json
from xenlab.parsers.boot import IfupdownIface, NetworkFiles, parse_network_files
from xenlab.remote import Host, write_command

IFACES_D = "/etc/network/interfaces.d"


def interfaces(host: Host, *names: str) -> dict[str, IpInterface]:
    """The named interfaces that exist, asked for one by one.

    Not one `ip -j addr show` of every interface: iproute2 6.1 prints broken JSON
    when an interface disappears during its dump (seen on the box when a guest's
    vif went away after a migration).
    """
    found = {}
    for name in names:
        result = host.run("ip -j -d addr show dev %s", name, timeout=15)
        if result.rc == 0:
            found.update((i.name, i) for i in parse_ip_addr_json(result.stdout))
        elif "does not exist" not in result.stderr:
            raise CommandFailed(result.one_line(), result)
    return found


def build(host: Host, bridge: str, port: str, address: str, prefix: int) -> list[str]:
    """Move the address from the NIC to a new bridge (runtime), and persist it (ifupdown)."""
    changes = []
    links = interfaces(host, port, bridge)
    expect(port in links, host.name, f"network interface {port}", "no such interface")
    cidr = f"{address}/{prefix}"
    if bridge not in links:
        mac = links[port].mac
        # One shell command: the address moves while nothing else runs on the NIC.
        host.change("ip link add %s type bridge && ip link set %s address %s && "
                    "ip link set %s master %s && ip addr flush dev %s && "
                    "ip addr add %s dev %s && ip link set %s up",
                    bridge, bridge, mac, port, bridge, port, cidr, bridge, bridge, timeout=30)
        changes.append(f"{host.name}: created {bridge} with {cidr}, {port} enslaved")
    elif (address, prefix) not in links[bridge].addresses:
        # the lab address on the bridge, in place of the same address with another prefix
        wrong = [f"{a}/{p}" for a, p in links[bridge].addresses if a == address]
        host.change("ip addr add %s dev %s" + " && ip addr del %s dev %s" * len(wrong),
                    cidr, bridge, *(w for other in wrong for w in (other, bridge)), timeout=15)
        changes.append(f"{host.name}: {cidr} on {bridge}"
                       + (f" in place of {', '.join(wrong)}" if wrong else ""))
    if host.run("test -d %s", IFACES_D).rc == 0:
        wanted = ifupdown_stanzas(bridge, port, cidr, links[port].mac)
        defined = ifupdown_definitions(host)
        for name, text in wanted.items():
            path = f"{IFACES_D}/{name}"
            elsewhere = any(where != path for where in defined.get(name, ()))
            shared = any(path in files for other, files in defined.items() if other != name)
            if elsewhere or shared:
                continue  # the user's own definition, or a file of theirs: never overwritten
            if host.read_file(path) != text:
                host.write_file(path, text)
                changes.append(f"{host.name}: wrote {path}")
    return changes


def ifupdown_stanzas(bridge: str, port: str, cidr: str, mac: str) -> dict[str, str]:
    """The files build mode writes in interfaces.d (name -> text): the NIC, the bridge."""
    return {
        port: f"# enslaved to {bridge} (xenlab)\nauto {port}\niface {port} inet manual\n",
        bridge: (f"auto {bridge}\niface {bridge} inet static\n"
                 f"    address {cidr}\n    bridge_ports {port}\n"
                 f"    bridge_hw {mac}\n    bridge_stp off\n    bridge_fd 0\n"),
    }


# The network configuration a boot reads (xenlab.parsers.boot.parse_network_files).
NETWORK_FILES = ("grep -Hs '' /etc/network/interfaces /etc/network/interfaces.d/* "
                 "/etc/sysconfig/network-scripts/ifcfg-* /etc/systemd/network/* "
                 "/etc/NetworkManager/system-connections/*; true")


def after_reboot(host: Host, bridge: str, port: str, address: str, prefix: int
                 ) -> list[RebootFinding]:
    """What of the bridge a reboot would not bring back."""
    # The network configuration files, not `ip`: `ip` shows today's links, and a bridge
    # made with `ip link add` is gone after the next boot.
    files = parse_network_files(host.check(NETWORK_FILES, timeout=15).stdout)
    missing = bridge_not_persisted(files, bridge, port, address, prefix)
    if missing is None:
        return []
    mac = interfaces(host, port).get(port)
    stanzas = ifupdown_stanzas(bridge, port, f"{address}/{prefix}",
                               mac.mac if mac else "MAC-OF-" + port)
    own = files.ifupdown_iface(port)
    elsewhere = own is not None and own.path != f"{IFACES_D}/{port}"
    fix = ("; ".join(f"`{write_command(f'{IFACES_D}/{name}', text)}`"
                     for name, text in stanzas.items() if not (elsewhere and name == port))
           + (f"; and in {own.path}, `iface {port} inet manual` in place of {port}'s stanza"
              if elsewhere else "")
           if not files.ifcfg else
           f"ifcfg-{bridge} (DEVICE={bridge} TYPE=Bridge BOOTPROTO=static IPADDR={address} "
           f"PREFIX={prefix} ONBOOT=yes) and BRIDGE={bridge} in ifcfg-{port}")
    return [RebootFinding(host.name, f"bridge {bridge} with {address}/{prefix} ({missing})",
                          "after the reboot the host has no lab address and no bridge for the "
                          "guest's vif: no iSCSI session, no migration to or from it", fix)]


def bridge_not_persisted(files: NetworkFiles, bridge: str, port: str, address: str,
                         prefix: int) -> str | None:
    """Why the network configuration would not make the bridge at boot; None when it would."""
    stanza = files.ifupdown_iface(bridge)
    if stanza is not None:
        ports = (stanza.option("bridge_ports") or "").split()
        if port not in ports and "all" not in ports:
            return f"ifupdown's iface {bridge} has bridge_ports {' '.join(ports) or 'none'}"
        if stanza.method == "static" and not _same_address(stanza, address, prefix):
            return (f"ifupdown's iface {bridge} has address {stanza.option('address')}"
                    + (f" netmask {stanza.option('netmask')}" if stanza.option("netmask") else ""))
        if bridge not in files.ifupdown_auto:
            return f"ifupdown's iface {bridge} is not `auto`: the boot's `ifup -a` skips it"
        return None
    ifcfg = files.ifcfg_device(bridge)
    if ifcfg is not None:
        enslaved = (files.ifcfg_device(port) or {}).get("BRIDGE")
        if enslaved != bridge:
            return f"ifcfg-{port} has BRIDGE={enslaved or ''}"
        if ifcfg.get("ONBOOT", "yes").lower() == "no":
            return f"ifcfg-{bridge} has ONBOOT=no"
        return None
    # systemd-networkd (a .netdev with Name=) and NetworkManager (interface-name=): present
    # is taken as persisted; their own tools check the rest.
    names = (f"Name={bridge}", f"interface-name={bridge}")
    if any(line.strip().replace(" ", "") in names for _, text in files.others
           for line in text.splitlines()):
        return None
    return "in no network configuration: ifupdown, ifcfg, systemd-networkd, NetworkManager"


def _same_address(stanza: IfupdownIface, address: str, prefix: int) -> bool:
    written = stanza.option("address") or ""
    if "/" in written:
        return written == f"{address}/{prefix}"
    netmask = stanza.option("netmask")
    if written != address or netmask is None:
        return False
    if netmask.isdigit():
        return int(netmask) == prefix
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{netmask}").prefixlen == prefix
    except ValueError:
        return False


# Where ifupdown reads its stanzas: the main file and what Debian's sources (interfaces.d).
IFUPDOWN_FILES = f"/etc/network/interfaces {IFACES_D}/*"


def ifupdown_definitions(host: Host) -> dict[str, tuple[str, ...]]:
    """Interface name -> the ifupdown files with an `iface NAME` stanza for it."""
    result = host.check("awk '$1 == \"iface\" {print FILENAME, $2}' " + IFUPDOWN_FILES
                        + " 2>/dev/null; true", timeout=15)
    found: dict[str, tuple[str, ...]] = {}
    for line in result.stdout.splitlines():
        path, _, name = line.rpartition(" ")
        if path:
            found[name] = (*found.get(name, ()), path)
    return found


def check_is_bridge(host: Host, bridge: str, why: str = "") -> IpInterface:
    """`bridge` exists and is a bridge (the kernel's view, `ip -d`: what a vif is plugged
    into, whatever file or command made it)."""
    wanted = f"a bridge named {bridge}" + (f" ({why})" if why else "")
    found = interfaces(host, bridge).get(bridge)
    expect(found is not None, host.name, wanted, "no such interface")
    expect(found.kind == "bridge", host.name, wanted, f"{bridge} is a {found.kind or 'plain'} link")
    return found


def check_bridge(host: Host, bridge: str, port: str, address: str, prefix: int) -> None:
    links = interfaces(host, port, bridge)
    expect(bridge in links, host.name, f"bridge {bridge}", "no such interface")
    br = links[bridge]
    expect(br.kind == "bridge", host.name, f"{bridge} to be a bridge", br.kind)
    expect(br.up, host.name, f"{bridge} up", "down")
    expect((address, prefix) in br.addresses, host.name, f"{address}/{prefix} on {bridge}",
           [f"{a}/{p}" for a, p in br.addresses] or "no address")
    expect(port in links and links[port].master == bridge, host.name,
           f"{port} enslaved to {bridge}", links.get(port) and links[port].master or "not enslaved")
