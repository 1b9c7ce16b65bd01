"""Stage 9 steps: the live migration (features/09-migration.feature)."""
from __future__ import annotations

import contextlib
import warnings

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from xenlab import migration
from xenlab.checks import LabHazard
from xenlab.inventory import Lab
from xenlab.migration import MigrationRecord
from xenlab.remote import Host
from xenlab.toolstack import Toolstack, detect

scenarios("09-migration.feature")


@pytest.fixture(scope="module")
def toolstacks(source_host: Host, destination_host: Host) -> dict[str, Toolstack]:
    """Role -> toolstack, detected once (xl on Xen >= 4.5, xm with xend before)."""
    return {"source": detect(source_host), "destination": detect(destination_host)}


ROLE = {"the migration source": "source", "the migration destination": "destination"}


@pytest.fixture(scope="module", autouse=True)
def guest_back_home(lab: Lab, toolstacks: dict[str, Toolstack]):
    """Leave the lab as found: a round that fails halfway leaves the guest on the
    destination; bring it back to the source (a migration: allowed in verify mode)."""
    yield
    name = lab.require("guest_name")
    source, destination = toolstacks["source"], toolstacks["destination"]
    if destination.domain(name) is not None and source.domain(name) is None:
        destination.migrate(name, source.host.spec.lab_ip, migration.MIGRATE_TIMEOUT_S)


@given("the guest runs on the migration source with its address set through its console")
def guest_on_source(lab: Lab, lab_mode: str, toolstacks: dict[str, Toolstack],
                    target_host: Host) -> None:
    source, name = toolstacks["source"], lab.require("guest_name")
    ip = lab.require("guest_ip")
    if lab_mode == "build" and toolstacks["destination"].domain(name) is None:
        migration.guest_start(source, lab.require("guest_config"), name)
        if not migration.guest_answers(target_host, ip):
            with contextlib.closing(migration.open_console(source, name)) as console:
                migration.set_guest_ip(console, migration.guest_netfront_path(
                    lab.require("guest_netfront_module")), ip, int(lab.require("lab_prefix")))
    migration.check_runs_on(source, name)
    migration.check_guest_answers(target_host, ip)


@given("the bridge exists under the same name on both Xen hosts")
def same_bridge(lab: Lab, source_host: Host, destination_host: Host) -> None:
    migration.check_same_bridge(source_host, destination_host, lab.require("bridge"))


@given("the guest's disk is present and identical on the migration destination")
def disk_on_destination(lab: Lab, source_host: Host, destination_host: Host) -> None:
    migration.check_disk_on_destination(source_host, destination_host, lab.require("guest_image"))


@given("the migration destination has free memory for the guest's configured memory")
def destination_memory(lab: Lab, toolstacks: dict[str, Toolstack]) -> None:
    migration.check_destination_memory(toolstacks["source"], toolstacks["destination"],
                                       lab.require("guest_name"))


@given("both Xen hosts run the same Xen version, or the difference is reported")
def same_xen(toolstacks: dict[str, Toolstack]) -> None:
    warning = migration.xen_version_warning(toolstacks["source"], toolstacks["destination"])
    if warning:
        warnings.warn(LabHazard(warning))


@given("the relocation path from the migration source to the destination works")
def relocation_path(lab: Lab, toolstacks: dict[str, Toolstack], destination_host: Host) -> None:
    migration.check_relocation_path(toolstacks["source"], destination_host.spec.lab_ip,
                                    int(lab.require("relocation_port")))


@given("no domain of the guest's name exists on the migration destination")
def absent_on_destination(lab: Lab, toolstacks: dict[str, Toolstack]) -> None:
    migration.check_absent(toolstacks["destination"], lab.require("guest_name"))


@when(parsers.parse("the guest is migrated live from {origin} to {to}"),
      target_fixture="record")
def migrate(lab: Lab, toolstacks: dict[str, Toolstack], hosts: dict[str, Host],
            target_host: Host, origin: str, to: str, migration_log) -> MigrationRecord:
    source, destination = toolstacks[ROLE[origin]], toolstacks[ROLE[to]]
    record = migration.migrate(source, destination, lab.require("guest_name"),
                               destination.host.spec.lab_ip, lab.require("guest_ip"),
                               probe_host=target_host)
    migration_log(record)
    return record


@then(parsers.parse("the guest is gone from {origin} and runs on {to}"))
def moved(lab: Lab, toolstacks: dict[str, Toolstack], origin: str, to: str) -> None:
    migration.check_absent(toolstacks[ROLE[origin]], lab.require("guest_name"))
    migration.check_runs_on(toolstacks[ROLE[to]], lab.require("guest_name"))


@then("the guest kept its address and its MAC")
def same_address(record: MigrationRecord) -> None:
    migration.check_same_ip(record)
    migration.check_same_mac(record)


@then("the guest was not rebooted and kept what was written in its memory")
def not_rebooted(record: MigrationRecord) -> None:
    migration.check_not_rebooted(record)
    migration.check_memory_kept(record)


@then("the network gap stayed within the inventory's downtime limit")
def downtime(lab: Lab, record: MigrationRecord) -> None:
    migration.check_answered_after(record)
    migration.check_downtime(record, float(lab.require("migration_downtime_max_s")))
