"""Stage 7 on the article's real /etc/xen/busybox (tests/data/guest-config): the same file on
both hosts, the inventory's name and memory, every path it names present, the MAC hazard."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.inventory import HostSpec, load_lab
from xenlab.parsers import parse_guest_config
from xenlab.remote import Host
from xenlab.stages import guestconfig

from .replaykit import replayed

ROOT = Path(__file__).parent.parent
ARTICLE = (Path(__file__).parent / "data" / "guest-config" / "article-busybox.txt").read_text()
PATH = "/etc/xen/busybox"
READ = f"test -e {PATH} || exit 66; cat -- {PATH}"


def test_the_articles_file_on_both_hosts_holds_the_inventorys_values():
    texts, configs = {}, {}
    for name in ("test1", "test2"):
        texts[name], configs[name] = guestconfig.read_config(
            replayed(name, {READ: (0, ARTICLE, "")})[0], PATH)
    guestconfig.check_identical(configs, PATH)
    guestconfig.check_values(replayed("test1", {})[0], configs["test1"],
                             load_lab(ROOT / "inventory.ini").values)


def test_a_file_edited_on_one_host_fails_with_the_first_difference():
    edited = parse_guest_config(ARTICLE.replace('memory = "512"', 'memory = "256"'))
    with pytest.raises(LabCheckFailed) as failed:
        guestconfig.check_identical({"test1": parse_guest_config(ARTICLE), "test2": edited}, PATH)
    assert str(failed.value) == ("test2: expected /etc/xen/busybox identical to test1's; saw "
                                 "memory = 256 where 512")
    last_line_gone = parse_guest_config(ARTICLE.rsplit("on_shutdown", 1)[0])  # the box's fault
    with pytest.raises(LabCheckFailed, match="saw on_shutdown = \\(unset\\) where destroy$"):
        guestconfig.check_identical({"test1": parse_guest_config(ARTICLE),
                                     "test2": last_line_gone}, PATH)


# A student's file: xl's modern disk syntax, a fixed MAC, an option and a comment of theirs,
# other spacing and quotes; it says what the inventory says.
STUDENTS = """# busybox guest (lab 3)
kernel = '/boot/vmlinuz-2.6.32-504.el6.x86_64'
ramdisk = '/boot/initramfs-2.6.32-504.el6.x86_64.img'
name = 'busybox'
memory = 512
vcpus = 1
disk = ['format=raw, vdev=xvda, access=rw, target=/scsistore/busybox.img']
root = '/dev/xvda ro'
extra = 'selinux=0 init=/bin/sh'
vif = ['mac=00:16:3e:4a:00:04, bridge=xenbr0']
on_crash = 'destroy'
on_reboot = 'destroy'
on_shutdown = 'destroy'
localtime = 1
"""


def test_the_same_settings_in_other_spellings_are_the_same_configuration():
    guestconfig.check_identical({"test1": parse_guest_config(ARTICLE),
                                 "test2": parse_guest_config(ARTICLE.replace(",]", "]")
                                                             .replace('"512"', "512"))}, PATH)
    values = load_lab(ROOT / "inventory.ini").values
    assert guestconfig.differences(parse_guest_config(STUDENTS),
                                   parse_guest_config(guestconfig.render(values))) == []


def test_build_leaves_a_file_that_says_the_same_and_edits_only_what_differs():
    values = load_lab(ROOT / "inventory.ini").values
    read = f"test -e {PATH} || exit 66; cat -- {PATH}"
    same, sent = replayed("test1", {read: (0, STUDENTS, "")}, mode="build")
    assert guestconfig.build(same, PATH, values) == [] and sent.sent == [read]
    other = replace(values, bridge="xenbr1", guest_memory_mib=256)
    write = f"cat > {PATH} && chmod 644 {PATH}"
    host, sent = replayed("test1", {read: (0, STUDENTS, ""), write: (0, "", "")}, mode="build")
    assert guestconfig.build(host, PATH, other) == [
        "test1: /etc/xen/busybox: set memory, vif as the inventory says (the rest of the file "
        "kept)"]
    written = guestconfig.edited(STUDENTS, parse_guest_config(STUDENTS), ["memory", "vif"],
                                 other)
    assert "# busybox guest (lab 3)" in written and "localtime = 1" in written
    assert "vif = ['mac=00:16:3e:4a:00:04, bridge=xenbr1']" in written
    assert 'memory = "256"' in written and "memory = 512" not in written
    assert guestconfig.differences(parse_guest_config(written),
                                   parse_guest_config(guestconfig.render(other))) == []


def test_a_missing_file_fails():
    host = replayed("test2", {READ: (66, "", "")})[0]
    with pytest.raises(LabCheckFailed, match="^test2: expected guest configuration "
                                             "/etc/xen/busybox; saw no such file$"):
        guestconfig.read_config(host, PATH)


def test_other_memory_than_the_inventorys_fails():
    box_values = load_lab(ROOT / "inventory.ini").values
    with pytest.raises(LabCheckFailed, match=r"^test1: expected memory 192 MiB; saw 512$"):
        guestconfig.check_values(replayed("test1", {})[0], parse_guest_config(ARTICLE),
                                 replace(box_values, guest_memory_mib=192))


def test_what_build_mode_writes_reads_back_as_the_inventorys_values():
    values = load_lab(ROOT / "inventory.ini").values
    config = parse_guest_config(guestconfig.render(values))
    guestconfig.check_values(replayed("test1", {})[0], config, values)
    assert guestconfig.named_paths(config) == guestconfig.named_paths(parse_guest_config(ARTICLE))


def test_every_path_the_file_names_must_exist_on_the_host(tmp_path):
    kernel, image = tmp_path / "vmlinuz", tmp_path / "busybox.img"
    kernel.write_text("")
    config = parse_guest_config(f'kernel = "{kernel}"\nname = "busybox"\n'
                                f"disk = ['file:{image},xvda,w']\n")
    host = Host(HostSpec("test1", "local"))
    with pytest.raises(LabCheckFailed, match=f"^test1: expected every path the guest "
                                             f"configuration names; saw missing \\['{image}'\\]$"):
        guestconfig.check_paths(host, config)
    image.write_text("")
    guestconfig.check_paths(host, config)


def test_a_vif_without_a_fixed_mac_is_a_hazard():
    found = guestconfig.hazards(replayed("test1", {})[0], parse_guest_config(ARTICLE), PATH)
    assert [f.what for f in found] == ["/etc/xen/busybox: vif 'bridge=xenbr0' has no fixed mac="]


def test_build_refuses_to_replace_a_file_it_cannot_read():
    read = f"test -e {PATH} || exit 66; cat -- {PATH}"
    host, sent = replayed("test1", {read: (0, "kernel = /boot/vmlinuz\n", "")}, mode="build")
    with pytest.raises(LabCheckFailed, match="^test1: expected /etc/xen/busybox readable as a "
                                             "guest configuration .*; saw parse_guest_config: not a key = value "
                                             "file"):
        guestconfig.build(host, PATH, load_lab(ROOT / "inventory.ini").values)
    assert sent.sent == [read]  # nothing written
