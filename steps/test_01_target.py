"""Stage 1 steps: the iSCSI target (features/01-target.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.inventory import Lab
from xenlab.parsers import TgtTarget
from xenlab.remote import Host
from xenlab.stages import target

from .support import report_all

scenarios("01-target.feature")


@given("the iSCSI target is configured with the shared LUN")
def target_configured(lab: Lab, lab_mode: str, target_host: Host, build_log) -> None:
    if lab_mode == "build":
        build_log(target.build(target_host, lab.require("iscsi_iqn"),
                               lab.require("iscsi_backing_store"),
                               lab.require("iscsi_initiator_address")))


@then("the iSCSI target lists the shared LUN as a disk of non-zero size",
      target_fixture="exported")
def lun_listed(lab: Lab, target_host: Host) -> TgtTarget:
    return target.check_target(target_host, lab.require("iscsi_iqn"),
                               int(lab.require("iscsi_lun")), lab.require("iscsi_backing_store"))


@then("the target's access list admits the lab network")
def acl_admits(lab: Lab, target_host: Host, exported: TgtTarget) -> None:
    target.check_acl(target_host, exported, lab.require("iscsi_initiator_address"))


@then("the iSCSI target listens on the iSCSI port")
def listens(lab: Lab, target_host: Host) -> None:
    target.check_listening(target_host, int(lab.require("iscsi_port")))


@then("weak access control on the iSCSI target is reported")
def weak_acl(target_host: Host, exported: TgtTarget, strict: bool) -> None:
    report_all(target.hazards(target_host, exported), strict)
