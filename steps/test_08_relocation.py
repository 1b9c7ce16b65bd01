"""Stage 8 steps: the relocation path (features/08-relocation.feature)."""
from __future__ import annotations

import pytest
from pytest_bdd import given, scenarios, then

from xenlab import migration
from xenlab.checks import fail
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import relocation
from xenlab.toolstack import Toolstack, detect

from .support import check_each, report_all

scenarios("08-relocation.feature")


@pytest.fixture(scope="module")
def toolstacks(source_host: Host, destination_host: Host) -> dict[str, Toolstack]:
    hosts = (source_host, destination_host)
    return dict(zip((h.name for h in hosts), check_each(hosts, detect)))


@given("the relocation path is set up between the Xen hosts")
def set_up(lab_mode: str, toolstacks: dict[str, Toolstack], source_host: Host,
           destination_host: Host, build_log) -> None:
    if lab_mode != "build":
        return
    if toolstacks[source_host.name].command != "xl":
        fail(source_host.name, "build mode on an xl host (xenlab does not edit "
             "xend-config.sxp)", f"toolstack {toolstacks[source_host.name].command}")
    for a, b in ((source_host, destination_host), (destination_host, source_host)):
        build_log(relocation.build_ssh_trust(toolstacks[a.name], b, b.spec.lab_ip))


def _reaches(lab: Lab, toolstacks: dict[str, Toolstack], a: Host, b: Host) -> None:
    """a reaches b's relocation service (xl: root SSH; xm: xend's port, as configured)."""
    port = int(lab.require("relocation_port"))
    if toolstacks[a.name].command == "xm":
        relocation.check_xend(b, relocation.read_xend_config(b), port, b.spec.lab_ip)
    migration.check_relocation_path(toolstacks[a.name], b.spec.lab_ip, port)


@then("each Xen host reaches the other's relocation service")
def each_reaches_the_other(lab: Lab, toolstacks: dict[str, Toolstack], source_host: Host,
                           destination_host: Host) -> None:
    peer = {source_host.name: destination_host, destination_host.name: source_host}
    check_each((source_host, destination_host),
               lambda a: _reaches(lab, toolstacks, a, peer[a.name]))


@then("an open relocation service is reported")
def open_relocation(toolstacks: dict[str, Toolstack], xen_hosts: tuple[Host, Host],
                    strict: bool) -> None:
    for host in xen_hosts:
        if toolstacks[host.name].command == "xm":
            report_all(relocation.xend_hazards(host, relocation.read_xend_config(host)), strict)
