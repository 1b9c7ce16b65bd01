"""Stage 4 steps: Xen and its toolstack (features/04-xen.feature)."""
from __future__ import annotations

import warnings

from pytest_bdd import scenarios, then

from xenlab.adapters import Toolstacks
from xenlab.checks import LabHazard
from xenlab.inventory import Lab
from xenlab.parsers import XenInfo
from xenlab.remote import Host
from xenlab.stages import xen

from .support import check_each, feature, report_each

scenarios(feature("04-xen.feature"))


@then("each Xen host answers through its toolstack with Domain-0 listed",
      target_fixture="xen_info")
def dom0(xen_hosts: tuple[Host, Host], toolstacks: Toolstacks) -> dict[str, XenInfo]:
    found = check_each(xen_hosts, lambda h: xen.check_dom0(toolstacks[h]))
    return {h.name: info for h, info in zip(xen_hosts, found)}


@then("the migration destination has enough free memory for the guest")
def free_memory(lab: Lab, destination_host: Host, xen_info: dict[str, XenInfo],
                toolstacks: Toolstacks) -> None:
    xen.check_free_memory(destination_host, xen_info[destination_host.name],
                          lab.values.guest_memory_mib, toolstack=toolstacks[destination_host],
                          lab_domains=(lab.values.guest_name,))


@then("both Xen hosts run the same Xen version")
def same_version(xen_info: dict[str, XenInfo]) -> None:
    # A regression run after upgrading one host meets this: warn, migration may still work.
    if warning := xen.xen_version_difference({h: i.xen_version for h, i in xen_info.items()}):
        warnings.warn(LabHazard(warning))


@then("a Xen host that a reboot would start without Xen is reported")
def xen_after_reboot(xen_hosts: tuple[Host, Host], hazards_fail: bool) -> None:
    report_each(xen_hosts, xen.after_reboot, hazards_fail)
