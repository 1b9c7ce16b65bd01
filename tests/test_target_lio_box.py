"""The LIO target (the kernel's, configured with targetcli) on the lab-in-a-box.

Fresh box hosts with `box reset --target=lio`: the same VMs as the tgt box (both target
programs installed, neither set up), the inventory naming `iscsi_target_software=lio`.
The ACLs name the Xen hosts' initiator names, which the suite reads from each host's
/etc/iscsi/initiatorname.iscsi (the box inventory does not list them).

1. build without --allow-destructive: the target and sessions are built, stage 3 refuses
   to partition the shared disk (nothing mounted, no guest yet);
2. four LIO faults, each failing stage 1 or 2 with host, expected and seen, then repaired;
   stages 1-2 green again;
3. build every stage but the migration (CI migrates on the tgt lab); a second build
   changes nothing; verify passes.

This module runs after the tgt box tests (tests/test_lab_box.py, test_migration_box.py,
test_packaging.py use the tgt lab they build) and leaves fresh tgt hosts behind.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from xenlab.stagelist import STAGES
from xenlab.wait import wait_for

from .boxkit import box, box_ssh, by_stage, need_root, outcomes, suite

pytestmark = [pytest.mark.box, pytest.mark.skipif(bool(need_root()), reason=str(need_root()))]

IQN = "iqn.2015-02.com.stu31:t1"
TPG = f"/iscsi/{IQN}/tpg1"
LUN_DEVICE = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_xenlab-lun"
TEST2_IQN = "iqn.1993-08.org.debian:01:xenlab-test2"  # the box's seed disk names it
STAGES_1_2 = "stage1_target or stage2_initiators"
LOGGED_IN = "iscsiadm -m session -P 1 | grep -q 'iSCSI Session State: LOGGED_IN'"


@pytest.fixture(scope="module")
def inventory() -> Path:
    up = box("reset", "--target=lio")
    assert up.returncode == 0, f"box reset --target=lio failed: {up.stderr[-2000:]}"
    path = Path(up.stdout.strip().splitlines()[-1])
    assert "iscsi_target_software=lio" in path.read_text()
    yield path
    again = box("reset")
    assert again.returncode == 0, f"box reset failed: {again.stderr[-2000:]}"


def run(inventory: Path, tmp_path: Path, *args: str):
    junit = tmp_path / "junit.xml"
    proc = suite(inventory, *args, junit=junit)
    assert junit.exists(), f"suite did not run: {proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    return outcomes(junit), proc.stdout


def test_build_exports_the_lun_with_lio_and_refuses_to_partition_without_allow_destructive(
        inventory, tmp_path):
    """Build mode without --allow-destructive on fresh hosts: LIO exports the LUN, both hosts
    log in, and the shared disk is left as it was (stage 3 refuses, what needs it skipped)."""
    results, out = run(inventory, tmp_path, "--lab-mode=build", "-m", "not migration")
    assert "targetcli" in out and "tgt-admin" not in out, out[-3000:]
    stages = by_stage(results)
    assert stages[1] == stages[2] == stages[4] == stages[5] == stages[8] == {"passed"}, out[-4000:]
    assert stages[3] == {"failed"}, out[-4000:]
    failure = next(r.message for r in results if r.stage == 3)
    assert "test1: expected /dev/sdb1 with ext4 (creating it needs --allow-destructive)" in failure
    assert stages[6] == stages[7] == {"skipped"}
    # Nothing was written to the shared disk.
    assert box_ssh("test1", "lsblk -n -o NAME /dev/sdb").stdout.split() == ["sdb"]
    assert box_ssh("test1", "blkid -p /dev/sdb").returncode == 2  # no signature at all
    # Saved for the next boot, and restored by the unit Debian ships for it.
    saved = box_ssh("target", "cat /etc/rtslib-fb-target/saveconfig.json").stdout
    assert IQN in saved and TEST2_IQN in saved and LUN_DEVICE in saved
    assert box_ssh("target", "systemctl is-enabled rtslib-fb-targetctl").stdout.strip() == "enabled"
    assert box_ssh("target", "systemctl is-active tgt").stdout.strip() != "active"


@dataclass(frozen=True)
class Fault:
    name: str
    stage: int
    failure: str  # the failure line after the step's name
    break_cmd: str
    repair_cmd: str


FAULTS = [
    Fault("acl-removed", 1,
          f"target: expected ACL {TEST2_IQN} on {IQN} (admitting test2); "
          "saw iqn.1993-08.org.debian:01:xenlab-test1",
          f"targetcli {TPG}/acls delete {TEST2_IQN}",
          f"targetcli {TPG}/acls create {TEST2_IQN}"),
    Fault("lun-unmapped", 1, f"target: expected LUN 1 on {IQN}; saw LUNs []",
          f"targetcli {TPG}/luns delete lun1",
          f"targetcli {TPG}/luns create /backstores/block/xenlab lun=1"),
    Fault("portal-deleted", 1, "target: expected TCP 3260 listening on 198.51.100.3; saw [22]",
          f"targetcli {TPG}/portals delete 198.51.100.3 3260",
          f"targetcli {TPG}/portals create 198.51.100.3 3260"),
    Fault("backstore-elsewhere", 1,
          f"target: expected LUN 1 backed by {LUN_DEVICE}; saw /root/other.img",
          f"targetcli {TPG}/luns delete lun1 && targetcli /backstores/fileio create "
          f"name=other file_or_dev=/root/other.img size=64M && "
          f"targetcli {TPG}/luns create /backstores/fileio/other lun=1",
          f"targetcli {TPG}/luns delete lun1 && targetcli /backstores/fileio delete other && "
          f"rm -f /root/other.img && targetcli {TPG}/luns create /backstores/block/xenlab lun=1"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.name)
def test_a_broken_lio_export_fails_stage_1_or_2_naming_host_expected_seen(inventory, tmp_path,
                                                                         fault):
    broke = box_ssh("target", fault.break_cmd)
    assert broke.returncode == 0, f"could not break: {broke.stdout}{broke.stderr}"
    try:
        results, out = run(inventory, tmp_path, "-m", STAGES_1_2)
    finally:
        repaired = box_ssh("target", fault.repair_cmd)
        for host in ("test1", "test2"):  # iscsid logs back in once the target serves again
            wait_for(lambda h=host: (box_ssh(h, LOGGED_IN).returncode == 0, "not yet"),
                     timeout=120, interval=2, what=f"{host}: iSCSI session logged in again")
    assert repaired.returncode == 0, f"repair failed: {repaired.stdout}{repaired.stderr}"
    failed = [r for r in results if r.status == "failed"]
    assert failed and {r.stage for r in failed} <= {1, 2}, out[-4000:]
    lines = [r.message for r in failed if r.stage == fault.stage]
    assert any(fault.failure in m for m in lines), (fault.failure, lines)


def test_after_the_lio_faults_are_repaired_stages_1_and_2_are_green(inventory, tmp_path):
    results, out = run(inventory, tmp_path, "-m", STAGES_1_2)
    assert by_stage(results) == {1: {"passed"}, 2: {"passed"}}, out[-4000:]


def test_build_on_lio_with_allow_destructive_passes_every_stage(inventory, tmp_path):
    # Not the migration: xl moves the domain the same over either target's LUN, and CI
    # migrates on the tgt lab (tests/test_lab_box.py's full verify, the drill).
    results, out = run(inventory, tmp_path, "--lab-mode=build", "--allow-destructive",
                       "-m", "not migration")
    assert {s.number for s in STAGES} - {9} == {r.stage for r in results}, out[-3000:]
    failed = [f"{r.name}: {r.message}" for r in results if r.status != "passed"]
    assert not failed, out[-4000:]


def test_a_second_build_on_lio_changes_nothing(inventory, tmp_path):
    results, out = run(inventory, tmp_path, "--lab-mode=build", "--allow-destructive",
                       "-m", "not migration")
    assert results and all(r.status == "passed" for r in results), out[-4000:]
    assert "xenlab build: nothing to change, the lab was already built" in out, out[-3000:]


def test_verify_passes_on_the_lio_lab(inventory, tmp_path):
    results, out = run(inventory, tmp_path, "-m", "not migration")
    assert results and all(r.status == "passed" for r in results), out[-4000:]
    assert "accepts any initiator" not in out  # an ACL per initiator: no demo-mode hazard
    assert "serves on every address" not in out  # build put the portal on the lab address
