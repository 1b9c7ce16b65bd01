"""QEMU command lines and the lab network namespace of the box.

The lab network (198.51.100.0/24) lives only on a bridge inside the network
namespace NETNS. QEMU itself runs in the root namespace, so that its
user-mode management NIC can forward 127.0.0.1:<port> to each VM's sshd;
its lab NIC is a tap that we open *inside* the namespace and hand to QEMU
as a file descriptor. Building xenbr0 on the lab NIC never cuts SSH.
"""
from __future__ import annotations

import ctypes
import fcntl
import os
import shlex
import struct
from pathlib import Path

from .host import BoxError, sh
from .image import BaseImage
from .paths import BRIDGE, NETNS, PREFIX
from .seed import LAB_NET, LAB_PREFIX, VmIdentity

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000

XEN_ARGS = ("console=com1 com1=115200,8n1 dom0_mem={mem}M,max:{mem}M dom0_max_vcpus=1 "
            "dom0_vcpus_pin noreboot spec-ctrl=no xpti=false bootscrub=false")
# mitigations=off: speculative-execution defences cost a lot under TCG and buy
# nothing in a throwaway VM on the controller.
LINUX_ARGS = "root=LABEL=xlroot ro quiet mitigations=off fsck.mode=skip net.ifnames=0 systemd.machine_id={mid} systemd.hostname={name}"
DOM0_MEM_MIB = 768
XEN_HOST_MEM_MIB = 1536
TARGET_MEM_MIB = 384
# The article's LUN: /dev/sda3, 5378310144 bytes.
DATA_DISK_BYTES = 5378310144


# In the root namespace, while the box is up: the lab network is unreachable from this
# machine, so that nothing here can send a packet for a lab address out of the default
# route (the lab exists only inside NETNS and the VMs).
LAB_ROUTE = ("unreachable", f"{LAB_NET}.0/{LAB_PREFIX}")


def create_network() -> None:
    sh(["ip", "route", "replace", *LAB_ROUTE])
    sh(["ip", "netns", "add", NETNS])
    sh(["ip", "-n", NETNS, "link", "set", "lo", "up"])
    sh(["ip", "-n", NETNS, "link", "add", BRIDGE, "type", "bridge"])
    sh(["ip", "-n", NETNS, "link", "set", BRIDGE, "up"])


def delete_network() -> None:
    """Delete the namespace (its bridge and taps go with it), stray links, and the
    unreachable route for the lab network."""
    if sh(["ip", "route", "show", "type", LAB_ROUTE[0], LAB_ROUTE[1]], check=False).stdout.strip():
        sh(["ip", "route", "del", *LAB_ROUTE], check=False)
    names = sh(["ip", "netns", "list"], check=False).stdout.split()
    for name in names:
        if name.startswith(PREFIX + "-"):
            sh(["ip", "netns", "delete", name], check=False)
    for line in sh(["ip", "-o", "link", "show"], check=False).stdout.splitlines():
        parts = line.split(":")
        if len(parts) > 1 and parts[1].strip().split("@")[0].startswith(PREFIX + "-"):
            sh(["ip", "link", "delete", parts[1].strip().split("@")[0]], check=False)


