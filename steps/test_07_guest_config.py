"""Stage 7 steps: the guest configuration (features/07-guest-config.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.inventory import Lab
from xenlab.parsers import GuestConfig
from xenlab.remote import Host
from xenlab.stages import guestconfig

from .support import check_each, feature, report_all

scenarios(feature("07-guest-config.feature"))


@given("the guest configuration is written on each Xen host")
def written(lab: Lab, xen_hosts: tuple[Host, Host], source_host: Host, destination_host: Host,
            build_on_each, build) -> None:
    path = lab.values.guest_config
    build_on_each(lambda h: guestconfig.build(h, path, lab.values), *xen_hosts)
    build(lambda: guestconfig.build_same(source_host, [destination_host], path))


@then("the guest configuration is identical on both Xen hosts", target_fixture="guest_configs")
def identical(lab: Lab, xen_hosts: tuple[Host, Host]) -> dict[str, GuestConfig]:
    path = lab.values.guest_config
    found = check_each(xen_hosts, lambda h: guestconfig.read_config(h, path))
    guestconfig.check_identical({h.name: config for h, (_, config) in zip(xen_hosts, found)},
                                path)
    return {h.name: config for h, (_, config) in zip(xen_hosts, found)}


@then("the guest configuration holds the inventory's guest name and memory")
def values(lab: Lab, source_host: Host, guest_configs: dict[str, GuestConfig]) -> None:
    guestconfig.check_values(source_host, guest_configs[source_host.name], lab.values)


@then("every path the guest configuration names exists on each Xen host")
def paths(xen_hosts: tuple[Host, Host], guest_configs: dict[str, GuestConfig]) -> None:
    check_each(xen_hosts, lambda h: guestconfig.check_paths(h, guest_configs[h.name]))


@then("a guest network interface without a fixed MAC is reported")
def no_mac(lab: Lab, source_host: Host, guest_configs: dict[str, GuestConfig],
           hazards_fail: bool) -> None:
    report_all(guestconfig.hazards(source_host, guest_configs[source_host.name],
                                   lab.values.guest_config), hazards_fail)
