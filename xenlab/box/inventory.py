"""The box's Ansible INI inventory: the shipped inventory's groups and variables, box values."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from .image import BaseImage
from .seed import GUEST_OCTET, IDENTITIES, LAB_NET, LAB_PREFIX

ROLE = {"test1": "source", "test2": "destination"}
TARGETS = ("tgt", "lio")  # the target software the box's target host serves the LUN with
TARGET_VAR = "iscsi_target_software"


def lab_vars(image: BaseImage) -> dict[str, str]:
    """Lab variables for the box: the article's lab, scaled to QEMU under TCG."""
    kver = image.meta["kernel_version"]
    return {
        "lab_prefix": str(LAB_PREFIX),
        "iscsi_iqn": "iqn.2015-02.com.stu31:t1",
        "iscsi_port": "3260",
        "iscsi_lun": "1",
        # the target's spare data disk (the article's /dev/sda3, same size)
        "iscsi_backing_store": "/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_xenlab-lun",
        "iscsi_initiator_address": f"{LAB_NET}.0/{LAB_PREFIX}",
        "shared_disk": "/dev/sdb",
        "shared_partition": "/dev/sdb1",
        "shared_partition_size_mib": "2048",
        "shared_partition_type": "83",
        "shared_fstype": "ext4",
        "dom0_mem_mib": "768",
        "bridge": "xenbr0",
        "bridge_port": "eth0",
        "shared_mount": "/scsistore",
        "guest_image": "/scsistore/busybox.img",
        "guest_image_size_mib": "1024",
        "guest_name": "busybox",
        "guest_config": "/etc/xen/busybox",
        "guest_kernel": f"/boot/vmlinuz-{kver}",
        "guest_ramdisk": f"/boot/initrd.img-{kver}",
        "guest_netfront_module": f"/lib/modules/{kver}/kernel/drivers/net/xen-netfront.ko",
        # 512 MB as in the article would copy 3x slower under TCG; Debian's
        # kernel with its 9 MB initramfs runs out of memory at 128 MB.
        "guest_memory_mib": "192",
        "guest_vcpus": "1",
        "guest_root": "/dev/xvda ro",
        "guest_extra": "selinux=0 init=/bin/sh",
        "guest_ip": f"{LAB_NET}.{GUEST_OCTET}",
        "relocation_port": "8002",
        "relocation_hosts_allow": "''",
        # QEMU TCG: the vif/vbd hotplug scripts alone take ~5 s; measured gaps
        # 7-10 s alone, up to 17.5 s beside a second box, on a machine whose TCG ran
        # dom0-to-dom0 SSH at ~9 MB/s; 25.9 and 31.7 s on one where it ran at ~1 MB/s
        # (2026-11-30, same QEMU command lines). Real hardware: ~1 s. The limit is the
        # box's, for the slowest of these machines; a migration that is not live (no
        # reply after it, a reboot) fails whatever the limit.
        "migration_downtime_max_s": "60",
    }


def render(image: BaseImage, key: Path, known_hosts: Path) -> str:
    lines = ["# Written by `python -m xenlab box up`: the lab-in-a-box.", ""]
    for group, names in (("iscsi_target", ("target",)), ("xen_hosts", ("test1", "test2"))):
        lines.append(f"[{group}]")
        for vm in IDENTITIES:
            if vm.name in names:
                role = f" migration_role={ROLE[vm.name]}" if vm.name in ROLE else ""
                lines.append(f"{vm.name} ansible_host=127.0.0.1 ansible_port={vm.ssh_port} "
                             f"lab_ip={vm.lab_ip}{role}")
        lines.append("")
    lines += ["[lab:children]", "iscsi_target", "xen_hosts", "", "[lab:vars]",
              "ansible_user=root", f"ansible_ssh_private_key_file={key}",
              f"ansible_ssh_common_args='-o UserKnownHostsFile={known_hosts}'",
              f"xenlab_known_hosts={known_hosts}", "xenlab_box=true"]
    lines += [f"{k}={v}" for k, v in lab_vars(image).items()]
    return "\n".join(lines) + "\n"


def write_inventory(path: Path, image: BaseImage, key: Path, known_hosts: Path) -> Path:
    path.write_text(render(image, key, known_hosts))
    return path


def with_target(text: str, target: str) -> str:
    """The inventory naming the target software build mode sets up: tgt (the article's,
    found by detection: no variable) or LIO (`iscsi_target_software=lio`, what an operator
    writes for a host with both installed; its ACLs name the Xen hosts' initiator names,
    read from each host's /etc/iscsi/initiatorname.iscsi)."""
    if target not in TARGETS:
        raise ValueError(f"target software {target!r}: one of {', '.join(TARGETS)}")
    lines = [line for line in text.splitlines() if not line.startswith(f"{TARGET_VAR}=")]
    if target != "tgt":
        lines.append(f"{TARGET_VAR}={target}")
    return "\n".join(lines) + "\n"


def target_of(text: str) -> str:
    """The target software a box inventory names (tgt when none)."""
    return next((line.split("=", 1)[1].strip() for line in text.splitlines()
                 if line.startswith(f"{TARGET_VAR}=")), "tgt")


def class_inventory(box_text: str, names: Sequence[str]) -> str:
    """The box's inventory as a class of labs (class mode on one machine).

    Each lab lists the same three VMs under its own host names (`<lab>_target`,
    `<lab>_test1`, `<lab>_test2`) and is a child group of `labs`. The labs share
    the VMs: run such a class in verify mode without the migration (`-m "not
    migration"`); only reads are safe concurrently.
    """
    out: list[str] = []
    section = ""
    members: dict[str, list[str]] = {name: [] for name in names}
    for line in box_text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            section = stripped.strip("[]")
        if section in ("iscsi_target", "xen_hosts") and stripped and stripped[0] not in "[#;":
            host, _, rest = stripped.partition(" ")
            for name in names:
                out.append(f"{name}_{host} {rest}")
                members[name].append(f"{name}_{host}")
        else:
            out.append(line)
    for name, hosts in members.items():
        out += ["", f"[{name}]", *hosts]
    out += ["", "[labs:children]", *names]
    return "\n".join(out) + "\n"
