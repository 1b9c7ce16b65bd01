"""The acceptance suite against the lab-in-a-box: build from fresh hosts, build again
(nothing changes), verify, and one broken-lab case per stage (exactly that stage fails,
with a message naming host, expected and seen; stages that need it are skipped)."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from xenlab.stagelist import STAGES, prerequisites

from .boxkit import box_ssh, need_root, suite

pytestmark = [pytest.mark.box, pytest.mark.skipif(bool(need_root()), reason=str(need_root()))]


@dataclass(frozen=True)
class Outcome:
    stage: int
    name: str
    status: str  # passed, failed, skipped
    message: str


def outcomes(junit: Path) -> list[Outcome]:
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "")
        stage = next((s.number for s in STAGES if f"test_{s.number:02d}_" in module), 0)
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                status = "skipped" if tag == "skipped" else "failed"
                message = node.get("message", "")
        found.append(Outcome(stage, case.get("name", ""), status, message))
    return found


def by_stage(results: list[Outcome]) -> dict[int, set[str]]:
    stages: dict[int, set[str]] = {}
    for r in results:
        stages.setdefault(r.stage, set()).add(r.status)
    return stages


@pytest.fixture(scope="module")
def inventory(box_inventory: Path) -> Path:
    return box_inventory


def run(inventory: Path, tmp_path: Path, *args: str) -> tuple[list[Outcome], str]:
    junit = tmp_path / "junit.xml"
    proc = suite(inventory, *args, junit=junit)
    assert junit.exists(), f"suite did not run: {proc.stdout[-3000:]}{proc.stderr[-2000:]}"
    return outcomes(junit), proc.stdout


def test_build_refuses_to_partition_without_allow_destructive(inventory, tmp_path):
    results, out = run(inventory, tmp_path, "--lab-mode=build", "-m", "not migration")
    stages = by_stage(results)
    assert stages[3] == {"failed"}, out[-4000:]
    failure = next(r.message for r in results if r.stage == 3)
    assert "test1: expected /dev/sdb1 with ext4 (creating it needs --allow-destructive)" in failure
    assert stages[6] == stages[7] == {"skipped"}
    assert stages[1] == stages[2] == stages[4] == stages[5] == stages[8] == {"passed"}
    # Nothing was written to the shared disk.
    assert box_ssh("test1", "lsblk -n -o NAME /dev/sdb").stdout.split() == ["sdb"]
    assert box_ssh("test1", "blkid -p /dev/sdb").returncode == 2  # no signature at all


def test_build_from_fresh_hosts_passes_every_stage(inventory, tmp_path):
    results, out = run(inventory, tmp_path, "--lab-mode=build", "--allow-destructive")
    assert {s.number for s in STAGES} - {9} <= {r.stage for r in results}
    failed = [f"{r.name}: {r.message}" for r in results if r.status != "passed"]
    assert not failed, out[-4000:]
    assert "xenlab build: " in out and "nothing to change" not in out


def test_second_build_changes_nothing(inventory, tmp_path):
    results, out = run(inventory, tmp_path, "--lab-mode=build", "--allow-destructive",
                       "-m", "not migration")
    assert all(r.status == "passed" for r in results), out[-4000:]
    assert "xenlab build: nothing to change, the lab was already built" in out, out[-3000:]


def test_verify_passes_on_the_built_lab_and_the_guest_ends_where_it_was(inventory, tmp_path):
    results, out = run(inventory, tmp_path)
    assert {r.stage for r in results} == {s.number for s in STAGES}
    assert all(r.status == "passed" for r in results), out[-4000:]
    assert re.search(r"busybox test1 -> test2: migration [\d.]+ s, downtime [\d.]+ s", out), out
    assert re.search(r"busybox test2 -> test1: migration", out), out
    assert "busybox" in box_ssh("test1", "xl list").stdout
    assert "busybox" not in box_ssh("test2", "xl list").stdout


@dataclass(frozen=True)
class Prerequisite:
    name: str
    host: str
    cause: str  # a fragment of the failure line
    break_cmd: str
    repair_cmd: str


EATER = ("printf 'name=\"xenlab-eater\"\\nkernel=\"%s\"\\nmemory=%s\\n' "
         "$(ls /boot/vmlinuz-* | head -1) "
         "$(( $(xl info | awk '/^free_memory/ {print $3}') - 64 )) > /run/eater.cfg && "
         "xl create -p /run/eater.cfg")  # a paused domain holds memory and burns no CPU
UNEAT = "xl destroy xenlab-eater; rm -f /run/eater.cfg"
PREREQUISITES = [
    Prerequisite("memory", "test2", "free", EATER, UNEAT),
    # A short outage of test2's lab link; its iSCSI session rides it out.
    Prerequisite("bridge", "test2", "xenbr0",
                 "ip link set xenbr0 down && ip link set xenbr0 name xenbrX && "
                 "ip link set xenbrX up",
                 "ip link set xenbrX down && ip link set xenbrX name xenbr0 && "
                 "ip link set xenbr0 up"),
    Prerequisite("ssh-trust", "test1", "root SSH",
                 "mv /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.away",
                 "mv /root/.ssh/id_ed25519.away /root/.ssh/id_ed25519"),
]


@pytest.mark.parametrize("broken", PREREQUISITES, ids=lambda p: p.name)
def test_a_broken_prerequisite_fails_before_any_migration(inventory, tmp_path, broken):
    assert box_ssh(broken.host, broken.break_cmd).returncode == 0
    try:
        results, out = run(inventory, tmp_path, "-m", "stage9_migration")
    finally:
        repaired = box_ssh(broken.host, broken.repair_cmd)
    failure = next((r.message for r in results if r.status == "failed"), "")
    assert broken.cause in failure and not failure.startswith("When"), out[-3000:]
    assert "xenlab migration" not in out, "a migration was attempted"  # no figures: none ran
    assert "busybox" in box_ssh("test1", "xl list").stdout  # nothing moved
    assert repaired.returncode == 0, repaired.stderr


@dataclass(frozen=True)
class Fault:
    stage: int
    host: str
    expected: str  # a fragment of the failure line
    seen: str  # another fragment
    break_cmd: str
    repair_cmd: str


IQN = "iqn.2015-02.com.stu31:t1"
FAULTS = [
    Fault(1, "target", "expected ACL 198.51.100.0/24", "saw 198.51.100.1",
          "tgtadm --lld iscsi -o unbind -m target -t 1 -I 198.51.100.0/24 && "
          "tgtadm --lld iscsi -o bind -m target -t 1 -I 198.51.100.1",
          "tgtadm --lld iscsi -o unbind -m target -t 1 -I 198.51.100.1 && "
          "tgtadm --lld iscsi -o bind -m target -t 1 -I 198.51.100.0/24"),
    Fault(3, "test1", "/dev/sdb1 of type 83", "saw 8e",
          "sfdisk -q --no-reread --part-type /dev/sdb 1 8e",
          "sfdisk -q --no-reread --part-type /dev/sdb 1 83"),
    # Not `ip link set eth0 nomaster`: that cuts test2's iSCSI session and every
    # stage that reads the shared disk would fail with it.
    Fault(5, "test2", "198.51.100.2/24 on xenbr0", "saw ['198.51.100.2/25'",
          "ip addr add 198.51.100.2/25 dev xenbr0 && ip addr del 198.51.100.2/24 dev xenbr0",
          "ip addr add 198.51.100.2/24 dev xenbr0 && ip addr del 198.51.100.2/25 dev xenbr0"),
    Fault(6, "test2", "/dev/sdb1 mounted on /scsistore", "saw not mounted",
          "umount /scsistore", "mount /dev/sdb1 /scsistore"),
    Fault(7, "test2", "/etc/xen/busybox identical to test1's", "saw ",
          "echo '# a local edit' >> /etc/xen/busybox", "sed -i '$d' /etc/xen/busybox"),
    Fault(8, "test1", "root SSH to 198.51.100.2 without a password", "saw ",
          "mv /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.away",
          "mv /root/.ssh/id_ed25519.away /root/.ssh/id_ed25519"),
    Fault(4, "test2", "free for the guest", "MiB free", EATER, UNEAT),
    # Last: logging out takes the shared disk away from under test2's mount.
    Fault(2, "test2", f"an iSCSI session to {IQN}", "saw no session",
          f"umount /scsistore; iscsiadm -m node -T {IQN} -u",
          f"iscsiadm -m node -T {IQN} -l && udevadm settle && mount /dev/sdb1 /scsistore"),
]


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f"stage{f.stage}-{f.host}")
def test_a_broken_stage_fails_alone_and_names_host_expected_seen(inventory, tmp_path, fault):
    broke = box_ssh(fault.host, fault.break_cmd)
    assert broke.returncode == 0, f"could not break stage {fault.stage}: {broke.stderr}"
    try:
        results, out = run(inventory, tmp_path, "-m", "not migration")
    finally:
        repaired = box_ssh(fault.host, fault.repair_cmd)
    stages = by_stage(results)
    assert stages.get(fault.stage) == {"failed"}, out[-4000:]
    failure = next(r.message for r in results if r.stage == fault.stage and r.status == "failed")
    for fragment in (f"{fault.host}: ", fault.expected, fault.seen):
        assert fragment in failure, f"{fragment!r} not in failure line {failure!r}"
    for stage in STAGES:
        if stage.number == 9 or stage.number == fault.stage:
            continue
        wanted = "skipped" if fault.stage in prerequisites(stage.number) else "passed"
        assert stages.get(stage.number) == {wanted}, (stage.number, stages, out[-3000:])
        if wanted == "skipped":
            reasons = [r.message for r in results if r.stage == stage.number]
            assert all(f"stage {fault.stage} (" in m for m in reasons), reasons
    assert repaired.returncode == 0, f"repair of stage {fault.stage} failed: {repaired.stderr}"
