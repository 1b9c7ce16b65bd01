"""Stage 2 steps: the Xen hosts' iSCSI sessions (features/02-initiators.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import initiators, target
from xenlab.stages.initiators import SharedDisk

from .support import check_each

scenarios("02-initiators.feature")


@given("each Xen host is logged in to the iSCSI target")
def logged_in(lab: Lab, lab_mode: str, xen_hosts: tuple[Host, Host], build_log) -> None:
    if lab_mode == "build":
        for host in xen_hosts:
            build_log(initiators.build(host, lab.require("iscsi_iqn"), lab.target.lab_ip,
                                       int(lab.require("iscsi_port"))))


@then("each Xen host has a logged-in session to the target's portal")
def sessions(lab: Lab, xen_hosts: tuple[Host, Host]) -> None:
    check_each(xen_hosts, lambda h: initiators.check_session(h, lab.require("iscsi_iqn"),
                                                             lab.target.lab_ip))


@then("each Xen host sees the LUN as the shared disk", target_fixture="shared_disks")
def disks(lab: Lab, xen_hosts: tuple[Host, Host]) -> list[SharedDisk]:
    return check_each(xen_hosts, lambda h: initiators.shared_disk(
        h, lab.require("iscsi_iqn"), lab.target.lab_ip, lab.require("shared_disk")))


@then("both Xen hosts see the same disk, the one the iSCSI target exports")
def same_disk(lab: Lab, target_host: Host, shared_disks: list[SharedDisk]) -> None:
    exported = target.check_target(target_host, lab.require("iscsi_iqn"),
                                   int(lab.require("iscsi_lun")), lab.require("iscsi_backing_store"))
    lun = next(l for l in exported.luns if l.lun == int(lab.require("iscsi_lun")))
    initiators.check_same_disk(shared_disks, lun.scsi_sn)
