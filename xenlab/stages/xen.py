"""Stage 4: Xen dom0 on both hosts, toolstack detected (xm with xend on Xen <= 4.4, else xl)."""
from __future__ import annotations

from xenlab.checks import expect
from xenlab.parsers import XenInfo
from xenlab.remote import Host
from xenlab.toolstack import Toolstack, detect


def check_dom0(host: Host) -> tuple[Toolstack, XenInfo]:
    """Xen answers, the toolstack fits the version, Domain-0 runs."""
    toolstack = detect(host)
    info = toolstack.info()
    modern = (info.xen_major, info.xen_minor) >= (4, 5)
    expect(toolstack.command == "xl" or not modern, host.name,
           "the xl toolstack on Xen >= 4.5 (xend and xm were removed in 4.5)",
           f"{toolstack.command} on Xen {info.xen_version}")
    names = [d.name for d in toolstack.domains()]
    expect("Domain-0" in names, host.name, "Domain-0 in the domain list", names)
    return toolstack, info


def check_free_memory(host: Host, info: XenInfo, guest_mib: int) -> None:
    expect(info.free_memory_mib >= guest_mib, host.name,
           f"at least {guest_mib} MiB free for the guest", f"{info.free_memory_mib} MiB free")
