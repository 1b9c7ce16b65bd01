"""Build mode brings a drifted lab back, not only a fresh one: what the fault matrix of the box
breaks (tests/test_lab_box.py FAULTS) is what these build functions put right, so a failed
check's hint (build mode's plan) carries the commands that repair it. Planned on real
captured answers (tests/replaykit.py), the drift made as the box's faults make it."""
from __future__ import annotations

from pathlib import Path

from xenlab.adapters.target import Tgt, WantedExport
from xenlab.parsers import Domain, parse_xen_info
from xenlab.stages import bridge, guestconfig, partition, storage, xen
from xenlab.checks import LabCheckFailed

from .replaykit import REPLAY, replayed

DATA = Path(__file__).parent / "data"
IQN = "iqn.2015-02.com.stu31:t1"
ARTICLE_CONFIG = (DATA / "guest-config" / "article-busybox.txt").read_text()
SHOW = (DATA / "tgtadm-show" / "box-two-initiators-nexus.txt").read_text()


def test_an_acl_changed_live_on_tgt_is_bound_again():
    # the fault: `tgtadm -o unbind -I 198.51.100.0/24; -o bind -I 198.51.100.1`
    drifted = SHOW.replace("        198.51.100.0/24", "        198.51.100.1")
    target, _ = replayed("target", {
        f"grep -rls -- '<target {IQN}>' /etc/tgt/targets.conf /etc/tgt/conf.d":
            (0, "/etc/tgt/conf.d/xenlab.conf\n", ""),
        Tgt.SHOW: (0, drifted, ""),
        "systemctl is-enabled tgt": (0, "enabled\n", "")}, mode="plan")
    Tgt(target).build(WantedExport(IQN, 1, "/dev/sda3", ("198.51.100.0/24",), "198.51.100.1",
                                   3260))
    assert [p.command for p in target.planned] == [
        "tgtadm --lld iscsi -m target -o bind -t 1 -I 198.51.100.0/24"]


def test_a_lab_address_with_another_prefix_is_put_right_on_the_bridge():
    # the fault: `ip addr add 198.51.100.2/25 dev xenbr0 && ip addr del 198.51.100.2/24 ...`
    shown = {name: (REPLAY / f"ip-d-addr-box-test2-{name}.stdout.txt").read_text()
             for name in ("eth0", "xenbr0")}
    shown["xenbr0"] = shown["xenbr0"].replace('"local":"198.51.100.2","prefixlen":24',
                                              '"local":"198.51.100.2","prefixlen":25')
    host, _ = replayed("test2", {
        **{f"ip -j -d addr show dev {n}": (0, text, "") for n, text in shown.items()},
        "test -d /etc/network/interfaces.d": (1, "", "")}, mode="plan")
    changes = bridge.build(host, "xenbr0", "eth0", "198.51.100.2", 24)
    assert [p.command for p in host.planned] == [
        "ip addr add 198.51.100.2/24 dev xenbr0 && ip addr del 198.51.100.2/25 dev xenbr0"]
    assert changes == ["test2: 198.51.100.2/24 on xenbr0 in place of 198.51.100.2/25"]


def test_a_partition_of_another_type_gets_its_type_back_and_keeps_its_data():
    # the fault: `sfdisk --part-type /dev/sdb 1 8e`
    fdisk = (DATA / "fdisk-l" / "box-sdb1-dos-2g-type-83.txt").read_text().replace(
        "2G 83 Linux", "2G 8e Linux LVM")
    lsblk = (DATA / "lsblk-json" / "box-test2-sdb-partitioned.txt").read_text()
    source, _ = replayed("test1", {
        "lsblk -J -b -o NAME,PATH,SIZE,TYPE,FSTYPE,MOUNTPOINT,SERIAL,WWN,PTTYPE -- /dev/sdb":
            (0, lsblk, ""),
        "test -b /dev/sdb": (0, "", ""),
        "blkid -p -s TYPE -o value -- /dev/sdb": (0, "", ""),
        "blkid -p -s TYPE -o value -- /dev/sdb1": (0, "ext4\n", ""),
        "fdisk -l -- /dev/sdb": (0, fdisk, "")}, mode="plan")
    partition.build(source, [], "/dev/sdb", "/dev/sdb1", 2048, "83", "ext4",
                    allow_destructive=False)
    assert [(p.command, p.destructive) for p in source.planned] == [
        ("sfdisk -q --no-reread --part-type /dev/sdb 1 83", False)]


def test_a_file_mounted_over_the_guest_image_is_unmounted():
    # the fault: `mount --bind /run/xenlab-other.img /scsistore/busybox.img` on test2
    image = "/scsistore/busybox.img"
    source, _ = replayed("test1", {f"findmnt -n -M {image}": (1, "", ""),
                                   f"test -s {image}": (0, "", "")}, mode="plan")
    other, _ = replayed("test2", {
        f"findmnt -n -M {image}": (0, f"{image} /dev/sda1[/run/xenlab-other.img] ext4 rw\n", ""),
        f"test -s {image}": (0, "", "")}, mode="plan")
    storage.build_image(source, [other], image, 1024, "/lib/xen-netfront.ko", "/dev/sdb1",
                        "/scsistore")
    assert source.planned == [] and [p.command for p in other.planned] == [f"umount -- {image}"]


def test_a_guest_configuration_that_means_something_else_is_copied_from_the_source():
    path = "/etc/xen/busybox"
    read = f"test -e {path} || exit 66; cat -- {path}"
    source, _ = replayed("test1", {read: (0, ARTICLE_CONFIG, "")}, mode="plan")
    same, _ = replayed("test2", {read: (0, ARTICLE_CONFIG.replace('"busybox"', "'busybox'")
                                        + "# a comment\n", "")}, mode="plan")
    other, _ = replayed("test2", {read: (0, ARTICLE_CONFIG + "localtime = 1\n", "")},
                        mode="plan")
    assert guestconfig.build_same(source, [same], path) == [] and same.planned == []
    assert guestconfig.build_same(source, [other], path) == [f"test2: {path} as on test1"]
    assert [(p.command, p.input_from) for p in other.planned] == [(f"cat > {path}",
                                                                   ("test1", path))]


def test_short_memory_names_the_domains_that_would_make_room_largest_first():
    info = parse_xen_info((DATA / "xl-info" / sorted(
        p.name for p in (DATA / "xl-info").glob("box-*.txt"))[0]).read_text())
    free = info.free_memory_mib

    class Toolstack:
        def domains(self):
            return (Domain("Domain-0", 0, 1024, 1, "r-----", 1.0),
                    Domain("busybox", 1, 512, 1, "-b----", 1.0),
                    Domain("xenlab-eater", 2, 2000, 1, "--p---", 0.0),
                    Domain("small", 3, 8, 1, "-b----", 0.0))

        def destroy_command(self, name):
            return f"xl destroy {name}"

    host, _ = replayed("test2", {})
    try:
        xen.check_free_memory(host, info, free + 64, toolstack=Toolstack(),
                              lab_domains=("busybox",))
    except LabCheckFailed as exc:
        assert exc.failures[0].fix == (
            "xl destroy xenlab-eater   # one of these: xenlab-eater holds 2000 MiB",)
    else:
        raise AssertionError("enough memory?")
