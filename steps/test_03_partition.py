"""Stage 3 steps: the shared partition (features/03-partition.feature)."""
from __future__ import annotations

import pytest
from pytest_bdd import given, scenarios, then

from xenlab.inventory import Lab
from xenlab.remote import Host
from xenlab.stages import partition

from .support import check_each, feature

scenarios(feature("03-partition.feature"))


@given("the shared disk is partitioned and formatted from the migration source")
def partitioned(lab: Lab, source_host: Host, destination_host: Host,
                pytestconfig: pytest.Config, build) -> None:
    build(lambda: partition.build(
        source_host, [destination_host], lab.values.shared_disk,
        lab.values.shared_partition, lab.values.shared_partition_size_mib,
        lab.values.shared_partition_type, lab.values.shared_fstype,
        pytestconfig.getoption("allow_destructive")))


@then("each Xen host sees the shared partition with its type, size and filesystem")
def partition_seen(lab: Lab, xen_hosts: tuple[Host, Host]) -> None:
    check_each(xen_hosts, lambda h: partition.check_partition(
        h, lab.values.shared_disk, lab.values.shared_partition,
        lab.values.shared_partition_type, lab.values.shared_partition_size_mib,
        lab.values.shared_fstype))


@then("the shared partition has the same size on both Xen hosts")
def same_size(lab: Lab, xen_hosts: tuple[Host, Host]) -> None:
    part = lab.values.shared_partition
    sizes = check_each(xen_hosts, lambda h: partition.partition_size(h, part))
    partition.check_same_size({h.name: s for h, s in zip(xen_hosts, sizes)}, part)
