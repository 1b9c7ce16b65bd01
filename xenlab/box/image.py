"""The box's Debian 12 base image: built once by debootstrap, cached by recipe hash.

One image serves the three hosts. The iSCSI target boots its Linux kernel
directly; the Xen hosts boot Xen (multiboot) with the same kernel as a PV dom0.
Per-host identity (hostname, machine-id, SSH host keys, iSCSI InitiatorName,
lab address) is not in the image: each VM gets it from a small seed disk
(see seed.py), so that hosts booted from one image stay distinct.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from .host import BoxError, Progress, sh
from .paths import cache_dir

SUITE = "bookworm"
# tgt and targetcli-fb: the target host can serve the LUN with either (box up --target).
# dbus: targetcli asks the system bus for tcmu-runner's backstores and fails without one.
PACKAGES = (
    "linux-image-amd64", "initramfs-tools", "kmod", "udev", "systemd-sysv",
    "xen-hypervisor-4.17-amd64", "xen-utils-4.17",
    "openssh-server", "open-iscsi", "tgt", "targetcli-fb", "dbus",
    "sudo",  # for inventories that log in as a user and become root (ansible_become)
    "bridge-utils", "iproute2", "ifupdown", "netbase", "iputils-ping",
    "busybox-static", "e2fsprogs", "fdisk", "procps", "util-linux",
)
# Modules the initramfs loads early. The dom0 kernel boots from virtio-scsi;
# the same kernel and initramfs boot the busybox PV guest from xvda (as in the
# article, where the guest uses dom0's kernel and initramfs), so xen-blkfront
# and ext4 must be there too. virtio_net is there so that the NICs exist before
# udev's coldplug, and networking need not wait for it to settle (ifupdown-pre,
# 8 s under TCG). xen-netfront stays out on purpose: the article
# loads it by hand in the guest (insmod /lib/modules/xen-netfront.ko).
INITRAMFS_MODULES = (
    "virtio_pci", "virtio_scsi", "virtio_blk", "virtio_net", "sd_mod", "crc32c_generic",
    "crc16", "mbcache", "jbd2", "ext4", "xen-blkfront",
)
IMAGE_SIZE = "3G"
ROOT_LABEL = "xlroot"

# Runs inside the chroot after debootstrap; part of the recipe hash.
CONFIGURE = r"""
set -eu
export DEBIAN_FRONTEND=noninteractive
echo 'LABEL=xlroot / ext4 defaults,errors=remount-ro 0 1' > /etc/fstab
printf 'MODULES=list\nCOMPRESS=gzip\n' > /etc/initramfs-tools/conf.d/xenlab
printf '%s\n' $INITRAMFS_MODULES > /etc/initramfs-tools/modules
update-initramfs -u -k all >/dev/null
# Identity comes from the seed disk; the image has none of its own.
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /var/lib/dbus/machine-id
rm -f /etc/iscsi/initiatorname.iscsi
# Starting state of the article: software installed, lab not configured.
systemctl disable tgt.service >/dev/null 2>&1 || true
systemctl mask xendomains.service apt-daily.timer apt-daily-upgrade.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer >/dev/null 2>&1 || true
# Boot time under TCG: no udev settle before networking (the NICs' driver is
# in the initramfs), no gettys on tty2-6 (there is no screen).
systemctl mask ifupdown-pre.service getty-static.service >/dev/null 2>&1 || true
# Serial/Xen consoles log in as root: `box console NAME` is for students.
for tty in hvc0 ttyS0; do
  mkdir -p /etc/systemd/system/serial-getty@$tty.service.d
  printf '[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin root --keep-baud 115200,57600,38400,9600 %%I $TERM\n' \
    > /etc/systemd/system/serial-getty@$tty.service.d/autologin.conf
