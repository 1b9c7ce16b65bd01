"""Stage 9 steps: the live migration (features/09-migration.feature)."""
from __future__ import annotations

import warnings

import pytest
from pytest_bdd import given, parsers, scenarios, then, when

from xenlab.adapters import Toolstack, Toolstacks
from xenlab.checks import LabCheckFailed, LabHazard
from xenlab.inventory import Lab
from xenlab.live import guest, probe
from xenlab.remote import Host
from xenlab.stages import drill, guestdata, leaks, migration, relocation, xen
from xenlab.stages.drill import DrillRecord
from xenlab.stages.migration import MigrationRecord

from .support import feature

scenarios(feature("09-migration.feature"))


@pytest.fixture(scope="module")
def by_role(toolstacks: Toolstacks, source_host: Host, destination_host: Host
          ) -> dict[str, Toolstack]:
    """The Gherkin's role phrases -> the toolstack of that host."""
    return {"the migration source": toolstacks[source_host],
            "the migration destination": toolstacks[destination_host]}


@pytest.fixture(scope="module")
def one_way() -> dict[str, str]:
    """Why the guest may not come back ("why"), once a one-way move was allowed."""
    return {}


@pytest.fixture(scope="module", autouse=True)
def guest_back_home(lab: Lab, toolstacks: Toolstacks, source_host: Host,
                    destination_host: Host, one_way: dict[str, str]):
    """Leave the lab as found: a round that fails halfway leaves the guest on the
    destination; bring it back to the source (a migration: allowed in verify mode), unless
    Xen cannot move it back."""
    yield
    if one_way or source_host.planning:  # a plan moves nothing
        return
    name = lab.values.guest_name
    source, destination = toolstacks[source_host], toolstacks[destination_host]
    if destination.domain(name) is not None and source.domain(name) is None:
        destination.migrate(name, source.host.spec.lab_ip, migration.MIGRATE_TIMEOUT_S)


@given("the guest runs on the migration source with its address set through its console")
def guest_on_source(lab: Lab, lab_mode: str, toolstacks: Toolstacks, source_host: Host,
                    destination_host: Host, target_host: Host, one_way: dict[str, str],
                    build) -> None:
    if one_way.get("moved"):
        pytest.skip(f"the guest stays on {destination_host.name}: {one_way['why']}")
    v = lab.values
    source, name, ip = toolstacks[source_host], v.guest_name, v.guest_ip
    if lab_mode == "plan":  # only the build's part of this step: what it would do
        build(lambda: [] if any(toolstacks[h].domain(name) for h in (source_host, destination_host))
              else migration.plan_guest_start(source, v.guest_config, name, guest.ip_commands(
                  guest.guest_netfront_path(v.guest_netfront_module), ip, v.lab_prefix)))
        return
    if lab_mode == "build" and toolstacks[destination_host].domain(name) is None:
        migration.guest_start(source, v.guest_config, name)
        if not probe.guest_answers(target_host, ip):
            with guest.guest_console(source, name) as console:
                guest.set_guest_ip(console, guest.guest_netfront_path(v.guest_netfront_module),
                                   ip, v.lab_prefix)
    migration.check_runs_on(source, name)
    probe.check_guest_answers(target_host, ip)


@given("the bridge exists under the same name on both Xen hosts")
def same_bridge(lab: Lab, source_host: Host, destination_host: Host) -> None:
    migration.check_same_bridge(source_host, destination_host, lab.values.bridge)


@given("the guest's disk is present and identical on the migration destination")
def disk_on_destination(lab: Lab, source_host: Host, destination_host: Host) -> None:
    migration.check_disk_on_destination(source_host, destination_host, lab.values.guest_image)


@given("the disk the guest writes to is one both Xen hosts may write")
def data_disk_shared(lab: Lab, by_role: dict[str, Toolstack], request: pytest.FixtureRequest
                     ) -> None:
    source, destination = by_role["the migration source"], by_role["the migration destination"]
    directory = request.config.getoption("guest_data")
    mount, target = guestdata.data_disk(source, lab.values.guest_name, directory)
    guestdata.check_both_may_write((source.host, destination.host), target, mount.disk)


@given("the migration destination has free memory for the guest's configured memory")
def destination_memory(lab: Lab, by_role: dict[str, Toolstack]) -> None:
    migration.check_destination_memory(by_role["the migration source"],
                                       by_role["the migration destination"], lab.values.guest_name)


