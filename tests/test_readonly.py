"""The read-only guard of verify mode: which command lines write (xenlab.remote.guard.writes),
and Host.run refusing them before anything is sent."""
from __future__ import annotations

import pytest

from xenlab.adapters.target import _DETECT, Lio
from xenlab.errors import ReadOnlyViolation
from xenlab.remote.guard import writes

from .test_remote import local

# Every write build mode sends (the change() calls, rendered with the box's values) and
# every fault the box tests inject: each must be caught.
WRITERS = {
    "mkdir -p -- /scsistore && mount -- /dev/sdb1 /scsistore": "mkdir",
    "sh -c 'dd if=/dev/zero of=\"$1\" bs=1M count=0 seek=\"$2\"' xenlab-make-image "
    "/scsistore/busybox.img 1024 x": "dd of=",
    "dd if=/dev/zero of=/dev/sdb bs=1M count=1": "dd of=",
    "sync": "sync",
    "umount -- /scsistore && mount -- /dev/sdb1 /scsistore": "umount",
    "echo ,2048MiB,83 | sfdisk -q -- /dev/sdb": "sfdisk",
    "partx -u /dev/sdb; udevadm settle --timeout=30": "partx",
    "mkfs -t ext4 -q -- /dev/sdb1": "mkfs",
    "mkfs.ext4 /dev/sdb1": "mkfs.ext4",
    "blockdev --rereadpt /dev/sdb || partx -u /dev/sdb; udevadm settle --timeout=30":
        "blockdev --rereadpt",
    "systemctl start iscsid 2>/dev/null || service iscsid start": "systemctl start",
    "iscsiadm -m discovery -t st -p 198.51.100.3:3260": "iscsiadm -m discovery -t (records nodes)",
    "iscsiadm -m node -T iqn.2015-02.com.stu31:t1 -p 198.51.100.3:3260 -l": "iscsiadm -l",
    "iscsiadm -m node -T iqn.2015-02.com.stu31:t1 -u": "iscsiadm -u",
    "printf '%s' '<target x>' >> /etc/tgt/targets.conf": "> /etc/tgt/targets.conf",
    "tgt-admin --update ALL": "tgt-admin",
    "tgtadm --lld iscsi -o unbind -m target -t 1 -I 198.51.100.0/24": "tgtadm --op unbind",
    "tgtadm --lld iscsi --op=new --mode=target --tid=1 -T t": "tgtadm --op new",
    "targetcli /backstores/block create name=xenlab dev=/dev/sdb": "targetcli create",
    "targetcli /iscsi/iqn.2015-02.com.stu31:t1/tpg1/acls delete iqn.x:y": "targetcli delete",
    "targetcli saveconfig": "targetcli saveconfig",
    "targetcli /iscsi/iqn.2015-02.com.stu31:t1/tpg1 set attribute generate_node_acls=1":
        "targetcli set",
    "targetcli": "targetcli (interactive shell)",
    "targetctl restore": "targetctl restore",
    "echo 1 > /sys/kernel/config/target/iscsi/x/tpgt_1/enable": "> /sys/kernel/config/target/iscsi/x/tpgt_1/enable",
    "mkdir /sys/kernel/config/target/iscsi/iqn.x": "mkdir",
    "ip link add xenbr0 type bridge && ip link set xenbr0 address 52:54:00:00:00:01":
        "ip ... add",
    "ip addr add 198.51.100.2/25 dev xenbr0": "ip ... add",
    "test -f /root/.ssh/id_ed25519 || ssh-keygen -q -t ed25519 -N '' -f /root/.ssh/id_ed25519":
        "ssh-keygen",
    "touch /root/.ssh/known_hosts && (grep -qxF k /root/.ssh/known_hosts || "
    "echo k >> /root/.ssh/known_hosts)": "touch",
    "cat > /etc/xen/busybox && chmod 644 /etc/xen/busybox": "> /etc/xen/busybox",
    "xl create /etc/xen/busybox": "xl create",
    "xl destroy busybox": "xl destroy",
    "xm migrate -l busybox 172.16.31.3": "xm migrate",
    "xl pause busybox": "xl pause",
    "xl -v create -p /run/eater.cfg": "xl create",
    "systemctl stop tgt": "systemctl stop",
    "umount /scsistore; iscsiadm -m node -T t -u": "umount",
    "sed -i '$d' /etc/xen/busybox": "sed -i",
    "mv /root/.ssh/id_ed25519 /root/.ssh/id_ed25519.away": "mv",
    "mount --bind /run/other.img /scsistore/busybox.img": "mount",
    "for p in /a /b; do rm -f \"$p\"; done": "rm",
    "if true; then kill 1; fi": "kill",
    "timeout -k 5 30 sh -c 'echo x > /etc/motd'": "> /etc/motd",
    "timeout --foreground 30 rm -f /etc/motd": "rm",
    "timeout -s KILL --preserve-status 30 mkfs.ext4 /dev/sdb1": "mkfs.ext4",
    "LC_ALL=C /sbin/mkfs.ext4 /dev/sdb1": "mkfs.ext4",
    "echo 1 &> /tmp/out": "> /tmp/out",
    "fdisk /dev/sdb": "fdisk",
    "debugfs -w -R 'rm /x' /scsistore/busybox.img": "debugfs -w",
}