done
cat > /usr/local/sbin/xenlab-seed <<'EOS'
#!/bin/sh
# First boot: unpack this host's identity from the seed disk (a tar on /dev/vda).
set -e
[ -e /etc/xenlab-seeded ] && exit 0
tar -xf /dev/vda -C /
hostname "$(cat /etc/hostname)"
touch /etc/xenlab-seeded
EOS
chmod 755 /usr/local/sbin/xenlab-seed
cat > /etc/systemd/system/xenlab-seed.service <<'EOS'
[Unit]
Description=xenlab: this host's identity from the seed disk
DefaultDependencies=no
After=local-fs.target
Before=network-pre.target networking.service ssh.service iscsid.service open-iscsi.service sysinit.target
Wants=network-pre.target
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/xenlab-seed
RemainAfterExit=yes
[Install]
WantedBy=sysinit.target
EOS
systemctl enable xenlab-seed.service >/dev/null 2>&1
printf 'auto lo\niface lo inet loopback\n\nsource /etc/network/interfaces.d/*\n' > /etc/network/interfaces
# networking.service would wait for interfaces that never come; keep boot short, but
# not so short that a loaded machine fails it: ifup's hooks took 12-20 s per restart
# under TCG with the host's two cores busy, and 30 s left a host without its NICs.
mkdir -p /etc/systemd/system/networking.service.d
printf '[Service]\nTimeoutStartSec=120\n' > /etc/systemd/system/networking.service.d/xenlab.conf
apt-get clean
rm -rf /var/lib/apt/lists/*
"""


@dataclass(frozen=True)
class BaseImage:
    """Files of one built image, all inside one cache folder."""

    folder: Path

    disk = property(lambda self: self.folder / "base.raw")
    kernel = property(lambda self: self.folder / "vmlinuz")
    initrd = property(lambda self: self.folder / "initrd.img")
    xen = property(lambda self: self.folder / "xen.bin")

    @property
    def meta(self) -> dict:
        return json.loads((self.folder / "meta.json").read_text())

    def ready(self) -> bool:
        return (self.folder / "meta.json").exists()


def recipe_hash() -> str:
    recipe = {"suite": SUITE, "packages": PACKAGES, "modules": INITRAMFS_MODULES,
              "size": IMAGE_SIZE, "configure": CONFIGURE, "label": ROOT_LABEL}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def apt_mirror(sources: tuple[Path, ...] = (Path("/etc/apt/sources.list"),
                                            Path("/etc/apt/sources.list.d"))) -> str:
    """The Debian mirror this machine's apt sources name (one-line list or deb822)."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(source.glob("*.list")) + sorted(source.glob("*.sources"))
        elif source.exists():
            files.append(source)
    for path in files:
        mirror = mirror_from_sources(path.read_text(errors="replace"))
        if mirror:
            return mirror
    raise BoxError("no Debian mirror found in /etc/apt/sources.list{,.d}: "
                   "name one with XENLAB_MIRROR=URL")


def mirror_from_sources(text: str) -> str | None:
    """First main-archive URI (not -security, not -updates) of an apt sources file."""
    for line in text.splitlines():
        m = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", line)
        if m and "security" not in m.group(2) and "-" not in m.group(2):
            return m.group(1)
    for stanza in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, flags=re.M))
        suites = fields.get("Suites", "").split()
        if "deb" in fields.get("Types", "").split() and fields.get("URIs") and any(
                "-" not in s for s in suites):
            return fields["URIs"].split()[0]
    return None


def ensure_image(progress: Progress, mirror: str | None = None) -> BaseImage:
    """The cached image for the current recipe, built if missing."""
    image = BaseImage(cache_dir() / "images" / recipe_hash())
    if image.ready():
        progress(f"image: cached {image.folder}")
        return image
    build(image, mirror or apt_mirror(), progress)
    return image


def build(image: BaseImage, mirror: str, progress: Progress) -> None:
    work = image.folder.with_name(image.folder.name + ".building")
    if work.exists():
        _umount_all(work / "root")
        shutil.rmtree(work)
    root = work / "root"
    root.mkdir(parents=True)
    debs = cache_dir() / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    progress(f"image: debootstrap {SUITE} from {mirror} (about 90 s)")
    sh(["debootstrap", "--variant=minbase", f"--cache-dir={debs}",
        "--include=" + ",".join(PACKAGES), SUITE, str(root), mirror], timeout=1200)
    progress("image: configuring (initramfs, services, seed hook)")
    try:
        for fs, target in (("proc", "proc"), ("sysfs", "sys")):
            sh(["mount", "-t", fs, fs, str(root / target)])
        sh(["mount", "--bind", "/dev", str(root / "dev")])
        script = CONFIGURE.replace("$INITRAMFS_MODULES", " ".join(INITRAMFS_MODULES))
        sh(["chroot", str(root), "/bin/sh", "-c", script], timeout=600)
    finally:
        _umount_all(root)
    boot = root / "boot"
    kernels = sorted(boot.glob("vmlinuz-*"))
    xens = sorted(boot.glob("xen-4.17*.gz"))
    if len(kernels) != 1 or not xens:
        raise BoxError(f"image: expected one kernel and Xen 4.17 in /boot, found "
                       f"{[p.name for p in boot.iterdir()]}")
    version = kernels[0].name.removeprefix("vmlinuz-")
    shutil.copy(kernels[0], work / "vmlinuz")
    shutil.copy(boot / f"initrd.img-{version}", work / "initrd.img")
    # QEMU's multiboot loader takes Xen only uncompressed.
    (work / "xen.bin").write_bytes(gzip.decompress(xens[0].read_bytes()))
    progress(f"image: mkfs.ext4 -d ({IMAGE_SIZE}, kernel {version})")
    sh(["mkfs.ext4", "-q", "-F", "-L", ROOT_LABEL, "-d", str(root),
        str(work / "base.raw"), IMAGE_SIZE], timeout=600)
    meta = {"recipe": recipe_hash(), "kernel_version": version,
            "xen_file": xens[0].name, "mirror": mirror}
    (work / "meta.json").write_text(json.dumps(meta, indent=1))
    shutil.rmtree(root)
    if image.folder.exists():
        shutil.rmtree(image.folder)
    work.rename(image.folder)
    progress(f"image: ready {image.folder}")


def _umount_all(root: Path) -> None:
    for target in ("dev", "sys", "proc"):
        mnt = root / target
        if mnt.exists():
            sh(["umount", "-l", str(mnt)], check=False)
