"""Stage 1 steps: the iSCSI target (features/01-target.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.adapters import Export, IscsiTarget
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import target

from .support import feature, report_all

scenarios(feature("01-target.feature"))


@given("the iSCSI target is configured with the shared LUN")
def target_configured(lab: Lab, iscsi_target: IscsiTarget, build) -> None:
    v = lab.values
    build(lambda: iscsi_target.build(v.iscsi_iqn, v.iscsi_backing_store,
                                     v.iscsi_initiator_address))


@then("the iSCSI target lists the shared LUN as a disk of non-zero size",
      target_fixture="exported")
def lun_listed(lab: Lab, iscsi_target: IscsiTarget) -> Export:
    v = lab.values
    return target.check_target(iscsi_target, v.iscsi_iqn, v.iscsi_lun, v.iscsi_backing_store)


@then("the target's access list admits the lab network")
def acl_admits(lab: Lab, iscsi_target: IscsiTarget, exported: Export) -> None:
    target.check_acl(iscsi_target, exported, lab.values.iscsi_initiator_address)


@then("the iSCSI target listens on the iSCSI port")
def listens(lab: Lab, target_host: Host) -> None:
    target.check_listening(target_host, lab.values.iscsi_port)


@then("weak access control on the iSCSI target is reported")
def weak_acl(iscsi_target: IscsiTarget, exported: Export, hazards_fail: bool) -> None:
    report_all(iscsi_target.hazards(exported), hazards_fail)
