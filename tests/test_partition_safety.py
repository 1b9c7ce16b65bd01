"""Build-mode safety of stage 3: what refuse_unless_blank lets through (real lsblk output)."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.parsers import BlockDevice, parse_lsblk_json
from xenlab.stages.partition import refuse_unless_blank

DATA = Path(__file__).parent / "data" / "lsblk-json"


class Named:
    name = "test1"


def disk(case: str) -> BlockDevice:
    return parse_lsblk_json((DATA / f"{case}.txt").read_text())[0]


PARTITIONED = disk("box-test2-sdb-partitioned")  # sdb with sdb1 ext4, unmounted


def test_a_blank_disk_needs_allow_destructive():
    blank = BlockDevice(**{**PARTITIONED.__dict__, "pttype": None, "children": ()})
    with pytest.raises(LabCheckFailed, match="creating it needs --allow-destructive"):
        refuse_unless_blank(Named(), blank, "/dev/sdb1", "ext4", allow_destructive=False)
    refuse_unless_blank(Named(), blank, "/dev/sdb1", "ext4", allow_destructive=True)


def test_a_mounted_partition_is_never_formatted():
    part = PARTITIONED.children[0]
    mounted = BlockDevice(**{**PARTITIONED.__dict__, "children": (
        BlockDevice(**{**part.__dict__, "fstype": None, "mountpoint": "/scsistore"}),)})
    with pytest.raises(LabCheckFailed, match="refusing .* /dev/sdb1 mounted"):
        refuse_unless_blank(Named(), mounted, "/dev/sdb1", "ext4", allow_destructive=True)


def test_another_filesystem_or_partition_is_refused():
    part = PARTITIONED.children[0]
    xfs = BlockDevice(**{**PARTITIONED.__dict__, "children": (
        BlockDevice(**{**part.__dict__, "fstype": "xfs"}),)})
    with pytest.raises(LabCheckFailed, match="/dev/sdb1 holds xfs"):
        refuse_unless_blank(Named(), xfs, "/dev/sdb1", "ext4", allow_destructive=True)
    two = BlockDevice(**{**PARTITIONED.__dict__, "children": (
        part, BlockDevice(**{**part.__dict__, "path": "/dev/sdb2", "name": "sdb2"}))})
    with pytest.raises(LabCheckFailed, match="/dev/sdb2 exists"):
        refuse_unless_blank(Named(), two, "/dev/sdb1", "ext4", allow_destructive=True)


def test_a_partition_table_without_partitions_is_refused():
    table_only = BlockDevice(**{**PARTITIONED.__dict__, "children": ()})
    with pytest.raises(LabCheckFailed, match="it has a dos partition table"):
        refuse_unless_blank(Named(), table_only, "/dev/sdb1", "ext4", allow_destructive=True)
