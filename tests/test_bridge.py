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


DEFINITIONS = ("awk '$1 == \"iface\" {print FILENAME, $2}' /etc/network/interfaces "
               "/etc/network/interfaces.d/* 2>/dev/null; true")


def building_test2(definitions: str, files: dict[str, str]):
    """test2 in build mode, bridged already, whose ifupdown files define `definitions`."""
    answers = {SHOW.format(name): (0, (REPLAY / f"ip-d-addr-box-test2-{name}.stdout.txt")
                                   .read_text(), "")
               for name in ("xenbr0", "eth0")}
    answers["test -d /etc/network/interfaces.d"] = (0, "", "")
    answers[DEFINITIONS] = (0, definitions, "")
    for name, text in files.items():
        path = f"/etc/network/interfaces.d/{name}"
        answers[f"test -e {path} || exit 66; cat -- {path}"] = (
            (66, "", "") if text is None else (0, text, ""))
        answers[f"cat > {path} && chmod 644 {path}"] = (0, "", "")
    return replayed("test2", answers, mode="build")


def test_build_writes_no_second_definition_beside_the_users_own():
    host, sent = building_test2("/etc/network/interfaces.d/lab-bridge xenbr0\n"
                                "/etc/network/interfaces.d/lab-bridge eth0\n", {})
    assert bridge.build(host, "xenbr0", "eth0", "198.51.100.2", 24) == []
    assert not [line for line in sent.sent if line.startswith("cat >")]


def test_build_persists_the_bridge_where_nothing_defines_it():
    box_eth0 = "auto eth0\niface eth0 inet static\n    address 198.51.100.2/24\n"
    host, sent = building_test2("/etc/network/interfaces lo\n"
                                "/etc/network/interfaces.d/eth0 eth0\n",
                                {"eth0": box_eth0, "xenbr0": None})
    assert bridge.build(host, "xenbr0", "eth0", "198.51.100.2", 24) == [
        "test2: wrote /etc/network/interfaces.d/eth0",
        "test2: wrote /etc/network/interfaces.d/xenbr0"]


def test_build_never_overwrites_a_file_that_defines_other_interfaces_too():
    # The student turned the box's eth0 file into the bridge's: eth0 manual + xenbr0.
    theirs = ("iface eth0 inet manual\n\nauto xenbr0\niface xenbr0 inet static\n"
              "    address 198.51.100.2/24\n    bridge_ports eth0\n")
    host, sent = building_test2("/etc/network/interfaces.d/eth0 eth0\n"
                                "/etc/network/interfaces.d/eth0 xenbr0\n", {"eth0": theirs})
    assert bridge.build(host, "xenbr0", "eth0", "198.51.100.2", 24) == []
    assert not [line for line in sent.sent if line.startswith("cat >")]
