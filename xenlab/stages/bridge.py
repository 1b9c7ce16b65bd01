"""Stage 5: the bridge carries the host's lab address, with the lab NIC enslaved to it."""
from __future__ import annotations

from xenlab.checks import expect
from xenlab.errors import CommandFailed
from xenlab.parsers import IpInterface, parse_ip_addr_json
from xenlab.remote import Host

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
    if host.run("test -d %s", IFACES_D).rc == 0:
        wanted = {
            port: f"# enslaved to {bridge} (xenlab)\nauto {port}\niface {port} inet manual\n",
            bridge: (f"auto {bridge}\niface {bridge} inet static\n"
                     f"    address {cidr}\n    bridge_ports {port}\n"
                     f"    bridge_hw {links[port].mac}\n    bridge_stp off\n    bridge_fd 0\n"),
        }
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
