"""Stage 7: the guest's configuration, the same on both hosts, every path it names present.

Configurations are compared by meaning (their parsed settings), never by text: a
student's file in the article's spelling (`memory = "512"`, trailing commas) or in
xl's modern disk syntax says the same as ours. Build mode leaves such a file alone,
and where a setting must change it edits that setting only, keeping what the user
added (a fixed MAC, other options, comments).
"""
from __future__ import annotations

import ast
import re

from xenlab.checks import Finding, expect, fail
from xenlab.errors import ParseError
from xenlab.inventory import LabValues
from xenlab.parsers import DiskSpec, GuestConfig, VifSpec, parse_guest_config
from xenlab.remote import Host, InputFrom


def lines(v: LabValues) -> dict[str, str]:
    """Each setting of /etc/xen/busybox as the article writes it, with the inventory's values."""
    return {
        "kernel": f'kernel = "{v.guest_kernel}"', "ramdisk": f'ramdisk = "{v.guest_ramdisk}"',
        "name": f'name = "{v.guest_name}"', "memory": f'memory = "{v.guest_memory_mib}"',
        "vcpus": f"vcpus = {v.guest_vcpus}", "disk": f"disk = ['file:{v.guest_image},xvda,w',]",
        "root": f'root = "{v.guest_root}"', "extra": f'extra = "{v.guest_extra}"',
        "vif": f"vif = ['bridge={v.bridge}',]", "on_crash": 'on_crash = "destroy"',
        "on_reboot": 'on_reboot = "destroy"', "on_shutdown": 'on_shutdown = "destroy"',
    }


def render(v: LabValues) -> str:
    return "".join(f"{line}\n" for line in lines(v).values())


def _disk_meaning(d: DiskSpec) -> tuple[str, str, bool]:
    return d.target, d.vdev, d.mode in ("w", "rw", "w!")  # file:... and xl's format=raw alike


def meaning(config: GuestConfig) -> dict[str, object]:
    """What xl does with the settings the inventory speaks of (a vif's MAC is the user's)."""
    return {
        "kernel": config.kernel, "ramdisk": config.ramdisk, "name": config.name,
        "memory": config.memory_mib, "vcpus": config.vcpus,
        "disk": tuple(_disk_meaning(d) for d in config.disks), "root": config.root,
        "extra": config.extra, "vif": tuple(v.bridge for v in config.vifs),
        "on_crash": config.on_crash, "on_reboot": config.on_reboot,
        "on_shutdown": config.on_shutdown,
    }


def differences(config: GuestConfig, wanted: GuestConfig) -> list[str]:
    """The settings whose meaning differs from what the inventory asks."""
    have, want = meaning(config), meaning(wanted)
    return [key for key in want if have[key] != want[key]]


def build(host: Host, path: str, values: LabValues) -> list[str]:
    """The configuration the inventory asks for, changing only the settings that differ."""
    text = host.read_file(path)
    if text is None:
        host.write_file(path, render(values))
        return [f"{host.name}: wrote {path}"]
    try:
        config = parse_guest_config(text)
    except ParseError as exc:
        fail(host.name, f"{path} readable as a guest configuration (build mode edits it, "
             "it does not replace a file it cannot read)", str(exc))
    changed = differences(config, parse_guest_config(render(values)))
    if not changed:
        return []
    host.write_file(path, edited(text, config, changed, values))
    return [f"{host.name}: {path}: set {', '.join(changed)} as the inventory says "
            "(the rest of the file kept)"]


def build_same(source: Host, others: list[Host], path: str) -> list[str]:
    """The others' configuration as the source's where its meaning differs (the article's
    `scp /etc/xen/busybox test2:/etc/xen/`); a file that says the same in other words is
    kept."""
    text = source.read_file(path)
    if text is None:  # planned, not written yet: build writes the same on every host
        return []
    settings = dict(parse_guest_config(text).settings)
    changes = []
    for host in others:
        theirs = host.read_file(path)
        try:
            same = theirs is not None and dict(parse_guest_config(theirs).settings) == settings
        except ParseError:
            same = False
        if not same:
            host.change("cat > %s", path, input=InputFrom(source, path), timeout=15)
            changes.append(f"{host.name}: {path} as on {source.name}")
    return changes


def edited(text: str, config: GuestConfig, keys: list[str], values: LabValues) -> str:
    """text with the settings `keys` rewritten; a vif keeps its options (mac=, ...) and
    gets the inventory's bridge; settings it lacks are appended."""
    wanted = lines(values)
    if "vif" in keys and config.vifs:
        wanted["vif"] = "vif = [" + ", ".join(
            repr(_with_bridge(vif, values.bridge)) for vif in config.vifs) + "]"
    spans = {statement.targets[0].id: (statement.lineno, statement.end_lineno)
             for statement in ast.parse(text).body}
    out = text.splitlines()
    for key in sorted((k for k in keys if k in spans), key=lambda k: -spans[k][0]):
        first, last = spans[key]
        out[first - 1:last] = [wanted[key]]
    out += [wanted[key] for key in keys if key not in spans]
    return "\n".join(out) + "\n"


def _with_bridge(vif: VifSpec, bridge: str) -> str:
    if vif.bridge is None:
        return f"{vif.raw}, bridge={bridge}" if vif.raw.strip() else f"bridge={bridge}"
    return re.sub(r"(bridge\s*=\s*)[^,]*", lambda m: m[1] + bridge, vif.raw, count=1)


def read_config(host: Host, path: str) -> tuple[str, GuestConfig]:
    # The file xl create reads (not a copy elsewhere), parsed: its meaning is what counts.
    text = host.read_file(path)
    expect(text is not None, host.name, f"guest configuration {path}", "no such file")
    return text, parse_guest_config(text)


def check_identical(configs: dict[str, GuestConfig], path: str) -> None:
    """Every host's configuration says what the first one's says (every setting, parsed:
    spelling, order and comments aside)."""
    first, config = next(iter(configs.items()))
    settings = dict(config.settings)
    for host, other in configs.items():
        theirs = dict(other.settings)
        key = next((k for k in {**settings, **theirs} if settings.get(k) != theirs.get(k)), None)
        expect(key is None, host, f"{path} identical to {first}'s",
               f"{key} = {theirs.get(key, '(unset)')} where {settings.get(key, '(unset)')}")


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
