"""Stage 2 steps: the Xen hosts' iSCSI sessions (features/02-initiators.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.adapters import IscsiTarget
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import initiators, target
from xenlab.stages.initiators import SharedDisk

from .support import check_each, feature, report_each

scenarios(feature("02-initiators.feature"))


@given("each Xen host is logged in to the iSCSI target")
def logged_in(lab: Lab, xen_hosts: tuple[Host, Host], build_on_each) -> None:
    build_on_each(lambda h: initiators.build(h, lab.values.iscsi_iqn, lab.target.lab_ip,
                                             lab.values.iscsi_port), *xen_hosts)


@then("each Xen host has a logged-in session to the target's portal")
def sessions(lab: Lab, xen_hosts: tuple[Host, Host]) -> None:
    check_each(xen_hosts, lambda h: initiators.check_session(h, lab.values.iscsi_iqn,
                                                             lab.target.lab_ip))


@then("each Xen host sees the LUN as the shared disk", target_fixture="shared_disks")
def disks(lab: Lab, xen_hosts: tuple[Host, Host]) -> list[SharedDisk]:
    return check_each(xen_hosts, lambda h: initiators.shared_disk(
        h, lab.values.iscsi_iqn, lab.target.lab_ip, lab.values.shared_disk))


@then("both Xen hosts see the same disk, the one the iSCSI target exports")
def same_disk(lab: Lab, iscsi_target: IscsiTarget, shared_disks: list[SharedDisk]) -> None:
    v = lab.values
    exported = target.check_target(iscsi_target, v.iscsi_iqn, v.iscsi_lun, v.iscsi_backing_store)
    initiators.check_same_disk(shared_disks, exported.lun(v.iscsi_lun).serial)


@then("a login that a reboot of a Xen host would lose is reported")
def login_after_reboot(lab: Lab, xen_hosts: tuple[Host, Host], hazards_fail: bool) -> None:
    report_each(xen_hosts, lambda h: initiators.after_reboot(
        h, lab.values.iscsi_iqn, lab.target.lab_ip, lab.values.iscsi_port), hazards_fail)
