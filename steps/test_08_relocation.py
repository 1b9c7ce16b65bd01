"""Stage 8 steps: the relocation path (features/08-relocation.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.adapters import Toolstacks
from xenlab.checks import expect
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import relocation

from .support import check_each, feature, report_all

scenarios(feature("08-relocation.feature"))


@given("the relocation path is set up between the Xen hosts")
def set_up(toolstacks: Toolstacks, source_host: Host, destination_host: Host, build) -> None:
    def trust(a: Host, b: Host) -> list[str]:
        source = toolstacks[source_host]
        expect(source.builds_relocation, source_host.name,
               "build mode on an xl host (xenlab does not edit xend-config.sxp)",
               f"toolstack {source.command}")
        return relocation.build_ssh_trust(toolstacks[a], b, b.spec.lab_ip)
    for a, b in ((source_host, destination_host), (destination_host, source_host)):
        build(lambda a=a, b=b: trust(a, b))


@then("each Xen host reaches the other's relocation service")
def each_reaches_the_other(lab: Lab, toolstacks: Toolstacks, source_host: Host,
                           destination_host: Host) -> None:
    peer = {source_host.name: destination_host, destination_host.name: source_host}

    def reaches(a: Host) -> None:  # the peer's relocation service (xm: as configured), then
        b = peer[a.name]          # the path a migration from a takes to it
        relocation.check_relocation_service(toolstacks[b], lab.values.relocation_port)
        relocation.check_relocation_path(toolstacks[a], b.spec.lab_ip, lab.values.relocation_port)
    check_each((source_host, destination_host), reaches)


@then("an open relocation service is reported")
def open_relocation(toolstacks: Toolstacks, xen_hosts: tuple[Host, Host], hazards_fail: bool) -> None:
    for host in xen_hosts:
        report_all(relocation.hazards(toolstacks[host]), hazards_fail)
