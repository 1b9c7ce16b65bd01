"""Stage 2's session check on real captures of the box's test1 (tests/data/iscsiadm-*)."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.stages.initiators import check_session

from .replaykit import replayed

DATA = Path(__file__).parent / "data" / "iscsiadm-session-detail"
IQN, PORTAL = "iqn.2015-02.com.stu31:t1", "198.51.100.3"
P3 = "iscsiadm -m session -P 3"


def session_on_test1(capture: str):
    return replayed("test1", {P3: (0, (DATA / capture).read_text(), "")})[0]


def test_a_logged_in_session_gives_its_disks():
    assert check_session(session_on_test1("box-p3-attached-sdb.txt"), IQN, PORTAL) == ("sdb",)


@pytest.mark.parametrize("capture, state", [
    ("box-p3-target-down-in-recovery.txt", "FAILED"),  # tgt stopped a second ago
    ("box-p3-recovery-timed-out-free.txt", "FREE"),  # ... and for more than 120 s
])
def test_a_session_in_recovery_fails_and_says_how_iscsid_gets_out_of_it(capture, state):
    with pytest.raises(LabCheckFailed) as failed:
        check_session(session_on_test1(capture), IQN, PORTAL)
    assert str(failed.value) == (
        f"test1: expected session to {IQN} LOGGED_IN; saw {state} (connection TRANSPORT "
        "WAIT, iscsid REOPEN); iscsid is reconnecting: if the target answers and this "
        "lasts, iscsid may be stuck (\"can't bind conn\" in its log, open-iscsi issue "
        "#387); `systemctl restart iscsid` on this host recovers the session")


def test_no_session_to_the_target_fails_naming_what_there_is():
    host = replayed("test1", {P3: (21, "iscsiadm: No active sessions.\n", "")})[0]
    with pytest.raises(LabCheckFailed, match=f"^test1: expected an iSCSI session to {IQN} "
                       f"at {PORTAL}; saw no session$"):
        check_session(host, IQN, PORTAL)
