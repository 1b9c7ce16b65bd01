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


def _info(folder: str, case: str):
    from xenlab.parsers import parse_xen_info
    return parse_xen_info((Path(__file__).parent / "data" / folder / f"{case}.txt").read_text())


def test_xen_migrates_to_the_same_or_a_newer_release_only():
    import dataclasses
    old = _info("xl-info", "box-test1-xen-4.17-empty-changeset")  # test1, Xen 4.17
    new = dataclasses.replace(old, host="test2", xen_minor=20)  # the same host after the upgrade
    patched = dataclasses.replace(old, host="test2", xen_extra=".9")
    assert xen.unsupported_move(old, new) is None  # the rolling upgrade's way
    assert xen.unsupported_move(old, patched) is None and xen.unsupported_move(patched, old) is None
    assert xen.unsupported_move(new, old) == (
        f"Xen supports live migration to the same or a newer release only: test2 runs Xen "
        f"4.20{old.xen_extra}, test1 Xen {old.xen_version}")
    article = _info("xm-info", "article-test2")  # Xen 4.2.5: older than any xl host
    assert xen.unsupported_move(article, old) is None
    assert "newer release only" in xen.unsupported_move(old, article)


def _info_of(name: str, minor: int):
    """The box's test1 capture of `xl info`, as host `name` running Xen 4.<minor> (4.17
    captured; 4.20 the same text with xen_minor 20)."""
    from xenlab.parsers import parse_xen_info
    text = (DATA / "xl-info/box-test1-xen-4.17-empty-changeset.txt").read_text()
    return parse_xen_info(text.replace("xen_minor              : 17",
                                       f"xen_minor              : {minor}")
                          .replace("host                   : test1",
                                   f"host                   : {name}"))


def test_stage_9_tries_no_move_xen_does_not_support_and_says_why():
    from xenlab.stages.migration import moves_xen_supports
    t1_417, t2_417, t1_420, t2_420 = (_info_of("test1", 17), _info_of("test2", 17),
                                      _info_of("test1", 20), _info_of("test2", 20))
    nothing, back = moves_xen_supports(t1_420, t2_417, one_way_allowed=True)
    assert nothing == ("Xen supports live migration to the same or a newer release only: "
                       "test1 runs Xen 4.20.5, test2 Xen 4.17.5; not tried") and back is None
    # Only the way back is unsupported: nothing moves, unless the run allows a one-way move.
    nothing, back = moves_xen_supports(t1_417, t2_420, one_way_allowed=False)
    assert "--migration-one-way moves it to test2 and leaves it there" in nothing
    nothing, back = moves_xen_supports(t1_417, t2_420, one_way_allowed=True)
    assert nothing is None and back.startswith("Xen supports live migration to the same")
    assert moves_xen_supports(t1_417, t2_417, one_way_allowed=False) == (None, None)


def test_a_pv_guest_is_not_moved_away_from_a_xen_without_shadow_paging():
    """Debian 13's Xen 4.20 (test2 of the box, upgraded, captured): virt_caps without
    'shadow'; `xl migrate` of the PV guest from it failed with 'Failed to enable logdirty: 95'
    (measured). Xen 4.17 of the box (test1) has 'shadow' and moves it to 4.20."""
    from xenlab.stages.migration import moves_xen_supports
    t1 = _info("xl-info", "box-test1-xen-4.17-empty-changeset")
    t2 = _info("xl-info", "box-test2-xen-4.20-no-shadow")
    assert "shadow" in t1.virt_caps and "shadow" not in t2.virt_caps
    assert xen.unsupported_move(t1, t2, "pv") is None  # the receiver needs no log-dirty
    why = xen.unsupported_move(t2, t2, "pv")  # both upgraded: not even between equals
    assert why.startswith("Xen 4.20.5-pre on test2 is built without shadow paging (xl info "
                          "virt_caps: pv hvm gnttab-v1 gnttab-v2; no 'shadow')")
    assert "CONFIG_SHADOW_PAGING=y" in why and "PVH or HVM" in why
    # HVM and PVH guests use the hardware's paging (HAP) for it; an unknown type is not judged.
    assert xen.unsupported_move(t2, t2, "hvm") is None
    assert xen.unsupported_move(t2, t2, None) is None
    # A Xen that does not say what it can do (the article's 4.2: virt_caps empty): not judged.
    assert _info("xm-info", "article-test2").virt_caps is None
    # After upgrading both hosts, stage 9 moves nothing and says why (not a broken lab).
    nothing, back = moves_xen_supports(t2, t2, one_way_allowed=True, guest_type="pv")
    assert nothing.endswith("; not tried") and "without shadow paging" in nothing
    # test2 upgraded only: the way there works; the way back is refused by release first.
    nothing, back = moves_xen_supports(t1, t2, one_way_allowed=True, guest_type="pv")
    assert nothing is None and back.startswith("Xen supports live migration to the same")
