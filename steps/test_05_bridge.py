"""Stage 5 steps: the bridge (features/05-bridge.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.checks import expect
from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import bridge

from .support import check_each, feature, report_each

scenarios(feature("05-bridge.feature"))


@given("each Xen host has its lab address on the bridge")
def bridged(lab: Lab, xen_hosts: tuple[Host, Host], build_on_each) -> None:
    build_on_each(lambda h: bridge.build(h, lab.values.bridge, lab.values.bridge_port,
                                         h.spec.lab_ip, lab.values.lab_prefix), *xen_hosts)


@then("each Xen host has the bridge up with its lab address and the lab NIC enslaved")
def bridge_up(lab: Lab, xen_hosts: tuple[Host, Host]) -> None:
    check_each(xen_hosts, lambda h: bridge.check_bridge(
        h, lab.values.bridge, lab.values.bridge_port, h.spec.lab_ip,
        lab.values.lab_prefix))


@then("the Xen hosts reach each other over the bridge")
def reach(xen_hosts: tuple[Host, Host]) -> None:
    first, second = xen_hosts
    peer = {first.name: second, second.name: first}

    def pings(a: Host) -> None:  # both ways at once; 0.2 s apart, not a second
        b = peer[a.name]
        result = a.run("ping -c 2 -i 0.2 -W 2 -- %s", b.spec.lab_ip, timeout=15)
        expect(result.rc == 0, a.name, f"ping replies from {b.name} ({b.spec.lab_ip})",
               result.one_line())
    check_each(xen_hosts, pings)


@then("a bridge that a reboot of a Xen host would lose is reported")
def bridge_after_reboot(lab: Lab, xen_hosts: tuple[Host, Host], hazards_fail: bool) -> None:
    report_each(xen_hosts, lambda h: bridge.after_reboot(
        h, lab.values.bridge, lab.values.bridge_port, h.spec.lab_ip, lab.values.lab_prefix),
        hazards_fail)
