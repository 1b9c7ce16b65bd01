"""The in-place upgrade of a box host (xenlab.box.upgrade, bootdisk, serve): the parts that
need no box. The upgrade itself runs on the box (bench/upgrade.py, tests/test_upgrade_box.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from xenlab.box.bootdisk import EMBEDDED, MODULES
from xenlab.box.image import BaseImage, ROOT_LABEL
from xenlab.box.seed import IDENTITIES
from xenlab.box.upgrade import apt_progress, grub_settings

# apt-get full-upgrade on test2 of the box, Debian 12 -> 13 (box upgrade, captured)
CAPTURE = Path(__file__).parent / "captures" / "apt-full-upgrade.txt"
# test1 of the box, before any upgrade (`cat /proc/cmdline`, `xl info xen_commandline`).
LINUX = ("root=LABEL=xlroot ro quiet mitigations=off fsck.mode=skip net.ifnames=0 "
         "systemd.machine_id=cfb8ef2ffaf526c14d67c12724d95d21 systemd.hostname=test1 "
         "console=hvc0")
XEN = ("console=com1 com1=115200,8n1 dom0_mem=768M,max:768M dom0_max_vcpus=1 "
       "dom0_vcpus_pin noreboot spec-ctrl=no xpti=false bootscrub=false")


def _setting(text: str, key: str) -> str:
    values = [line.split("=", 1)[1] for line in text.splitlines() if line.startswith(key + "=")]
    assert len(values) == 1, text
    return values[0]


def test_grub_keeps_the_arguments_the_host_runs_with_but_not_those_its_entries_set():
    settings = grub_settings(LINUX, XEN)
    # update-grub's entries set root= (by UUID) and ro themselves.
    assert _setting(settings, "GRUB_CMDLINE_LINUX") == (
        "'quiet mitigations=off fsck.mode=skip net.ifnames=0 "
        "systemd.machine_id=cfb8ef2ffaf526c14d67c12724d95d21 systemd.hostname=test1 "
        "console=hvc0'")
    assert _setting(settings, "GRUB_CMDLINE_XEN") == f"'{XEN}'"
    assert _setting(settings, "GRUB_TIMEOUT") == "0"
    assert "serial" in _setting(settings, "GRUB_TERMINAL")


def test_grub_drops_a_loaders_path_and_grubs_own_placeholder():
    settings = grub_settings("/boot/vmlinuz-6.12 root=UUID=x ro console=hvc0",
                             "placeholder dom0_mem=768M")
    assert _setting(settings, "GRUB_CMDLINE_LINUX") == "console=hvc0"
    assert _setting(settings, "GRUB_CMDLINE_XEN") == "dom0_mem=768M"


def test_empty_arguments_give_empty_settings_not_a_broken_file():
    settings = grub_settings("", "")
    assert _setting(settings, "GRUB_CMDLINE_LINUX") == "''"
    assert _setting(settings, "GRUB_CMDLINE_XEN") == "''"


def test_apt_progress_counts_packages_from_the_hosts_own_output():
    text = CAPTURE.read_text()
    line = apt_progress(text)
    unpacked = sum(1 for t in text.splitlines() if t.startswith("Unpacking "))
    set_up = sum(1 for t in text.splitlines() if t.startswith("Setting up "))
    assert unpacked > 100 and set_up > 100
    assert line.startswith(f"{unpacked} unpacked, {set_up} set up; ")
    assert apt_progress("") == "0 unpacked, 0 set up; no output yet"


def test_the_boot_disk_reads_the_hosts_own_menu_from_its_root_filesystem():
    assert f"--label --set=root {ROOT_LABEL}" in EMBEDDED
    assert "configfile /boot/grub/grub.cfg" in EMBEDDED
    # what Debian's grub.cfg for Xen on a BIOS machine needs, without modules on the host
    for module in ("multiboot2", "gzio", "ext2", "search_fs_uuid", "serial", "linux"):
        assert module in MODULES


@pytest.mark.parametrize("name", ["target", "test1", "test2"])
def test_a_host_booted_from_disk_gets_no_kernel_from_qemu(name, tmp_path):
    from xenlab.box.vm import qemu_command
    vm = next(v for v in IDENTITIES if v.name == name)
    image = BaseImage(tmp_path)
    kernel = qemu_command(vm, image, tmp_path, 9)
    disk = qemu_command(vm, image, tmp_path, 9, boot_disk=tmp_path / "boot.raw")
    assert "-kernel" in kernel and "-kernel" not in disk and "-initrd" not in disk
    assert any("bootindex=0" in a and "drive=boot" in a for a in disk)
    assert any(a.startswith("scsi-hd,drive=root") and a.endswith("bootindex=1") for a in disk)
    assert disk[disk.index("-m") + 1] == kernel[kernel.index("-m") + 1]
