"""Plan mode (--lab-mode=plan): build mode's own functions run on hosts that list each change
as the command they would run instead of sending it. Real captured answers stand in for the
reads (tests/replaykit.py); a command nobody recorded fails the test, so a planned change
that was sent would too."""
from __future__ import annotations

import pytest

from xenlab.errors import ReadOnlyViolation
from xenlab.inventory import HostSpec
from xenlab.remote import Host, InputFrom
from xenlab.results import grid, plan
from xenlab.stages import initiators, partition, relocation

from .replaykit import Replay

# open-iscsi 2.1.8's answers on a host that never logged in (the box's fresh test1)
NO_SESSIONS = (21, "", "iscsiadm: No active sessions.\n")
NO_RECORDS = (21, "", "iscsiadm: No records found\n")
IQN, PORTAL = "iqn.2013-05.com.example:xen", "198.51.100.1"


def host(name: str, answers: dict, mode: str = "plan") -> tuple[Host, Replay]:
    replay = Replay(answers)
    return Host(HostSpec(name, name), mode, transport=replay), replay


def test_a_planned_change_is_listed_and_never_sent():
    h, replay = host("test1", {"test -e /etc/x || exit 66; cat -- /etc/x": (66, "", "")})
    result = h.change("mkfs -t %s -q -- %s", "ext4", "/dev/sdb1", destructive=True)
    h.write_file("/etc/x", "a line\n")
    assert result.rc == 0 and result.stdout == ""
    assert replay.sent == []
    assert [p.line() for p in h.planned] == [
        "mkfs -t ext4 -q -- /dev/sdb1",
        "printf '%s' 'a line\n' | (cat > /etc/x && chmod 644 /etc/x)"]
    assert [p.destructive for p in h.planned] == [True, False]


def test_a_plan_still_refuses_a_write_outside_change_and_moves_nothing():
    h, replay = host("test1", {})
    with pytest.raises(ReadOnlyViolation, match="test1: .*writes to the host"):
        h.run("mkfs -t ext4 /dev/sdb1")
    with pytest.raises(ReadOnlyViolation, match="moves the guest; refused in plan mode"):
        h.migrate("xl migrate %s %s", "busybox", "198.51.100.3")
    with pytest.raises(ReadOnlyViolation, match="test1: `kill -TERM 4242` is a drill's fault; "
                                                "refused in plan mode"):
        h.drill("kill -TERM %s", 4242)
    assert replay.sent == [] and h.planned == []


def test_input_from_another_host_is_named_and_read_only_when_the_command_runs():
    key = "/root/.ssh/id_ed25519.pub"
    source, read = host("test1", {})
    dest, sent = host("test2", {})
    dest.change("k=$(cat) && echo \"$k\" >> /root/.ssh/authorized_keys",
                input=InputFrom(source, key))
    [planned] = dest.planned
    assert planned.input_from == ("test1", key) and planned.input is None
    assert planned.line().startswith(f"(on test1: cat {key}) | (k=$(cat)")
    assert read.sent == [] and sent.sent == []  # an earlier planned ssh-keygen may replace it


def test_plan_changes_plans_on_a_verify_host_then_gives_it_back():
    h, replay = host("test1", {}, mode="verify")
    with h.plan_changes() as planned:
        h.change("systemctl enable -- %s", "open-iscsi")
    assert [p.command for p in planned] == ["systemctl enable -- open-iscsi"]
    assert h.mode == "verify" and h.planned == []
    with pytest.raises(ReadOnlyViolation):
        h.change("systemctl enable -- %s", "open-iscsi")
    assert replay.sent == []


def test_the_login_of_a_fresh_host_is_planned_in_full():
    h, replay = host("test1", {
        "iscsiadm -m session": NO_SESSIONS,
        f"iscsiadm -m node -T {IQN} -p {PORTAL}:3260 -o show": NO_RECORDS,
        "systemctl is-enabled open-iscsi": (1, "disabled\n", ""),
    })
    changes = initiators.build(h, IQN, PORTAL, 3260)
    assert [p.command for p in h.planned] == [
        "systemctl start iscsid 2>/dev/null || service iscsid start",
        f"iscsiadm -m discovery -t st -p {PORTAL}:3260",
        f"iscsiadm -m node -T {IQN} -p {PORTAL}:3260 -l",
        "udevadm settle --timeout=30",
        f"iscsiadm -m node -T {IQN} -p {PORTAL}:3260 -o update -n node.startup -v automatic",
        "systemctl enable -- open-iscsi"]
    assert changes[0] == f"test1: logged in to {IQN} at {PORTAL}:3260"
    assert all(line in ("iscsiadm -m session", "systemctl is-enabled open-iscsi")
               or " -o show" in line for line in replay.sent)


