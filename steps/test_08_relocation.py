"""Stage 8 steps: the relocation path (features/08-relocation.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.checks import fail
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import relocation
from xenlab.toolstack import detect

from .support import report_all

scenarios("08-relocation.feature")


@given("the relocation path is set up between the Xen hosts", target_fixture="toolstack_name")
def set_up(lab_mode: str, source_host: Host, destination_host: Host, build_log) -> str:
    name = detect(source_host).command
    if lab_mode == "build":
        if name != "xl":
            fail(source_host.name, "build mode on an xl host (xend-config.sxp is not edited "
                 "by xenlab)", f"toolstack {name}")
        for a, b in ((source_host, destination_host), (destination_host, source_host)):
            build_log(relocation.build_ssh_trust(a, b, b.spec.lab_ip))
    return name


def _reaches(lab: Lab, toolstack_name: str, a: Host, b: Host) -> None:
    if toolstack_name == "xl":
        relocation.check_ssh_trust(a, b.spec.lab_ip, b.name)
    else:
        config = relocation.read_xend_config(b)
        relocation.check_xend(b, config, int(lab.require("relocation_port")), b.spec.lab_ip)


@then("the migration source reaches the migration destination's relocation service")
def source_to_dest(lab: Lab, toolstack_name: str, source_host: Host,
                   destination_host: Host) -> None:
    _reaches(lab, toolstack_name, source_host, destination_host)


@then("the migration destination reaches the migration source's relocation service")
def dest_to_source(lab: Lab, toolstack_name: str, source_host: Host,
                   destination_host: Host) -> None:
    _reaches(lab, toolstack_name, destination_host, source_host)


@then("an open relocation service is reported")
def open_relocation(toolstack_name: str, xen_hosts: tuple[Host, Host], strict: bool) -> None:
    if toolstack_name == "xm":
        for host in xen_hosts:
            report_all(relocation.xend_hazards(host, relocation.read_xend_config(host)), strict)
