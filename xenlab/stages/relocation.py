"""Stage 8: the relocation path. xm: xend's relocation server; xl: root SSH between dom0s."""
from __future__ import annotations

from xenlab.checks import Finding, expect
from xenlab.parsers import XendConfig, parse_ss_listen, parse_xend_config
from xenlab.adapters.toolstack import Toolstack
from xenlab.remote import Host, InputFrom


def check_relocation_path(source: Toolstack, dest_address: str, port: int) -> None:
    """The channel the toolstack migrates through works, seen from the source (the
    toolstack's own probe: xl's root SSH login, xm's TCP connect to xend)."""
    result = source.relocation_check(dest_address, port)
    expect(result.ok, source.host.name,
           source.relocation_path.format(address=dest_address, port=port), result.one_line())


def check_relocation_service(toolstack: Toolstack, port: int) -> None:
    """Where the toolstack has a relocation server (xend), its configuration and socket."""
    if toolstack.relocation_config is not None:
        host = toolstack.host
        check_xend(host, read_xend_config(toolstack), port, host.spec.lab_ip)


ROOT_KEY = "/root/.ssh/id_ed25519"
# The public key on stdin, appended to root's authorized_keys unless it is there.
AUTHORIZE_KEY = ('k=$(cat) && mkdir -p -m 700 /root/.ssh && touch /root/.ssh/authorized_keys '
                 '&& (grep -qxF "$k" /root/.ssh/authorized_keys || '
                 'echo "$k" >> /root/.ssh/authorized_keys)')


def build_ssh_trust(source: Toolstack, dest: Host, dest_ip: str) -> list[str]:
    """The source's root key authorized on the destination, the destination's host key known
    (what `xl migrate` needs); nothing if the toolstack's relocation path already works."""
    if source.relocation_check(dest_ip, 22).ok:
        return []
    host = source.host
    host.change("test -f %s || ssh-keygen -q -t ed25519 -N '' -f %s", ROOT_KEY, ROOT_KEY,
                timeout=30)
    # the key travels as the command's input, read from the source when it runs (in a
    # plan, made before the key exists: named, not read)
    dest.change(AUTHORIZE_KEY, input=InputFrom(host, ROOT_KEY + ".pub"), timeout=15)
    host_key = dest.check("cat /etc/ssh/ssh_host_ed25519_key.pub").stdout.split()
    line = f"{dest_ip} {host_key[0]} {host_key[1]}"
    host.change("touch /root/.ssh/known_hosts && (grep -qxF %s /root/.ssh/known_hosts || "
                "echo %s >> /root/.ssh/known_hosts)", line, line, timeout=15)
    return [f"{host.name}: root SSH key authorized on {dest.name}, its host key known"]


def read_xend_config(toolstack: Toolstack) -> XendConfig:
    path = toolstack.relocation_config
    text = toolstack.host.read_file(path)
    expect(text is not None, toolstack.host.name, path, "no such file (is this an xm host?)")
    return parse_xend_config(text)


def check_xend(host: Host, config: XendConfig, port: int, address: str) -> None:
    """xend-config.sxp as xend reads it at start, then the kernel's socket table (`ss`,
    our parser: CentOS 6's ss) for the port xend really bound."""
    expect(config.relocation_server is True, host.name, "(xend-relocation-server yes)",
           config.relocation_server)
    expect(config.relocation_port == port, host.name, f"(xend-relocation-port {port})",
           config.relocation_port)
    expect(config.relocation_address in (address, "", None), host.name,
           f"(xend-relocation-address '{address}')", config.relocation_address)
    listeners = parse_ss_listen(host.check("ss -tln", timeout=15).stdout)
    here = [f"{l.local_address}:{l.port}" for l in listeners if l.port == port]
    expect(any(a.split(":")[0] in (address, "*", "0.0.0.0") for a in here), host.name,
           f"{address}:{port} listening", here or f"nothing on port {port}")


def hazards(toolstack: Toolstack) -> list[Finding]:
    """What is unsafe in the toolstack's relocation server (none: xl migrates over SSH)."""
    if toolstack.relocation_config is None:
        return []
    return xend_hazards(toolstack.host, read_xend_config(toolstack))


def xend_hazards(host: Host, config: XendConfig) -> list[Finding]:
    found = []
    if config.relocation_server and not config.relocation_hosts_allow:
        found.append(Finding(host.name, "(xend-relocation-hosts-allow '') lets any host migrate "
                             "a domain into this dom0",
                             "the relocation port is unauthenticated: whoever reaches it can run "
                             "a domain of their choosing here (root-equivalent)",
                             "a hosts-allow regex of the other Xen host only, on a private network"))
    if config.relocation_server and not config.relocation_ssl_server:
        found.append(Finding(host.name, "relocation without SSL",
                             "the guest's memory crosses the network in clear",
                             "(xend-relocation-ssl-server yes) or xl migrate over SSH"))
    return found
