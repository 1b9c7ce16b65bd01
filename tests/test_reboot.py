"""What a reboot would lose: each stage's check against the files and records the next boot
reads, captured on the box (a built lab, and the same lab with one part undone), on hosts
that answer with that real output."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.adapters.target import Export, ExportedLun, Lio, Tgt
from xenlab.checks import LabCheckFailed, RebootFinding, report
from xenlab.parsers.boot import parse_network_files
from xenlab.stages import bridge, initiators, storage, xen

from xenlab.remote.host import MISSING_RC

from .replaykit import replayed

DATA = Path(__file__).parent / "data"
IQN = "iqn.2015-02.com.stu31:t1"
PORTAL, WHERE = "198.51.100.3", "198.51.100.3:3260"
BOX_LUN = "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_xenlab-lun"
UUID = "179a4b75-5324-4afd-9fb2-77fb89de22c8"
NODE_SHOW = f"iscsiadm -m node -T {IQN} -p {WHERE} -o show"


def text(folder: str, case: str) -> str:
    return (DATA / folder / f"{case}.txt").read_text()


def enabled(unit: str, state: str = "enabled") -> dict[str, tuple[int, str, str]]:
    return {f"systemctl is-enabled {unit}": (0 if state == "enabled" else 1, state + "\n", "")}


# -- stage 2: the login --------------------------------------------------------------------

def test_an_automatic_node_with_its_boot_service_would_log_in_again():
    host, _ = replayed("test1", {NODE_SHOW: (0, text("iscsiadm-node", "box-automatic"), ""),
                                 **enabled("open-iscsi")})
    assert initiators.after_reboot(host, IQN, PORTAL, 3260) == []


def test_a_manual_node_is_reported_with_the_command_that_makes_it_automatic():
    host, _ = replayed("test2", {NODE_SHOW: (0, text("iscsiadm-node", "box-manual"), ""),
                                 **enabled("open-iscsi")})
    [finding] = initiators.after_reboot(host, IQN, PORTAL, 3260)
    assert finding.host == "test2" and "node.startup = manual" in finding.what
    assert finding.safe == (f"`iscsiadm -m node -T {IQN} -p {WHERE} -o update "
                            "-n node.startup -v automatic`")
    assert "would not come back after a reboot" in finding.line()


def test_no_node_record_and_a_disabled_boot_login_are_each_reported():
    host, _ = replayed("test2", {
        NODE_SHOW: (21, "", "iscsiadm: No records found\n"),
        **enabled("open-iscsi", "disabled")})
    found = initiators.after_reboot(host, IQN, PORTAL, 3260)
    assert [f.what for f in found] == [
        f"the login to {IQN} at {WHERE} (no node record)",
        "the boot-time iSCSI login (open-iscsi.service disabled)"]
    assert found[1].safe == "`systemctl enable -- open-iscsi`"


def test_rhel_s_iscsi_service_counts_when_open_iscsi_is_not_installed():
    host, _ = replayed("test1", {
        NODE_SHOW: (0, text("iscsiadm-node", "box-automatic"), ""),
        "systemctl is-enabled open-iscsi": (1, "", "Failed to get unit file state for "
                                            "open-iscsi.service: No such file or directory\n"),
        **enabled("iscsi")})
    assert initiators.after_reboot(host, IQN, PORTAL, 3260) == []


def test_on_a_sysv_host_the_runlevel_links_say_whether_a_service_starts_at_boot():
    # CentOS 6 (the article's): no systemctl; chkconfig's links in /etc/rc.d/rc3.d.
    from xenlab.boot import SYSV_STATE, boot_unit, enable_line
    no_systemctl = (127, "", "sh: systemctl: command not found\n")
    host, _ = replayed("test1", {
        "systemctl is-enabled open-iscsi": no_systemctl, "systemctl is-enabled iscsi": no_systemctl,
        SYSV_STATE % ("open-iscsi", "open-iscsi"): (0, "", ""),
        SYSV_STATE % ("iscsi", "iscsi"): (0, "sysv-enabled\n", "")})
    assert boot_unit(host, ("open-iscsi", "iscsi")) == ("iscsi", "sysv-enabled")
    host, _ = replayed("target", {"systemctl is-enabled tgtd": no_systemctl,
                                  SYSV_STATE % ("tgtd", "tgtd"): (0, "sysv-disabled\n", "")})
    assert boot_unit(host, ("tgtd",)) == ("tgtd", "sysv-disabled")
    assert enable_line("tgtd", "sysv-disabled") == "chkconfig tgtd on"


def test_build_makes_a_manual_node_automatic_and_changes_nothing_else():
    host, replay = replayed("test2", {
        "iscsiadm -m session": (0, text("iscsiadm-session", "box-one-session-non-flash"), ""),
        NODE_SHOW: (0, text("iscsiadm-node", "box-manual"), ""),
        f"iscsiadm -m node -T {IQN} -p {WHERE} -o update -n node.startup -v automatic":
            (0, "", ""),
        **enabled("open-iscsi")}, mode="build")
    assert initiators.build(host, IQN, PORTAL, 3260) == [
        f"test2: node {IQN} at {WHERE} logs in at boot (node.startup = automatic)"]
    assert not any(" -l" in c or "discovery" in c for c in replay.sent)


# -- stage 6: the mount --------------------------------------------------------------------

FSTAB_READ = f"test -e /etc/fstab || exit {MISSING_RC}; cat -- /etc/fstab"
ROOT_ONLY = "LABEL=xlroot / ext4 defaults,errors=remount-ro 0 1\n"


def mount_host(fstab: str, **more):
    return replayed("test2", {
        FSTAB_READ: (0, fstab, ""),
        "blkid -p -o value -s UUID -- /dev/sdb1": (0, UUID + "\n", ""),
        f"findfs UUID={UUID}": (0, "/dev/sdb1\n", ""),
        "readlink -f -- /dev/sdb1": (0, "/dev/sdb1\n", ""), **more})


def test_the_built_fstab_line_brings_the_mount_back():
    host, _ = mount_host(text("fstab", "box-built"))
    assert storage.after_reboot(host, "/dev/sdb1", "/scsistore", "ext4") == []


def test_a_mount_typed_by_hand_is_reported_with_the_fstab_line_that_keeps_it():
    host, _ = mount_host(ROOT_ONLY)
    [finding] = storage.after_reboot(host, "/dev/sdb1", "/scsistore", "ext4")
    assert finding.what == "the mount of /dev/sdb1 on /scsistore (not in /etc/fstab)"
    assert finding.safe == (f"`echo 'UUID={UUID} /scsistore ext4 defaults,_netdev 0 0' "
                            ">> /etc/fstab`")


def test_an_fstab_line_without_netdev_or_with_noauto_is_reported():
    host, _ = mount_host(ROOT_ONLY + "/dev/sdb1 /scsistore ext4 noauto 0 0\n")
    found = storage.after_reboot(host, "/dev/sdb1", "/scsistore", "ext4")
    assert [f.what for f in found] == ["the mount on /scsistore (/etc/fstab: noauto)",
                                       "the mount on /scsistore (/etc/fstab without _netdev)"]
    assert "emergency mode" in found[1].why


def test_an_fstab_line_naming_another_filesystem_is_reported():
    other = "0c8e4f7a-1111-2222-3333-444455556666"
    host, _ = mount_host(ROOT_ONLY + f"UUID={other} /scsistore/ ext4 _netdev 0 0\n",
                         **{f"findfs UUID={other}": (1, "", "findfs: unable to resolve "
                                                         f"'UUID={other}'\n")})
    [finding] = storage.after_reboot(host, "/dev/sdb1", "/scsistore", "ext4")
    assert f"mounts UUID={other} there, no such disk" in finding.what
    assert UUID in finding.safe


def test_build_adds_the_fstab_line_only_when_the_mount_point_has_none(monkeypatch):
    # mounted already (testinfra's mount_point is not replayed here)
    monkeypatch.setattr(storage, "mount_of", lambda h, p: storage.Mount("/dev/sdb1", "ext4", ()))
    line = f"UUID={UUID} /scsistore ext4 defaults,_netdev 0 0"
    host, replay = mount_host(ROOT_ONLY, **{f"echo '{line}' >> /etc/fstab": (0, "", "")})
    host.mode = "build"
    assert storage.build_mount(host, "/dev/sdb1", "/scsistore", "ext4") == [
        f"test2: /scsistore in /etc/fstab ({line})"]
    assert replay.sent[-1].endswith(">> /etc/fstab")
    host, replay = mount_host(ROOT_ONLY + "/dev/sdb1 /scsistore ext4 defaults 0 0\n")
    host.mode = "build"
    assert storage.build_mount(host, "/dev/sdb1", "/scsistore", "ext4") == []  # the user's line


# -- stage 5: the bridge -------------------------------------------------------------------

BUILT = parse_network_files(text("network-files", "box-built"))


def test_the_bridge_build_mode_wrote_comes_back():
    assert bridge.bridge_not_persisted(BUILT, "xenbr0", "eth0", "198.51.100.1", 24) is None


@pytest.mark.parametrize("edit, why", [
    (lambda t: t.replace("xenbr0:auto xenbr0", "xenbr0:# auto xenbr0"),
     "ifupdown's iface xenbr0 is not `auto`: the boot's `ifup -a` skips it"),
    (lambda t: t.replace("bridge_ports eth0", "bridge_ports eth1"),
     "ifupdown's iface xenbr0 has bridge_ports eth1"),
    (lambda t: t.replace("198.51.100.1/24", "198.51.100.9/24"),
     "ifupdown's iface xenbr0 has address 198.51.100.9/24"),
    (lambda t: "\n".join(line for line in t.splitlines() if "interfaces.d/xenbr0" not in line),
     "in no network configuration: ifupdown, ifcfg, systemd-networkd, NetworkManager"),
    (lambda t: t.replace("source /etc/network/interfaces.d/*", "# no source"),
     "in no network configuration: ifupdown, ifcfg, systemd-networkd, NetworkManager"),
], ids=["not-auto", "other-port", "other-address", "no-stanza", "not-sourced"])
def test_a_bridge_the_boot_would_not_make_says_why(edit, why):
    files = parse_network_files(edit(text("network-files", "box-built")))
    assert bridge.bridge_not_persisted(files, "xenbr0", "eth0", "198.51.100.1", 24) == why


def test_the_article_s_ifcfg_files_and_netmask_spelling_count():
    # RHEL's network-scripts, as the article writes them (BRIDGE= in ifcfg-eth0).
    files = parse_network_files(
        "/etc/sysconfig/network-scripts/ifcfg-xenbr0:DEVICE=xenbr0\n"
        "/etc/sysconfig/network-scripts/ifcfg-xenbr0:TYPE=Bridge\n"
        "/etc/sysconfig/network-scripts/ifcfg-xenbr0:IPADDR=198.51.100.1\n"
        "/etc/sysconfig/network-scripts/ifcfg-xenbr0:ONBOOT=yes\n"
        "/etc/sysconfig/network-scripts/ifcfg-eth0:DEVICE=eth0\n"
        "/etc/sysconfig/network-scripts/ifcfg-eth0:BRIDGE=\"xenbr0\"\n")
    assert bridge.bridge_not_persisted(files, "xenbr0", "eth0", "198.51.100.1", 24) is None
    files = parse_network_files(text("network-files", "box-built").replace(
        "address 198.51.100.1/24", "address 198.51.100.1\n/etc/network/interfaces.d/xenbr0:"
        "    netmask 255.255.255.0"))
    assert bridge.bridge_not_persisted(files, "xenbr0", "eth0", "198.51.100.1", 24) is None


# -- stage 1: the target -------------------------------------------------------------------

EXPORT = Export(IQN, (ExportedLun(1, "disk", BOX_LUN, 5378310144, "beaf11"),),
                ("198.51.100.0/24",), ())


def test_a_tgt_target_in_conf_d_with_tgt_enabled_comes_back():
    host, _ = replayed("target", {Tgt.CONF_READ: (0, text("tgt-conf", "box-built"), ""),
                                  **enabled("tgt")})
    assert Tgt(host).after_reboot(EXPORT, 1) == []


def test_a_tgt_target_defined_live_only_is_reported_with_its_stanza():
    conf = text("tgt-conf", "box-built").split("<target")[0]
    host, _ = replayed("target", {Tgt.CONF_READ: (0, conf, ""), **enabled("tgt", "disabled")})
    found = Tgt(host).after_reboot(EXPORT, 1)
    assert [f.what for f in found] == [
        f"target {IQN} (defined in the running tgtd only, not in /etc/tgt/targets.conf or "
        "what it includes)", "the tgt service (tgt.service disabled)"]
    assert found[0].safe == (f"`printf '<target {IQN}>\\n    backing-store {BOX_LUN}\\n    "
                             "initiator-address 198.51.100.0/24\\n</target>\\n' > "
                             "/etc/tgt/conf.d/xenlab.conf`")


def test_a_lio_target_saved_with_another_lun_and_a_missing_acl_is_reported():
    saved = text("lio-saveconfig", "box-fileio-acl-no-portal")
    test2 = "iqn.1993-08.org.debian:01:xenlab-test2"
    export = Export(IQN, (ExportedLun(1, "disk", BOX_LUN, 1, "s"),),
                    ("iqn.1993-08.org.debian:01:xenlab-test1", test2), ("x",))
    host, _ = replayed("target", {
        f"test -e {Lio.SAVED} || exit {MISSING_RC}; cat -- {Lio.SAVED}": (0, saved, ""),
        **enabled("rtslib-fb-targetctl")})
    [finding] = Lio(host).after_reboot(export, 1)
    assert finding.what == (f"target {IQN}'s LUN 1 on {BOX_LUN}, ACL {test2} "
                            f"(not in {Lio.SAVED})")
    assert finding.safe.startswith("`targetcli saveconfig`")


def test_a_lio_target_never_saved_is_reported():
    host, _ = replayed("target", {
        f"test -e {Lio.SAVED} || exit {MISSING_RC}; cat -- {Lio.SAVED}": (MISSING_RC, "", ""),
        **enabled("rtslib-fb-targetctl")})
    [finding] = Lio(host).after_reboot(EXPORT, 1)
    assert finding.what.startswith(f"target {IQN} (not in {Lio.SAVED}")


# -- how a finding is reported -------------------------------------------------------------

def test_a_reboot_finding_is_a_warning_and_with_hazards_fail_a_failure():
    finding = RebootFinding("test2", "the login", "no disk", "`iscsiadm ...`")
    with pytest.warns(UserWarning, match="test2: the login would not come back after a "
                      "reboot. Why it matters: no disk. Fix: `iscsiadm ...`."):
        report(finding, fail=False)
    with pytest.raises(LabCheckFailed) as failed:
        report(finding, fail=True)
    assert str(failed.value).startswith("[reboot] test2: the login would not come back")


def _bridge_host(files: str):
    eth0 = (Path(__file__).parent / "replay" / "ip-d-addr-box-test2-eth0.stdout.txt").read_text()
    return replayed("test2", {bridge.NETWORK_FILES: (0, files, ""),
                              "ip -j -d addr show dev eth0": (0, eth0, "")})[0]


def test_a_bridge_made_at_runtime_is_reported_with_the_files_build_mode_writes():
    files = "\n".join(line for line in text("network-files", "box-built").splitlines()
                      if "interfaces.d/xenbr0" not in line) + "\n"
    [finding] = bridge.after_reboot(_bridge_host(files), "xenbr0", "eth0", "198.51.100.2", 24)
    assert finding.what.startswith("bridge xenbr0 with 198.51.100.2/24 (in no network ")
    assert "> /etc/network/interfaces.d/eth0`" in finding.safe
    assert "> /etc/network/interfaces.d/xenbr0`" in finding.safe


def test_the_bridge_fix_never_defines_the_nic_a_second_time():
    # eth0 defined in /etc/network/interfaces itself (as many hand-built hosts have it)
    files = ("/etc/network/interfaces:auto eth0\n"
             "/etc/network/interfaces:iface eth0 inet static\n"
             "/etc/network/interfaces:    address 198.51.100.2/24\n"
             "/etc/network/interfaces:source /etc/network/interfaces.d/*\n")
    [finding] = bridge.after_reboot(_bridge_host(files), "xenbr0", "eth0", "198.51.100.2", 24)
    assert "interfaces.d/eth0" not in finding.safe
    assert "> /etc/network/interfaces.d/xenbr0`" in finding.safe
    assert finding.safe.endswith("and in /etc/network/interfaces, `iface eth0 inet manual` in "
                                 "place of eth0's stanza")


def test_a_lio_target_saved_as_it_runs_comes_back():
    # the box's saveconfig.json as targetcli wrote it, and the export it describes
    saved = text("lio-saveconfig", "box-fileio-acl-no-portal")
    export = Export(IQN, (ExportedLun(1, "disk", "/root/lio.img", 64 << 20, "s"),),
                    ("iqn.1993-08.org.debian:01:xenlab-test1",), ())
    host, _ = replayed("target", {
        f"test -e {Lio.SAVED} || exit {MISSING_RC}; cat -- {Lio.SAVED}": (0, saved, ""),
        **enabled("rtslib-fb-targetctl")})
    assert Lio(host).after_reboot(export, 1) == []


# -- stage 4: the boot loader starts Xen ---------------------------------------------------

def read(path: str, text: str | None) -> dict[str, tuple[int, str, str]]:
    line = f"test -e {path} || exit 66; cat -- {path}"
    return {line: (0, text, "") if text is not None else (66, "", "")}


NO_MENUS = {**read("/boot/grub/grub.cfg", None), **read("/boot/grub2/grub.cfg", None)}
ARTICLE_CONF = text("boot-menu", "article-grub-conf")


def test_the_articles_grub_conf_boots_xen_by_default():
    host, _ = replayed("test1", {**NO_MENUS, **read("/boot/grub/grub.conf", ARTICLE_CONF)})
    assert xen.after_reboot(host) == []


def test_a_grub_conf_defaulting_to_the_plain_kernel_is_reported_with_the_index_of_xen():
    # the article's file as a student leaves it when the distribution's kernel comes first
    conf = ARTICLE_CONF.replace("default=0", "default=1")
    host, _ = replayed("test2", {**NO_MENUS, **read("/boot/grub/grub.conf", conf)})
    [finding] = xen.after_reboot(host)
    assert finding.what == ("Xen (/boot/grub/grub.conf: its default entry 'CentOS 6 "
                            "(2.6.32-504.el6.x86_64)' starts no hypervisor)")
    assert finding.safe == "`sed -i 's/^default=.*/default=0/' /boot/grub/grub.conf`"


def test_a_host_without_a_grub_menu_is_not_judged():
    # the box's hosts are booted by QEMU, with no boot loader on their disks
    host, _ = replayed("test1", {**NO_MENUS, **read("/boot/grub/grub.conf", None)})
    assert xen.after_reboot(host) == []


DEBIAN13 = text("boot-menu", "box-test2-debian13-xen-default")  # test2, upgraded by box upgrade


def test_an_upgraded_hosts_menu_defaulting_to_xen_passes():
    host, _ = replayed("test2", read("/boot/grub/grub.cfg", DEBIAN13))
    assert xen.after_reboot(host) == []


def test_a_default_naming_no_entry_is_reported_with_the_entry_grub_boots_instead():
    # update-grub's menu without GRUB_DISTRIBUTOR (the box's first upgrade; the file is the
    # capture above with the two differences seen then: titles "GNU/Linux...", and the default
    # Debian's xen.cfg names, " GNU/Linux, with Xen hypervisor"): no entry has that title, so
    # GRUB boots the first.
    host, _ = replayed("test2", read("/boot/grub/grub.cfg",
                                     text("boot-menu", "box-test2-no-distributor")))
    [finding] = xen.after_reboot(host)
    assert finding.what == ("Xen (/boot/grub/grub.cfg: its default ' GNU/Linux, with Xen "
                            "hypervisor' names no entry, so GRUB boots the first, 'GNU/Linux' "
                            "starts no hypervisor)")
    assert finding.safe == ("`mkdir -p /etc/default/grub.d && echo 'GRUB_DEFAULT=\"GNU/Linux, "
                            "with Xen hypervisor\"' > /etc/default/grub.d/zz-xen-default.cfg && "
                            "update-grub`")


def test_a_saved_default_is_read_from_grubenv():
    saved = DEBIAN13.replace('set default="Debian GNU/Linux, with Xen hypervisor"',
                             'set default="${saved_entry}"')
    env = "# GRUB Environment Block\nsaved_entry=Debian GNU/Linux\n" + "#" * 40
    host, _ = replayed("test2", {**read("/boot/grub/grub.cfg", saved),
                                 **read("/boot/grub/grubenv", env)})
    [finding] = xen.after_reboot(host)
    assert "its default entry 'Debian GNU/Linux' starts no hypervisor" in finding.what
