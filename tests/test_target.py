"""Stage 1 on real captures (tests/data/tgtadm-show, ss-listen), through the tgt adapter:
a correct export passes, each broken expectation fails naming host, expected and seen."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.adapters.target import _DETECT, Lio, Tgt, WantedExport, detect_target
from xenlab.box.inventory import target_of, with_target
from xenlab.checks import LabCheckFailed
from xenlab.errors import XenlabError
from xenlab.stages import target

from .replaykit import replayed, answers_to_testinfra

DATA = Path(__file__).parent / "data"
IQN = "iqn.2015-02.com.stu31:t1"
BOX_LUN = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_xenlab-lun"


def tgt(capture: str) -> Tgt:
    text = (DATA / "tgtadm-show" / capture).read_text()
    return Tgt(replayed("target", {Tgt.SHOW: (0, text, "")})[0])


def failure(check, *args) -> str:
    with pytest.raises(LabCheckFailed) as failed:
        check(*args)
    return str(failed.value)


def test_the_box_export_passes_and_is_neutral_data():
    exported = target.check_target(tgt("box-two-initiators-nexus.txt"), IQN, 1, BOX_LUN)
    lun = exported.lun(1)
    assert (lun.type, lun.size_bytes, lun.serial) == ("disk", 5378 * 10**6, "beaf11")
    target.check_acl(tgt("box-two-initiators-nexus.txt"), exported,
                     {"198.51.100.0/24": "the lab network"})


def test_the_articles_export_passes_with_the_articles_values():
    article = tgt("article-one-target.txt")
    target.check_acl(article, target.check_target(article, IQN, 1, "/dev/sda3"),
                     article.acl_entries("172.16.31.0/24", lambda: {}))


@pytest.mark.parametrize("iqn, lun, backing, seen", [
    ("iqn.2015-02.com.stu31:t2", 1, BOX_LUN,
     f"target: expected target iqn.2015-02.com.stu31:t2 defined in tgt; saw {IQN}"),
    (IQN, 2, BOX_LUN, f"target: expected LUN 2 on {IQN}; saw LUNs [0, 1]"),
    (IQN, 0, BOX_LUN, "target: expected LUN 0 of type disk; saw controller"),
    (IQN, 1, "/dev/sdc", f"target: expected LUN 1 backed by /dev/sdc; saw {BOX_LUN}"),
])
def test_a_wrong_export_fails_naming_host_expected_seen(iqn, lun, backing, seen):
    assert failure(target.check_target, tgt("box-two-initiators-nexus.txt"), iqn, lun,
                   backing) == seen


def test_an_acl_for_another_network_fails():
    article = tgt("article-one-target.txt")
    exported = target.check_target(article, IQN, 1, "/dev/sda3")
    entries = article.acl_entries("198.51.100.0/24", lambda: pytest.fail("tgt asked names"))
    assert failure(target.check_acl, article, exported, entries) == (
        f"target: expected ACL 198.51.100.0/24 on {IQN} (admitting the lab network); "
        "saw 172.16.31.0/24")


def test_no_chap_account_is_a_hazard_and_the_network_acl_is_not():
    box = tgt("box-two-initiators-nexus.txt")
    found = box.hazards(target.check_target(box, IQN, 1, BOX_LUN))
    assert [f.what for f in found] == [f"target {IQN} has no CHAP account"]


def test_the_iscsi_port_listens_on_the_box_target_and_another_does_not():
    # Through testinfra's socket module, over the replaying transport.
    host = replayed("target", answers_to_testinfra("box-target-testinfra"))[0]
    target.check_listening(host, "198.51.100.3", 3260)
    assert failure(target.check_listening, host, "198.51.100.3", 3261) == (
        "target: expected TCP 3261 listening on 198.51.100.3; saw [22, 3260]")


BOTH_SERVE = ("target: both tgtd and the kernel target (LIO) serve iSCSI targets; name the "
              "lab's with iscsi_target_software=tgt or iscsi_target_software=lio in the "
              "inventory")


@pytest.mark.parametrize("found, outcome", [
    ("tgtadm\n", Tgt),
    ("targetcli\n", Lio),
    ("tgtadm\ntargetcli\n", Tgt),  # both installed, neither serves: the article's
    ("tgtadm\ntargetcli\ntgtd\n", Tgt),
    ("tgtadm\ntargetcli\nconfigfs\n", Lio),  # tgt installed, LIO serves
    ("targetcli\nconfigfs\n", Lio),
    ("tgtadm\ntargetcli\ntgtd\nconfigfs\n", BOTH_SERVE),
    ("", "target: no iSCSI target software installed (neither tgtadm nor targetcli)"),
], ids=["tgt", "lio", "both-installed", "tgtd-serves", "lio-serves", "lio-only-serves",
        "both-serve", "none"])
def test_the_target_software_is_detected_or_named_in_one_line(found, outcome):
    host = replayed("target", {_DETECT: (0, found, "")})[0]
    if isinstance(outcome, str):
        with pytest.raises(XenlabError) as failed:
            detect_target(host)
        assert (str(failed.value), failed.value.host) == (outcome, "target")
    else:
        assert isinstance(detect_target(host), outcome)


def test_the_box_inventory_names_lio_only_when_asked():
    text = "[lab:vars]\nansible_user=root\niscsi_iqn=iqn.2015-02.com.stu31:t1\n"
    lio = with_target(text, "lio")
    assert lio.endswith("iscsi_target_software=lio\n") and target_of(lio) == "lio"
    assert with_target(lio, "lio") == lio  # named once
    assert with_target(lio, "tgt") == text and target_of(text) == "tgt"  # tgt: detected
    with pytest.raises(ValueError, match="'iet': one of tgt, lio"):
        with_target(text, "iet")


# --- LIO: configfs captured on the box (tests/data/lio-configfs) ---------------------

TEST1, TEST2 = (f"iqn.1993-08.org.debian:01:xenlab-{h}" for h in ("test1", "test2"))
XEN_HOSTS = {"test1": TEST1, "test2": TEST2}


def lio(capture: str) -> Lio:
    text = (DATA / "lio-configfs" / capture).read_text()
    return Lio(replayed("target", {Lio.READ: (0, text, "")})[0])


def test_a_lio_export_by_hand_passes_as_neutral_data_with_an_acl_per_xen_host():
    student = lio("box-student-default-portal.txt")
    exported = target.check_target(student, IQN, 1, BOX_LUN)
    lun = exported.lun(1)
    assert (lun.type, lun.size_bytes, lun.serial) == (
        "disk", 5378310144, "e817038e-723a-48aa-86d0-64c882b87e4a")  # lsblk's SERIAL on test1
    entries = student.acl_entries("198.51.100.0/24", lambda: XEN_HOSTS)
    assert entries == {TEST1: "test1", TEST2: "test2"}
    target.check_acl(student, exported, entries)
    assert [f.what for f in student.hazards(exported)] == [
        f"target {IQN} has no authentication", f"target {IQN} serves on every address "
        "(0.0.0.0:3260)"]


def test_a_lio_acl_missing_for_a_xen_host_fails_naming_it():
    student = lio("box-student-default-portal.txt")
    exported = target.check_target(student, IQN, 1, BOX_LUN)
    other = "iqn.1993-08.org.debian:01:2c4f1e8f7f1"
    assert failure(target.check_acl, student, exported, {TEST1: "test1", other: "test2"}) == (
        f"target: expected ACL {other} on {IQN} (admitting test2); saw {TEST1}, {TEST2}")


def test_a_lio_lun_on_another_backstore_fails_naming_the_file():
    assert failure(target.check_target, lio("box-fileio-lun.txt"), IQN, 1, BOX_LUN) == (
        f"target: expected LUN 1 backed by {BOX_LUN}; saw /root/other.img")


def test_a_fresh_lio_target_has_no_export():
    assert failure(target.check_target, lio("box-fresh.txt"), IQN, 1, BOX_LUN) == (
        f"target: expected target {IQN} defined in lio; saw no target")


def test_lio_demo_mode_is_a_hazard_and_chap_on_an_acl_is_authentication():
    demo = lio("box-demo-mode-chap.txt")
    exported = target.check_target(demo, IQN, 1, BOX_LUN)
    assert exported.any_initiator and exported.accounts == ("chapuser",)
    assert [f.what for f in demo.hazards(exported)] == [
        f"target {IQN} accepts any initiator (generate_node_acls=1, demo mode)",
        f"target {IQN} serves on every address (0.0.0.0:3260)"]


def test_unreadable_configfs_is_one_line():
    host = replayed("target", {Lio.READ: (2, "", "grep: iscsi: Permission denied\n")})[0]
    line = failure(Lio(host).exports)
    assert line.startswith("target: expected configfs of the kernel target readable; saw ")
    assert line.endswith("rc=2 after 0.0s: grep: iscsi: Permission denied") and "\n" not in line


def test_build_over_a_lio_lab_set_up_by_hand_only_saves_it():
    """One-shot targetcli commands never save (targetcli saves when its shell exits):
    build over such a lab changes nothing live, saves it, and finds the restore unit on."""
    text = (DATA / "lio-configfs" / "box-student-default-portal.txt").read_text()
    host, replay = replayed("target", {
        Lio.READ: (0, text, ""),
        f"grep -qs -- {IQN} /etc/rtslib-fb-target/saveconfig.json": (1, "", ""),
        "targetcli saveconfig": (0, "Configuration saved to /etc/rtslib-fb-target/"
                                    "saveconfig.json\n", ""),
        "systemctl is-enabled rtslib-fb-targetctl": (0, "enabled\n", ""),
    }, mode="build")
    want = WantedExport(IQN, 1, BOX_LUN, (TEST1, TEST2), "198.51.100.3", 3260)
    assert Lio(host).build(want) == [
        "target: saved to /etc/rtslib-fb-target/saveconfig.json (targetcli saveconfig)"]
    assert [c for c in replay.sent if c.startswith("targetcli")] == ["targetcli saveconfig"]


def test_build_adds_only_the_missing_lio_acl_and_reuses_the_backstore_by_path():
    text = (DATA / "lio-configfs" / "box-student-default-portal.txt").read_text()
    other = "iqn.2026-11.lab:test3"
    host, replay = replayed("target", {
        Lio.READ: (0, text, ""),
        f"targetcli /iscsi/{IQN}/tpg1/acls create {other}": (0, "Created Node ACL\n", ""),
        "targetcli saveconfig": (0, "", ""),
        "systemctl is-enabled rtslib-fb-targetctl": (0, "enabled\n", ""),
    }, mode="build")
    want = WantedExport(IQN, 1, BOX_LUN, (TEST1, other), "198.51.100.3", 3260)
    assert Lio(host).build(want) == [
        f"target: ACL for {other} (targetcli /iscsi/{IQN}/tpg1/acls create {other})",
        "target: saved to /etc/rtslib-fb-target/saveconfig.json (targetcli saveconfig)"]
