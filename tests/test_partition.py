"""Stage 3 on a lab built by hand (tests/handbuilt/logged-in-first.sh): test2 logged in
and re-read the partition table before test1 formatted the partition, so test2's udev
database still says "no filesystem" (lsblk) while the disk holds ext4 (blkid -p). The
check reads the disk: no false failure. Real captures of that test2 (tests/replay)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.stages.initiators import LSBLK
from xenlab.stages.partition import check_partition

from .replaykit import replayed

CAPTURES = Path(__file__).parent / "replay" / "handbuilt-logged-in-first-test2"
BLKID = "blkid -p -s TYPE -o value -- /dev/sdb1"


def answers(blkid: tuple[int, str, str]) -> dict:
    captured = {name: (CAPTURES / f"{name}.stdout.txt").read_text()
                for name in ("lsblk-sdb1", "fdisk-l-sdb")}
    return {"fdisk -l -- /dev/sdb": (0, captured["fdisk-l-sdb"], ""),
            LSBLK.replace("%s", "/dev/sdb1"): (0, captured["lsblk-sdb1"], ""),  # udev's view
            BLKID: blkid}


def test_udevs_view_is_stale_on_that_host():
    seen = json.loads((CAPTURES / "lsblk-sdb1.stdout.txt").read_text())["blockdevices"][0]
    assert (seen["fstype"], seen["mountpoint"]) == (None, "/scsistore")


def test_a_partition_formatted_from_the_other_host_passes_as_the_disk_says():
    blkid = (0, (CAPTURES / "blkid-p-sdb1.stdout.txt").read_text(), "")
    host, sent = replayed("test2", answers(blkid))
    check_partition(host, "/dev/sdb", "/dev/sdb1", "83", 2048, "ext4")
    assert BLKID in sent.sent


def test_a_partition_with_no_filesystem_on_the_disk_still_fails():
    host, _ = replayed("test2", answers((2, "", "")))  # blkid -p: no signature
    with pytest.raises(LabCheckFailed, match="^test2: expected /dev/sdb1 formatted ext4; "
                                             "saw no filesystem$"):
        check_partition(host, "/dev/sdb", "/dev/sdb1", "83", 2048, "ext4")
