"""Stage 2's session check on real captures of the box's test1 (tests/data/iscsiadm-*)."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.errors import XenlabError
from xenlab.inventory import HostSpec
from xenlab.remote import Host
from xenlab.stages.initiators import check_session, initiator_name

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


NAME_FILE = "test -e /etc/iscsi/initiatorname.iscsi || exit 66; cat -- /etc/iscsi/initiatorname.iscsi"


@pytest.mark.parametrize("rc, text, outcome", [
    (0, "## DO NOT EDIT OR REMOVE THIS FILE!\nInitiatorName=iqn.1993-08.org.debian:01:xenlab-test1\n",
     "iqn.1993-08.org.debian:01:xenlab-test1"),
    (66, "", "test1: no initiator name: /etc/iscsi/initiatorname.iscsi missing (install "
             "open-iscsi, or set iscsi_initiator_name in the inventory)"),
    # Debian's file before iscsid first started: the name is not chosen yet
    (0, "GenerateName=yes\n", "test1: no initiator name in /etc/iscsi/initiatorname.iscsi: "
                              "no InitiatorName= line (GenerateName=yes: iscsid names the "
                              "initiator when it first starts)"),
    (0, "", "test1: no initiator name in /etc/iscsi/initiatorname.iscsi: empty output"),
], ids=["named", "missing", "generate", "empty"])
def test_the_initiator_name_is_read_from_the_host_or_one_line(rc, text, outcome):
    host = replayed("test1", {NAME_FILE: (rc, text, "")})[0]
    if outcome.startswith("iqn."):
        assert initiator_name(host) == outcome
    else:
        with pytest.raises(XenlabError) as failed:
            initiator_name(host)
        assert (str(failed.value), failed.value.host) == (outcome, "test1")


def test_an_initiator_name_in_the_inventory_is_taken_without_asking_the_host():
    replay = replayed("test1", {})[1]  # answers nothing: the host must not be asked
    host = Host(HostSpec("test1", "192.0.2.1", vars={"iscsi_initiator_name":
                                                     "iqn.2026-11.lab:test1"}),
                "verify", transport=replay)
    assert initiator_name(host) == "iqn.2026-11.lab:test1"
