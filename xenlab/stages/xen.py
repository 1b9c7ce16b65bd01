"""Stage 4: Xen dom0 on both hosts, toolstack detected (xm with xend on Xen <= 4.4, else xl)."""
from __future__ import annotations

import dataclasses
import posixpath

from xenlab.checks import RebootFinding, expect
from xenlab.adapters.toolstack import Toolstack
from xenlab.parsers import XenInfo
from xenlab.parsers.boot import parse_boot_menu, parse_grubenv
from xenlab.remote import Host, command_line

# Where GRUB keeps the menu it reads at boot: GRUB 2 (Debian, RHEL >= 7), GRUB legacy (the
# article's CentOS 6).
BOOT_MENUS = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg", "/boot/grub/grub.conf")


def check_dom0(toolstack: Toolstack) -> XenInfo:
    """Xen answers (`xl info`/`xm info`: the hypervisor itself, through the toolstack),
    the toolstack fits the version, Domain-0 runs."""
    host = toolstack.host
    info = toolstack.info()
    expect(toolstack.fits(info), host.name,
           "the xl toolstack on Xen >= 4.5 (xend and xm were removed in 4.5)",
           f"{toolstack.command} on Xen {info.xen_version}")
    names = [d.name for d in toolstack.domains()]
    expect("Domain-0" in names, host.name, "Domain-0 in the domain list", names)
    return info


def check_free_memory(host: Host, info: XenInfo, guest_mib: int,
                      guest: str = "the guest", toolstack: Toolstack | None = None,
                      lab_domains: tuple[str, ...] = ()) -> None:
    """Where it fails, the fix offers to stop the host's domains whose memory would make room
    (not Domain-0, not `lab_domains`), largest first: the operator decides which is
    expendable."""
    # The hypervisor's free_memory (xl info), not dom0's /proc/meminfo: a guest's memory
    # comes from Xen, and a paused domain holds its share there.
    free = info.free_memory_mib
    short = guest_mib - (free or 0)
    others = [d for d in (toolstack.domains() if toolstack and short > 0 else ())
              if d.domid != 0 and d.name not in lab_domains and d.mem_mib >= short]
    fix = tuple(f"{toolstack.destroy_command(d.name)}   # one of these: {d.name} holds "
                f"{d.mem_mib} MiB" for d in sorted(others, key=lambda d: -d.mem_mib))
    expect(free is not None and free >= guest_mib, host.name,
           f"at least {guest_mib} MiB free for {guest}", f"{free} MiB free", fix)


def unsupported_move(source: XenInfo, destination: XenInfo, guest_type: str | None = None
                     ) -> str | None:
    """Why Xen does not support a live migration of a guest of guest_type ("pv", "pvh",
    "hvm"; None: not known) from source to destination; None when it does.

    - A destination of an older Xen release: migration goes only to the same or a newer
      release, as in a rolling upgrade. Patch levels of one release move both ways.
    - A PV guest away from a Xen built without shadow paging: Xen tracks the memory a PV
      guest dirties during a live migration with shadow page tables, so the source's
      `xl migrate` fails ("Failed to enable logdirty"). Read from what the running hypervisor
      says it can do (xl info's virt_caps, Xen >= 4.13), not from a build configuration file
      on disk, which may belong to another Xen than the one booted. Debian 13's Xen 4.20 is
      built so (measured on the box)."""
    if (destination.xen_major, destination.xen_minor) < (source.xen_major, source.xen_minor):
        return (f"Xen supports live migration to the same or a newer release only: "
                f"{source.host or 'the source'} runs Xen {source.xen_version}, "
                f"{destination.host or 'the destination'} Xen {destination.xen_version}")
    caps = source.virt_caps
    if guest_type == "pv" and caps is not None and "shadow" not in caps:
        host = source.host or "the source"
        return (f"Xen {source.xen_version} on {host} is built without shadow paging (xl info "
                f"virt_caps: {' '.join(caps)}; no 'shadow'), which Xen needs to track the "
                f"memory a PV guest writes while it moves: the PV guest cannot be migrated "
                f"live away from {host} (xl migrate fails: 'Failed to enable logdirty'). Fix: "
                f"a Xen built with CONFIG_SHADOW_PAGING=y on {host}, or the guest as PVH or "
                "HVM (hardware virtualisation on the hosts)")
    return None


def xen_version_difference(versions: dict[str, str]) -> str | None:
    """host -> Xen version; a warning when they differ (migration goes only from older
    to newer, as after upgrading one host of a pair), else None."""
    if len(set(versions.values())) <= 1:
        return None
    return (", ".join(f"{host} runs Xen {v}" for host, v in versions.items())
            + ": migration is supported only to the same or a newer version")


def after_reboot(host: Host) -> list[RebootFinding]:
    """Whether the next boot starts Xen: the default entry of the boot loader's own menu (the
    file GRUB reads at boot), not what runs now (stage 4 saw Xen run today; an upgrade or a
    kernel package can change the menu under it). A host without a GRUB menu where GRUB keeps
    one (e.g. the box's hosts, booted by QEMU; an EFI-only layout) is not judged."""
    for path in BOOT_MENUS:
        text = host.read_file(path)
        if text is not None and text.strip():
            break
    else:
        return []
    menu = parse_boot_menu(text)
    if menu.default == "saved":  # GRUB_DEFAULT=saved: the entry grubenv holds
        env = host.read_file(posixpath.join(posixpath.dirname(path), "grubenv"))
        saved = parse_grubenv(env).get("saved_entry") if env and env.strip() else None
        menu = dataclasses.replace(menu, default=saved or "0")
    entry = menu.default_entry()
    if entry is None or entry.xen:
        return []
    how = (f"its default {menu.default!r} names no entry, so GRUB boots the first, "
           f"{entry.title!r}" if not menu.matches() else f"its default entry {entry.title!r}")
    xen_entries = [e for e in menu.entries if e.xen]
    if not xen_entries:
        fix = "install the Xen hypervisor package (Debian: `apt-get install xen-system-amd64`)"
    elif path.endswith("grub.conf"):
        index = menu.entries.index(xen_entries[0])
        fix = f"`sed -i 's/^default=.*/default={index}/' {path}`"
    elif path.startswith("/boot/grub2/"):  # RHEL: GRUB_DEFAULT=saved, the entry in grubenv
        fix = "`" + command_line("grub2-set-default %s", xen_entries[0].title) + "`"
    else:
        # In a file of /etc/default/grub.d read last: Debian's xen.cfg there sets GRUB_DEFAULT
        # itself (from GRUB_DISTRIBUTOR), after /etc/default/grub.
        fix = ("`mkdir -p /etc/default/grub.d && "
               + command_line("echo %s > /etc/default/grub.d/zz-xen-default.cfg",
                              f'GRUB_DEFAULT="{xen_entries[0].title}"')
               + " && update-grub`")
    return [RebootFinding(host.name, f"Xen ({path}: {how} starts no hypervisor)",
                          "after the reboot the host runs Linux without Xen: no dom0, no xl, "
                          "no guest and no migration to or from it", fix)]
