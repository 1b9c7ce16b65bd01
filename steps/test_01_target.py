"""Stage 1 steps: the iSCSI target (features/01-target.feature)."""
from __future__ import annotations

import pytest
from pytest_bdd import given, scenarios, then

from xenlab.adapters import Export, IscsiTarget, WantedExport
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import initiators, target

from .support import feature, report_all

scenarios(feature("01-target.feature"))


@pytest.fixture
def acl_entries(lab: Lab, iscsi_target: IscsiTarget, xen_hosts: tuple[Host, Host]
                ) -> dict[str, str]:
    """The ACL entries the lab needs on this target software, each with whom it admits."""
    return iscsi_target.acl_entries(
        lab.values.iscsi_initiator_address,
        lambda: {h.name: initiators.initiator_name(h) for h in xen_hosts})


@given("the iSCSI target is configured with the shared LUN")
def target_configured(lab: Lab, build, request) -> None:
    """The target's software is detected inside the build: in verify mode this step asks
    nothing of the target, so it reads "build only", and an unreachable target fails the
    first step that checks it."""
    v = lab.values
    build(lambda: request.getfixturevalue("iscsi_target").build(WantedExport(
        v.iscsi_iqn, v.iscsi_lun, v.iscsi_backing_store,
        tuple(request.getfixturevalue("acl_entries")), lab.target.lab_ip, v.iscsi_port)))


@then("the iSCSI target lists the shared LUN as a disk of non-zero size",
      target_fixture="exported")
def lun_listed(lab: Lab, iscsi_target: IscsiTarget) -> Export:
    v = lab.values
    return target.check_target(iscsi_target, v.iscsi_iqn, v.iscsi_lun, v.iscsi_backing_store)


@then("the target's access list admits the Xen hosts")
def acl_admits(iscsi_target: IscsiTarget, exported: Export, acl_entries: dict[str, str]) -> None:
    target.check_acl(iscsi_target, exported, acl_entries)


@then("the iSCSI target listens on the iSCSI port")
def listens(lab: Lab, target_host: Host) -> None:
    target.check_listening(target_host, lab.target.lab_ip, lab.values.iscsi_port)


@then("weak access control on the iSCSI target is reported")
def weak_acl(iscsi_target: IscsiTarget, exported: Export, hazards_fail: bool) -> None:
    report_all(iscsi_target.hazards(exported), hazards_fail)


@then("an export that a reboot of the target would lose is reported")
def export_after_reboot(lab: Lab, iscsi_target: IscsiTarget, exported: Export,
                        hazards_fail: bool) -> None:
    report_all(iscsi_target.after_reboot(exported, lab.values.iscsi_lun), hazards_fail)
