"""Stage 6 steps: shared storage and the guest image (features/06-storage.feature)."""
from __future__ import annotations

from pytest_bdd import given, scenarios, then

from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import storage

from .support import check_each, feature, report_all, report_each

scenarios(feature("06-storage.feature"))


@given("each Xen host mounts the shared partition")
def mounted(lab: Lab, xen_hosts: tuple[Host, Host], build_on_each) -> None:
    v = lab.values
    build_on_each(lambda h: storage.build_mount(h, v.shared_partition, v.shared_mount,
                                                v.shared_fstype), *xen_hosts)


@given("the guest image is built on the shared storage from the migration source")
def image_built(lab: Lab, source_host: Host, destination_host: Host, build) -> None:
    build(lambda: storage.build_image(
        source_host, [destination_host], lab.values.guest_image,
        lab.values.guest_image_size_mib, lab.values.guest_netfront_module,
        lab.values.shared_partition, lab.values.shared_mount))


@then("each Xen host has the shared partition mounted at the shared mount point",
      target_fixture="mounts")
def mounts_seen(lab: Lab, xen_hosts: tuple[Host, Host]) -> dict[str, storage.Mount]:
    found = check_each(xen_hosts, lambda h: storage.check_mount(
        h, lab.values.shared_partition, lab.values.shared_mount,
        lab.values.shared_fstype))
    return {h.name: m for h, m in zip(xen_hosts, found)}


@then("both Xen hosts see the same guest image")
def same_image(lab: Lab, xen_hosts: tuple[Host, Host]) -> None:
    image = lab.values.guest_image
    found = check_each(xen_hosts, lambda h: storage.image_identity(h, image))
    storage.check_same_image({h.name: i for h, i in zip(xen_hosts, found)}, image)


@then("the guest image holds the busybox root and the network driver")
def image_tree(lab: Lab, source_host: Host) -> None:
    storage.image_tree(source_host, lab.values.guest_image,
                       lab.values.guest_netfront_module)


@then("a non-cluster filesystem mounted on both Xen hosts is reported")
def shared_rw(lab: Lab, mounts: dict[str, storage.Mount], hazards_fail: bool) -> None:
    report_all(storage.hazards(mounts, lab.values.shared_mount), hazards_fail)


@then("a mount that a reboot of a Xen host would lose is reported")
def mount_after_reboot(lab: Lab, xen_hosts: tuple[Host, Host], hazards_fail: bool) -> None:
    v = lab.values
    report_each(xen_hosts, lambda h: storage.after_reboot(
        h, v.shared_partition, v.shared_mount, v.shared_fstype), hazards_fail)
