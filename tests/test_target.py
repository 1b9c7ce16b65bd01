"""Stage 1 on real captures (tests/data/tgtadm-show, ss-listen), through the tgt adapter:
a correct export passes, each broken expectation fails naming host, expected and seen."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.adapters.target import _DETECT, Tgt, detect_target
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
    target.check_acl(tgt("box-two-initiators-nexus.txt"), exported, "198.51.100.0/24")


def test_the_articles_export_passes_with_the_articles_values():
    article = tgt("article-one-target.txt")
    target.check_acl(article, target.check_target(article, IQN, 1, "/dev/sda3"), "172.16.31.0/24")


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
    assert failure(target.check_acl, article, exported, "198.51.100.0/24") == (
        f"target: expected ACL 198.51.100.0/24 on {IQN}; saw 172.16.31.0/24")


def test_no_chap_account_is_a_hazard_and_the_network_acl_is_not():
    box = tgt("box-two-initiators-nexus.txt")
    found = box.hazards(target.check_target(box, IQN, 1, BOX_LUN))
    assert [f.what for f in found] == [f"target {IQN} has no CHAP account"]


def test_the_iscsi_port_listens_on_the_box_target_and_another_does_not():
    # Through testinfra's socket module, over the replaying transport.
    host = replayed("target", answers_to_testinfra("box-target-testinfra"))[0]
    target.check_listening(host, 3260)
    assert failure(target.check_listening, host, 3261) == (
        "target: expected TCP 3261 listening; saw [22, 3260]")


@pytest.mark.parametrize("found, outcome", [
    ("tgtadm\n", Tgt),
    ("configfs\n", "target: no iSCSI target software xenlab knows (the kernel target (LIO, "
                   "configfs) is configured, which xenlab does not read yet)"),
    ("", "target: no iSCSI target software xenlab knows (no tgtadm installed)"),
], ids=["tgt", "lio", "none"])
def test_the_target_software_is_detected_or_named_in_one_line(found, outcome):
    host = replayed("target", {_DETECT: (0, found, "")})[0]
    if isinstance(outcome, str):
        with pytest.raises(XenlabError) as failed:
            detect_target(host)
        assert (str(failed.value), failed.value.host) == (outcome, "target")
    else:
        assert isinstance(detect_target(host), outcome)