def open_tap(name: str) -> int:
    """Create tap `name` inside NETNS, attach it to the bridge; return its fd.

    The tap is not persistent: it disappears when QEMU (the last holder of
    the fd) exits.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    root_ns = os.open("/proc/self/ns/net", os.O_RDONLY)
    lab_ns = os.open(f"/run/netns/{NETNS}", os.O_RDONLY)
    try:
        if libc.setns(lab_ns, CLONE_NEWNET) != 0:
            raise BoxError(f"setns {NETNS}: {os.strerror(ctypes.get_errno())}")
        try:
            fd = os.open("/dev/net/tun", os.O_RDWR)
            fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
        finally:
            if libc.setns(root_ns, CLONE_NEWNET) != 0:
                raise BoxError("setns back to the root namespace failed")
    finally:
        os.close(root_ns)
        os.close(lab_ns)
    os.set_inheritable(fd, True)
    sh(["ip", "-n", NETNS, "link", "set", name, "master", BRIDGE, "up"])
    return fd


def make_overlay(backing: Path, backing_format: str, path: Path) -> None:
    """A qcow2 overlay at path over backing (the base image, raw; or a saved host's qcow2)."""
    sh(["qemu-img", "create", "-q", "-f", "qcow2", "-F", backing_format, "-b", str(backing),
        str(path)])


def make_data_disk(path: Path) -> None:
    sh(["qemu-img", "create", "-q", "-f", "raw", str(path), str(DATA_DISK_BYTES)])


def qemu_command(vm: VmIdentity, image: BaseImage, run: Path, tap_fd: int,
                 incoming: Path | None = None, boot_disk: Path | None = None) -> list[str]:
    """The QEMU command line of one host (Xen host, or the plain-Linux target).

    With `incoming` (a state file saved by snapshot.save), QEMU loads the saved
    machine instead of booting it, and waits paused for `cont`. With `boot_disk`
    (bootdisk.py), the host boots from its own disk through GRUB instead of from the
    image's Xen and kernel.
    """
    linux = LINUX_ARGS.format(mid=vm.machine_id, name=vm.name)
    cmd = ["qemu-system-x86_64", "-name", f"{PREFIX}-{vm.name}", "-machine", "pc",
           "-accel", "tcg,tb-size=256", "-smp", "1", "-display", "none",
           "-no-user-config", "-nodefaults", "-vga", "none"]
    root_boot = ""
    if boot_disk is not None:
        cmd += ["-m", str(TARGET_MEM_MIB if vm.name == "target" else XEN_HOST_MEM_MIB),
                "-drive", f"file={boot_disk},if=none,id=boot,format=raw,readonly=on",
                "-device", "virtio-blk-pci,drive=boot,addr=0x8,bootindex=0"]
        root_boot = ",bootindex=1"
    elif vm.name == "target":
        cmd += ["-m", str(TARGET_MEM_MIB), "-kernel", str(image.kernel),
                "-initrd", str(image.initrd), "-append", f"{linux} console=ttyS0"]
    else:
        dom0 = f"{image.kernel} {linux} console=hvc0".replace(",", ",,")
        cmd += ["-m", str(XEN_HOST_MEM_MIB), "-kernel", str(image.xen),
                "-append", XEN_ARGS.format(mem=DOM0_MEM_MIB),
                "-initrd", f"{dom0},{image.initrd}"]
    cmd += ["-device", "virtio-scsi-pci,id=scsi0,addr=0x4",
            "-drive", f"file={run / (vm.name + '.qcow2')},if=none,id=root,format=qcow2,cache=unsafe,discard=unmap",
            "-device", f"scsi-hd,drive=root,bus=scsi0.0,scsi-id=0,lun=0{root_boot}"]
    if vm.name == "target":
        cmd += ["-drive", f"file={run / 'lun.raw'},if=none,id=data,format=raw,cache=unsafe",
                "-device", "scsi-hd,drive=data,bus=scsi0.0,scsi-id=1,lun=0,serial=xenlab-lun"]
    cmd += ["-netdev", f"tap,id=lab,fd={tap_fd}",
            "-device", f"virtio-net-pci,netdev=lab,mac={vm.mac(0)},addr=0x5",
            "-netdev", f"user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:{vm.ssh_port}-:22",
            "-device", f"virtio-net-pci,netdev=mgmt,mac={vm.mac(1)},addr=0x6",
            "-drive", f"file={run / (vm.name + '.seed.tar')},if=none,id=seed,format=raw,readonly=on",
            "-device", "virtio-blk-pci,drive=seed,addr=0x7",
            "-chardev", f"socket,id=ser0,path={run / (vm.name + '.console')},server=on,wait=off,"
                        f"logfile={run / (vm.name + '.log')},logappend=on",
            "-serial", "chardev:ser0",
            "-qmp", f"unix:{run / (vm.name + '.qmp')},server=on,wait=off"]
    if incoming is not None:
        cmd += ["-incoming", f"exec:cat {shlex.quote(str(incoming))}"]
    return cmd
