"""Stage 4 on real captures (tests/data/xl-info, xl-list, xm-info, xm-list): Xen answers
through the toolstack that fits its version, Domain-0 runs, memory is free."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.adapters.toolstack import Xl, Xm
from xenlab.checks import LabCheckFailed
from xenlab.stages import xen

from .replaykit import replayed

DATA = Path(__file__).parent / "data"


def ok(path: str) -> tuple[int, str, str]:
    return 0, (DATA / path).read_text(), ""


BOX_TEST1 = {"xl info": ok("xl-info/box-test1-xen-4.17-empty-changeset.txt"),
             "xl list": ok("xl-list/box-dom0-only-tab-header.txt")}
ARTICLE_TEST2 = {"xm info": ok("xm-info/article-test2.txt"),
                 "xm list": ok("xm-list/article-dom0-only.txt")}


def test_xl_on_xen_4_17_passes():
    info = xen.check_dom0(Xl(replayed("test1", BOX_TEST1)[0]))
    assert (info.xen_version, info.free_memory_mib) == ("4.17.5", 748)


def test_xm_on_the_articles_xen_4_2_passes():
    assert xen.check_dom0(Xm(replayed("test2", ARTICLE_TEST2)[0])).xen_version == "4.2.5-38.el6"


def test_xm_answering_on_xen_4_17_does_not_fit():
    # The box's real `xl info` text, read as xm would print it: Xen 4.17 has no xend.
    host = replayed("test1", {"xm info": BOX_TEST1["xl info"]})[0]
    with pytest.raises(LabCheckFailed) as failed:
        xen.check_dom0(Xm(host))
    assert str(failed.value) == ("test1: expected the xl toolstack on Xen >= 4.5 (xend and xm "
                                 "were removed in 4.5); saw xm on Xen 4.17.5")


def test_free_memory_is_the_hypervisors():
    host = replayed("test1", BOX_TEST1)[0]
    info = xen.check_dom0(Xl(host))
    xen.check_free_memory(host, info, 192)
    with pytest.raises(LabCheckFailed, match="^test1: expected at least 1024 MiB free for the "
                                             "guest; saw 748 MiB free$"):
        xen.check_free_memory(host, info, 1024)


def test_different_xen_versions_are_a_warning_naming_each_host():
    assert xen.xen_version_difference({"test1": "4.17.5", "test2": "4.17.5"}) is None
    assert xen.xen_version_difference({"test1": "4.17.5", "test2": "4.20.4"}) == (
        "test1 runs Xen 4.17.5, test2 runs Xen 4.20.4: migration is supported only to the "
        "same or a newer version")