@given("Xen can move the guest live between the two hosts, or why not is reported")
def same_xen(lab: Lab, by_role: dict[str, Toolstack], one_way: dict[str, str],
             request: pytest.FixtureRequest) -> None:
    source, destination = by_role["the migration source"], by_role["the migration destination"]
    infos = {ts.host.name: ts.info() for ts in (source, destination)}
    warning = xen.xen_version_difference({h: i.xen_version for h, i in infos.items()})
    if warning:
        warnings.warn(LabHazard(warning))
    # Not a broken lab: a move Xen does not support is not tried, and says why.
    nothing, back = migration.moves_xen_supports(infos[source.host.name],
                                                 infos[destination.host.name],
                                                 request.config.getoption("migration_one_way"),
                                                 source.domain_type(lab.values.guest_name))
    if nothing:
        pytest.skip(nothing)
    if back:
        one_way["why"] = back


@given("the relocation path from the migration source to the destination works")
def relocation_path(lab: Lab, by_role: dict[str, Toolstack], destination_host: Host) -> None:
    relocation.check_relocation_path(by_role["the migration source"], destination_host.spec.lab_ip,
                                     lab.values.relocation_port)


@given("no domain of the guest's name exists on the migration destination")
def absent_on_destination(lab: Lab, by_role: dict[str, Toolstack]) -> None:
    source, destination = by_role["the migration source"], by_role["the migration destination"]
    migration.check_absent(destination, lab.values.guest_name)
    migration.check_no_half_moved(source, destination, lab.values.guest_name)


@when(parsers.parse("the guest is migrated live from {origin} to {to}"),
      target_fixture="record")
def migrate(lab: Lab, by_role: dict[str, Toolstack], target_host: Host, origin: str, to: str,
            migration_log, one_way: dict[str, str], request: pytest.FixtureRequest
            ) -> MigrationRecord | None:
    source, destination = by_role[origin], by_role[to]
    if one_way.get("why") and origin == "the migration destination":
        one_way["moved"] = "yes"  # the steps of the way back have nothing to check
        warnings.warn(LabHazard(f"the way back is not tried: {one_way['why']}; the guest "
                                f"stays on {source.host.name} (--migration-one-way)"))
        return None
    v = lab.values
    mib_s = request.config.getoption("migration_load")
    load = migration.Load(mib_s, v.guest_memory_mib) if mib_s else None
    data = request.config.getoption("guest_data")
    record = leaks.audited((source, destination), v.guest_name, v.bridge, v.shared_mount,
                           lambda: migration.migrate(source, destination, v.guest_name,
                                                     destination.host.spec.lab_ip, v.guest_ip,
                                                     probe_host=target_host, load=load,
                                                     data=data))
    return migration_log(record)  # the record as kept: with its round


@when("the guest's live migration to the migration destination is cut part-way",
      target_fixture="record")
def cut_part_way(lab: Lab, by_role: dict[str, Toolstack], target_host: Host) -> DrillRecord:
    source, destination = by_role["the migration source"], by_role["the migration destination"]
    v = lab.values
    return leaks.audited((source, destination), v.guest_name, v.bridge, v.shared_mount,
                         lambda: drill.cut_part_way(source, destination, v.guest_name,
                                                    destination.host.spec.lab_ip, v.guest_ip,
                                                    probe_host=target_host))


@then("the migration failed and the guest runs on the migration source only")
def kept_on_source(record: DrillRecord) -> None:
    drill.check_kept_on_source(record)


@then(parsers.parse("the guest is gone from {origin} and runs on {to}"))
def moved(lab: Lab, by_role: dict[str, Toolstack], origin: str, to: str,
          record: MigrationRecord | None) -> None:
    if record is None:
        return  # a way back Xen does not support, not tried (--migration-one-way)
    migration.check_absent(by_role[origin], lab.values.guest_name)
    migration.check_runs_on(by_role[to], lab.values.guest_name)


@then("the guest kept its address and its MAC")
def same_address(record: MigrationRecord | DrillRecord | None) -> None:
    if record is None:
        return
    migration.check_same_ip(record)
    migration.check_same_mac(record)


@then("the guest was not rebooted and kept what was written in its memory")
def not_rebooted(record: MigrationRecord | DrillRecord | None) -> None:
    if record is None:
        return
    migration.check_not_rebooted(record)
    migration.check_memory_kept(record)


@then("what the guest wrote to its disk before and during the move reads back whole")
def data_kept(record: MigrationRecord | None) -> None:
    if record is None:
        return  # a way back Xen does not support, not tried (--migration-one-way)
    guestdata.check_data_kept(record.data, record.landed)


@then("nothing of the guest was left behind on either host, and it runs once")
def nothing_leaked(record: MigrationRecord | DrillRecord | None) -> None:
    if record is not None and record.leaked:
        raise LabCheckFailed(*record.leaked)


@then("the network gap stayed within the inventory's downtime limit")
def downtime(lab: Lab, record: MigrationRecord | DrillRecord | None) -> None:
    if record is None:
        return
    migration.check_answered_after(record)
    migration.check_downtime(record, lab.values.migration_downtime_max_s)
