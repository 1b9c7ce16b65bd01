"""Stage 7: the guest's configuration, identical on both hosts, every path it names present."""
from __future__ import annotations

from xenlab.checks import Finding, expect
from xenlab.inventory import LabValues
from xenlab.parsers import GuestConfig, parse_guest_config
from xenlab.remote import Host


def render(v: LabValues) -> str:
    """/etc/xen/busybox as the article writes it, with the inventory's values."""
    return (f'kernel = "{v.guest_kernel}"\n'
            f'ramdisk = "{v.guest_ramdisk}"\n'
            f'name = "{v.guest_name}"\n'
            f'memory = "{v.guest_memory_mib}"\n'
            f'vcpus = {v.guest_vcpus}\n'
            f"disk = ['file:{v.guest_image},xvda,w',]\n"
            f'root = "{v.guest_root}"\n'
            f'extra = "{v.guest_extra}"\n'
            f"vif = ['bridge={v.bridge}',]\n"
            'on_crash = "destroy"\non_reboot = "destroy"\non_shutdown = "destroy"\n')


def build(host: Host, path: str, text: str) -> list[str]:
    if host.read_file(path) == text:
        return []
    host.write_file(path, text)
    return [f"{host.name}: wrote {path}"]


def read_config(host: Host, path: str) -> tuple[str, GuestConfig]:
    text = host.read_file(path)
    expect(text is not None, host.name, f"guest configuration {path}", "no such file")
    return text, parse_guest_config(text)


def check_identical(texts: dict[str, str], path: str) -> None:
    first, text = next(iter(texts.items()))
    for host, other in texts.items():
        expect(other == text, host, f"{path} identical to {first}'s",
               _first_difference(text, other))


def _first_difference(a: str, b: str) -> str:
    for line_a, line_b in zip(a.splitlines(), b.splitlines()):
        if line_a != line_b:
            return f"{line_b!r} where {line_a!r}"
    return f"{len(b.splitlines())} lines where {len(a.splitlines())}"


def check_values(host: Host, config: GuestConfig, v: LabValues) -> None:
    expect(config.name == v.guest_name, host.name, f"name {v.guest_name}", config.name)
    expect(config.memory_mib == v.guest_memory_mib, host.name,
           f"memory {v.guest_memory_mib} MiB", config.memory_mib)


def named_paths(config: GuestConfig) -> list[str]:
    return [p for p in (config.kernel, config.ramdisk, *(d.target for d in config.disks)) if p]


def check_paths(host: Host, config: GuestConfig) -> None:
    """Every file and bridge the configuration names exists on this host."""
    paths = named_paths(config)
    bridges = [v.bridge for v in config.vifs if v.bridge]
    wanted = paths + [f"/sys/class/net/{b}/bridge" for b in bridges]
    result = host.check("for p in " + " ".join(["%s"] * len(wanted)) +
                        '; do test -e "$p" || echo "$p"; done', *wanted, timeout=15)
    missing = result.stdout.split()
    expect(not missing, host.name, "every path the guest configuration names", f"missing {missing}")


def hazards(host: Host, config: GuestConfig, path: str) -> list[Finding]:
    return [Finding(host.name, f"{path}: vif {v.raw!r} has no fixed mac=",
                    "the guest gets a random MAC at each start; ARP caches and DHCP "
                    "reservations then point at a MAC that no longer exists",
                    "a fixed mac=00:16:3e:xx:xx:xx in the vif line")
            for v in config.vifs if not v.mac]
