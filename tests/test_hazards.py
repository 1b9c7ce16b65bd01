"""The lab's hazards (it works, but is unsafe): each finding from real output, reported as
a warning by default and failing its step under --hazards=fail."""
from __future__ import annotations

import pytest

from xenlab.adapters.toolstack import Xm
from xenlab.checks import Finding, LabCheckFailed, LabHazard, report
from xenlab.parsers import parse_guest_config
from xenlab.stages import guestconfig, relocation, storage, target

from .replaykit import replayed
from .test_guest_config import ARTICLE, PATH
from .test_plugin import suite  # noqa: F401 (a fixture)
from .test_relocation import article_test2
from .test_target import BOX_LUN, IQN, tgt


def acl_all() -> list[Finding]:  # the box's target bound to initiator-address ALL
    box = tgt("box-acl-all.txt")
    return box.hazards(target.check_target(box, IQN, 1, BOX_LUN))


def no_chap() -> list[Finding]:  # the box's target as built: a network ACL, no account
    box = tgt("box-two-initiators-nexus.txt")
    return box.hazards(target.check_target(box, IQN, 1, BOX_LUN))


def ext4_twice() -> list[Finding]:  # the article's stage 6: /scsistore mounted on both
    ext4 = storage.Mount("/dev/sdb1", "ext4", ("rw", "relatime"))
    return storage.hazards({"test1": ext4, "test2": ext4}, "/scsistore")


def relocation_open() -> list[Finding]:  # the article's xend-config.sxp
    return relocation.hazards(Xm(article_test2()))


def vif_without_mac() -> list[Finding]:  # the article's guest configuration
    return guestconfig.hazards(replayed("test1", {})[0], parse_guest_config(ARTICLE), PATH)


FINDINGS = [
    (acl_all, "target", f"target {IQN} accepts any initiator (ACL ALL)"),
    (no_chap, "target", f"target {IQN} has no CHAP account"),
    (ext4_twice, "test1, test2", "ext4 on /scsistore mounted read-write on 2 hosts at once"),
    (relocation_open, "test2",
     "(xend-relocation-hosts-allow '') lets any host migrate a domain into this dom0"),
    (relocation_open, "test2", "relocation without SSL"),
    (vif_without_mac, "test1", "/etc/xen/busybox: vif 'bridge=xenbr0' has no fixed mac="),
]


@pytest.mark.parametrize("found, host, what", FINDINGS,
                         ids=["acl-all", "no-chap", "ext4-twice", "hosts-allow-empty",
                              "relocation-without-ssl", "vif-without-mac"])
def test_each_hazard_is_found_warned_and_fails_under_hazards_fail(found, host, what):
    [finding] = [f for f in found() if f.what == what]
    assert finding.host == host and finding.why and finding.safe
    with pytest.warns(LabHazard, match=f"^{host}: .*Why it matters: .*Safe instead: "):
        report(finding, fail=False)
    with pytest.raises(LabCheckFailed) as failed:
        report(finding, fail=True)
    assert str(failed.value).startswith(f"[hazard] {host}: ") and "\n" not in str(failed.value)


HAZARDOUS = """
from xenlab.checks import Finding, report

def test_shared_mount(hazards_fail):
    report(Finding("test2", "ext4 mounted read-write on 2 hosts", "it corrupts", "OCFS2"),
           hazards_fail)
"""


def test_the_hazards_option_warns_by_default_and_fails_when_asked(suite):  # noqa: F811
    suite.makepyfile(test_hazard=HAZARDOUS)
    warned = suite.runpytest()
    warned.assert_outcomes(passed=1, warnings=1)
    assert "LabHazard: test2: ext4 mounted read-write on 2 hosts" in warned.stdout.str()
    failed = suite.runpytest("--hazards=fail")
    failed.assert_outcomes(failed=1)
    assert "[hazard] test2: ext4 mounted read-write on 2 hosts" in failed.stdout.str()
    assert suite.runpytest("--strict").ret == 0  # pytest's own flag: not ours
    assert suite.runpytest("--hazards=maybe").ret == pytest.ExitCode.USAGE_ERROR