def test_the_partition_of_a_disk_not_attached_yet_is_planned_as_destroying_data():
    source, _ = host("test1", {"test -b /dev/sdb": (1, "", "")})
    other, _ = host("test2", {"test -b /dev/sdb1": (1, "", "")})
    partition.build(source, [other], "/dev/sdb", "/dev/sdb1", 2048, "83", "ext4",
                    allow_destructive=False)
    assert [(p.command, p.destructive) for p in source.planned] == [
        ("echo ,2048MiB,83 | sfdisk -q -- /dev/sdb", True),
        ("partx -u /dev/sdb; udevadm settle --timeout=30", False),
        ("mkfs -t ext4 -q -- /dev/sdb1", True)]
    assert [p.command for p in other.planned] == [
        "blockdev --rereadpt /dev/sdb || partx -u /dev/sdb; udevadm settle --timeout=30"]


def test_build_still_needs_allow_destructive_where_a_plan_does_not():
    lsblk = initiators.LSBLK.replace("%s", "/dev/sdb")
    blank = ('{"blockdevices": [{"name": "sdb", "path": "/dev/sdb", "size": 2147483648, '
             '"type": "disk", "fstype": null, "mountpoint": null, "serial": "beaf11", '
             '"wwn": null, "pttype": null}]}')
    source, replay = host("test1", {lsblk: (0, blank, ""),
                                    "blkid -p -s TYPE -o value -- /dev/sdb": (2, "", "")},
                          mode="build")
    with pytest.raises(AssertionError, match="needs --allow-destructive"):
        partition.build(source, [], "/dev/sdb", "/dev/sdb1", 2048, "83", "ext4",
                        allow_destructive=False)
    assert not any("sfdisk" in line for line in replay.sent)


def test_the_ssh_trust_of_fresh_hosts_is_planned_with_the_key_read_when_it_runs():
    key = relocation.ROOT_KEY + ".pub"

    class Probe:  # the toolstack's relocation probe: root SSH does not work yet
        def __init__(self, host):
            self.host = host

        def relocation_check(self, address, port):
            return self.host.run("ssh -o BatchMode=yes root@%s true", address)

    source, _ = host("test1", {"ssh -o BatchMode=yes root@198.51.100.3 true": (255, "", "denied"),
                               f"test -e {key} || exit 66; cat -- {key}": (66, "", "")})
    dest, _ = host("test2", {"cat /etc/ssh/ssh_host_ed25519_key.pub":
                             (0, "ssh-ed25519 HOSTKEY root@test2\n", "")})
    relocation.build_ssh_trust(Probe(source), dest, "198.51.100.3")
    assert [p.line() for p in dest.planned] == [
        f"(on test1: cat {key}) | ({relocation.AUTHORIZE_KEY})"]
    assert "ssh-keygen" in source.planned[0].command
    assert "198.51.100.3 ssh-ed25519 HOSTKEY" in source.planned[1].command


def test_the_plan_view_lists_each_stage_in_order_and_each_command_once():
    planned = {"host": "test1", "command": "xl create /etc/xen/busybox", "input": None,
               "input_from": None, "destructive": False, "kind": "run",
               "line": "xl create /etc/xen/busybox"}
    round_ = {"stage": 9, "steps": [{"text": "Given ...", "status": "planned", "commands": [],
                                     "planned": [planned], "changes": ["test1: start busybox"]}]}
    entry = {"tests": [round_, dict(round_, nodeid="round 2"),
                       {"stage": 4, "steps": [{"text": "Then ...", "status": "not run",
                                               "commands": []}]}]}
    assert plan(entry) == [
        {"stage": 4, "title": "Xen dom0 on both hosts", "changes": [], "commands": []},
        {"stage": 9, "title": "live migration", "changes": ["test1: start busybox"],
         "commands": [planned]}]


def test_the_grid_of_a_plan_says_to_do_where_build_would_change_and_not_passed():
    lab = {"name": "lab", "hosts": [{"name": n, "roles": ["Xen host"]} for n in ("test1", "test2")]
           + [{"name": "target", "roles": ["iSCSI target"]}]}
    step = {"text": "Given ...", "status": "planned",
            "commands": [{"host": "test1"}, {"host": "test2"}],
            "planned": [{"host": "test2", "line": "ip link add xenbr0 type bridge"}]}
    tests = [{"stage": 5, "outcome": "skipped", "failure": "plan: 1 command on test2",
              "steps": [step]}]
    assert grid({"lab": lab, "tests": tests})[5] == {
        "test1": "nothing to do", "test2": "to do", "target": "-"}
