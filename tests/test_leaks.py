"""The leak check around a migration (xenlab.stages.leaks), on the box's real `xl list` and
dom0 inventories (tests/data), with each leak planted the way a failed move leaves it."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from xenlab.parsers import BackendInventory, parse_backend_inventory, parse_domain_list
from xenlab.stages.leaks import HostState, leaks

DATA = Path(__file__).parent / "data"
DOM0_ONLY = parse_domain_list((DATA / "xl-list" / "box-dom0-only-tab-header.txt").read_text())
GUEST = parse_domain_list((DATA / "xl-list" / "box-guest-running-tab-header.txt").read_text())
NOTHING = parse_backend_inventory(
    (DATA / "backend-inventory" / "box-test1-fresh-no-bridge.txt").read_text())
SESSION = ("iqn.2015-02.com.stu31:t1 at 198.51.100.3:3260",)
MOUNT = "/dev/sdb1 ext4"


def dom0(ports=("eth0",), vif=(), vbd=()) -> BackendInventory:
    return BackendInventory(ports, (("vif", vif), ("vbd", vbd), ("qdisk", ())))


def state(host, domains, inventory, sessions=SESSION, mount=MOUNT) -> HostState:
    return HostState(host, domains, inventory, sessions, mount)


# after a clean move test1 -> test2: the guest (id 1) on test2, its vif and backends there
BEFORE = {"test1": state("test1", GUEST, dom0(("eth0", "vif1.0"), (1,), (1,))),
          "test2": state("test2", DOM0_ONLY, dom0())}
AFTER = {"test1": state("test1", DOM0_ONLY, dom0()),
         "test2": state("test2", GUEST, dom0(("eth0", "vif1.0"), (1,), (1,)))}


def test_a_clean_move_leaves_nothing():
    assert leaks("busybox", BEFORE, AFTER) == []
    assert NOTHING.ports == () and dict(NOTHING.backends) == {"vif": (), "vbd": (), "qdisk": ()}


def lines(found) -> list[str]:
    return [str(f) for f in found]


def test_a_half_moved_domain_is_a_leak_named_where():
    incoming = GUEST[:1] + (dataclasses.replace(GUEST[1], name="busybox--incoming", domid=2,
                                                state="--p---"),)
    after = {**AFTER, "test1": state("test1", incoming, dom0())}
    assert lines(leaks("busybox", BEFORE, after)) == [
        "test1: expected no half-moved domain (--incoming or --migratedaway); "
        "saw busybox--incoming"]


def test_an_orphaned_vif_and_a_stale_backend_on_the_source_are_leaks():
    after = {**AFTER, "test1": state("test1", DOM0_ONLY, dom0(("eth0", "vif1.0"), (1,)))}
    assert lines(leaks("busybox", BEFORE, after)) == [
        "test1: expected no vif of a domain that is gone on the bridge; saw vif1.0 (no domain 1)",
        "test1: expected no xenstore backend entry of a domain that is gone; saw backend/vif/1"]


def test_a_guest_on_both_hosts_or_on_none_is_not_exactly_one():
    both = {**AFTER, "test1": state("test1", GUEST, dom0(("eth0", "vif1.0"), (1,), (1,)))}
    assert lines(leaks("busybox", BEFORE, both)) == [
        "test1: expected exactly one running busybox across test1, test2; "
        "saw busybox (id 1, -b----) on test1; busybox (id 1, -b----) on test2: the guest is "
        "DUPLICATED (critical: two writers on one disk)"]
    none = {**AFTER, "test2": state("test2", DOM0_ONLY, dom0())}
    assert lines(leaks("busybox", BEFORE, none)) == [
        "test1: expected exactly one running busybox across test1, test2; saw none: the guest "
        "is LOST (critical)"]


def test_a_lost_session_or_mount_is_a_leak_of_the_host_that_lost_it():
    after = {**AFTER, "test2": dataclasses.replace(AFTER["test2"], sessions=(), mount=None)}
    assert lines(leaks("busybox", BEFORE, after)) == [
        f"test2: expected the iSCSI sessions of before ({SESSION[0]}); saw none",
        f"test2: expected the shared mount of before ({MOUNT}); saw not mounted"]


def test_a_half_moved_domain_left_by_an_earlier_move_fails_the_precheck_with_its_fix():
    import pytest

    from xenlab.checks import LabCheckFailed
    from xenlab.stages.migration import check_no_half_moved

    class Toolstack:
        def __init__(self, name, domains):
            self.host = type("H", (), {"name": name})()
            self._domains = domains

        def domains(self):
            return self._domains

        def destroy_command(self, name):
            return f"xl destroy {name}"

    left = GUEST[:1] + (dataclasses.replace(GUEST[1], name="busybox--incoming", domid=2),)
    check_no_half_moved(Toolstack("test1", GUEST), Toolstack("test2", DOM0_ONLY), "busybox")
    with pytest.raises(LabCheckFailed) as caught:
        check_no_half_moved(Toolstack("test1", GUEST), Toolstack("test2", left), "busybox")
    [failure] = caught.value.failures
    assert (failure.host, failure.seen, failure.fix) == (
        "test2", "busybox--incoming", ("xl destroy busybox--incoming",))
