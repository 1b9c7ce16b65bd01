"""Stage 5 on real captures of the box's test2 (`ip -j -d addr show dev NAME`, tests/replay):
the bridge up with the host's lab address and the lab NIC enslaved; stage 9's precheck
reads the same."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.stages import bridge

from .replaykit import replayed

REPLAY = Path(__file__).parent / "replay"
SHOW = "ip -j -d addr show dev {}"


def box_test2():
    answers = {SHOW.format(name): (0, (REPLAY / f"ip-d-addr-box-test2-{name}.stdout.txt")
                                   .read_text(), "")
               for name in ("xenbr0", "eth0")}
    answers[SHOW.format("xenbrX")] = (1, "", 'Device "xenbrX" does not exist.\n')
    return replayed("test2", answers)[0]


def failure(check, *args) -> str:
    with pytest.raises(LabCheckFailed) as failed:
        check(*args)
    return str(failed.value)


def test_the_box_bridge_passes():
    bridge.check_bridge(box_test2(), "xenbr0", "eth0", "198.51.100.2", 24)
    assert bridge.check_is_bridge(box_test2(), "xenbr0").kind == "bridge"


@pytest.mark.parametrize("name, port, address, prefix, seen", [
    ("xenbrX", "eth0", "198.51.100.2", 24, "test2: expected bridge xenbrX; saw no such interface"),
    ("eth0", "xenbr0", "198.51.100.2", 24, "test2: expected eth0 to be a bridge; saw None"),
    ("xenbr0", "eth0", "198.51.100.2", 25, "test2: expected 198.51.100.2/25 on xenbr0; saw "
                                           "['198.51.100.2/24', 'fe80::5054:ff:fe10:5103/64']"),
    ("xenbr0", "eth0", "198.51.100.9", 24, "test2: expected 198.51.100.9/24 on xenbr0; saw "
                                           "['198.51.100.2/24', 'fe80::5054:ff:fe10:5103/64']"),
], ids=["no-bridge", "not-a-bridge", "wrong-prefix", "other-address"])
def test_a_wrong_bridge_fails_naming_host_expected_seen(name, port, address, prefix, seen):
    assert failure(bridge.check_bridge, box_test2(), name, port, address, prefix) == seen


def test_stage_9s_precheck_says_why_it_needs_the_bridge():
    assert failure(bridge.check_is_bridge, box_test2(), "xenbrX", "the guest's vif needs it") == (
        "test2: expected a bridge named xenbrX (the guest's vif needs it); saw no such interface")
    assert failure(bridge.check_is_bridge, box_test2(), "eth0") == (
        "test2: expected a bridge named eth0; saw eth0 is a plain link")