# What verify mode sends (the stages' run/check calls, rendered): none may be refused.
READERS = [
    "tgtadm --lld iscsi -m target -o show",
    "grep -rls -- '<target iqn.2015-02.com.stu31:t1>' /etc/tgt/targets.conf /etc/tgt/conf.d",
    "ss -tln",
    "iscsiadm -m session",
    "iscsiadm -m session -P 3",
    "lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,PTTYPE,MOUNTPOINT,SERIAL /dev/sdb",
    "fdisk -l -- /dev/sdb",
    "blockdev --getsize64 /dev/sdb1",
    "findmnt -n -o TARGET --source /dev/sdb1",
    "findmnt -n -o SOURCE,FSTYPE,OPTIONS --mountpoint /scsistore",
    "stat -c %s -- /scsistore/busybox.img && md5sum -- /scsistore/busybox.img",
    "debugfs -f - -- /scsistore/busybox.img",
    "dd if=/scsistore/busybox.img bs=4096 skip=3 count=2 2>/dev/null | md5sum",
    "ip -j -d addr show dev xenbr0",
    "test -d /etc/network/interfaces.d",
    "test -e /etc/xen/busybox || exit 66; cat -- /etc/xen/busybox",
    "for p in /boot/vmlinuz /scsistore/busybox.img; do test -e \"$p\" || echo \"$p\"; done",
    "cat /root/.ssh/id_ed25519.pub",
    "xl info", "xl list", "xm list", "xl -V", "xl dmesg",
    "tail -n 1 -- /var/log/xen/xl-busybox.log",
    "ssh -o BatchMode=yes -o ConnectTimeout=10 root@198.51.100.2 true",
    ("if command -v xm >/dev/null 2>&1 && xm info >/dev/null 2>&1; then echo xm; "
     "elif command -v xl >/dev/null 2>&1 && xl info >/dev/null 2>&1; then echo xl; "
     "else echo none; xl info 2>&1 | head -n 1; xm info 2>&1 | head -n 1; fi"),
    "ping -c 1 -W 1 198.51.100.4",
    "pgrep -f 'ping.*-p 0a1b'",
    "date +%s.%N",
    "echo 'no such device' >&2; exit 2",
    "awk '$1 > 3 {print}' /proc/meminfo",
    "systemctl is-active tgt",
    "if [ -b /dev/sdb ]; then blockdev --getsize64 /dev/sdb; fi",
    "modinfo -F version xen-netfront 2>/dev/null < /dev/null",
    "blkid -p -s TYPE -o value -- /dev/sdb1",
    # testinfra's modules (socket, mount_point) over our Host
    "uname -s", "cat /etc/os-release", "uname -m", "command -v ss",
    "/usr/bin/ss --numeric --listening --tcp", "cat /proc/mounts",
    _DETECT, Lio.READ, "targetcli ls", "targetcli /iscsi ls", "targetcli version",
    "systemctl is-enabled rtslib-fb-targetctl",
]


@pytest.mark.parametrize("line", list(WRITERS), ids=list(WRITERS.values()))
def test_a_write_is_named(line):
    assert writes(line) == WRITERS[line]


@pytest.mark.parametrize("line", READERS)
def test_a_read_passes(line):
    assert writes(line) is None


def test_verify_mode_refuses_a_write_given_to_run_or_check_and_sends_nothing(tmp_path):
    marker = tmp_path / "made"
    host, sent = local("verify")
    for call in (host.run, host.check):
        with pytest.raises(ReadOnlyViolation) as caught:
            call("echo data > %s", marker)
        assert str(caught.value) == (f"box1: `echo data > {marker}` writes to the host "
                                     f"(> {marker}); refused in verify mode "
                                     "(writes need --lab-mode=build)")
    assert not marker.exists() and sent == []
    assert host.run("cat -- %s", marker).rc != 0  # reads still go


def test_build_mode_and_the_migration_are_not_guarded(tmp_path):
    marker = tmp_path / "made"
    host, _ = local("build")
    host.run("echo data > %s", marker)
    assert marker.read_text() == "data\n"
    verify, sent = local("verify")
    verify.migrate("rm -- %s", marker)  # the one write verify mode may do
    assert not marker.exists() and len(sent) == 1


def test_the_testinfra_host_is_guarded_too(tmp_path):
    marker = tmp_path / "made"
    host, _ = local("verify")
    with pytest.raises(ReadOnlyViolation, match=r"\(touch\); refused in verify mode"):
        host.testinfra.run("touch %s", str(marker))
    assert not marker.exists()
    assert host.testinfra.file(str(tmp_path)).is_directory
