"""The boot disk of an upgraded box host: GRUB's first stages, and nothing else.

The box boots its hosts fast by handing QEMU Xen and the dom0 kernel taken out of the image
(`-kernel`, `-initrd`). A host upgraded in place must boot what its package manager installed,
as a server does: the Xen, kernel and initramfs now on its own disk, through the menu
update-grub wrote there (/boot/grub/grub.cfg, with Debian's 20_linux_xen entries and Xen as the
default). QEMU cannot load GRUB with `-kernel` (GRUB's i386 image carries only a multiboot2
header, past the 8 KiB QEMU searches), and the hosts' root filesystem fills its disk, with no
room for GRUB. So the upgraded host gets a small disk of its own, first in the BIOS boot order,
holding GRUB's boot sector and core image, as a BIOS boot partition would. The core image's
only configuration finds the root filesystem by its label and reads the host's own grub.cfg.

The core image is made here, once, with grub-mkimage from this machine's Debian release's
grub-pc-bin and grub-common packages, downloaded and unpacked into the cache (not installed).
It holds every module a Debian grub.cfg asks for on a BIOS machine, since the host has no
GRUB modules of its own on disk (it has grub-common for update-grub, not grub-pc).
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from .host import BoxError, Progress, sh
from .image import ROOT_LABEL
from .paths import cache_dir

PACKAGES = ("grub-pc-bin", "grub-common")
MODULES = ("biosdisk", "part_msdos", "part_gpt", "ext2", "fat", "multiboot2", "multiboot",
           "linux", "gzio", "xzio", "lzopio", "zstd", "serial", "terminal", "echo", "normal",
           "configfile", "search", "search_label", "search_fs_uuid", "search_fs_file", "test",
           "loadenv", "ls", "cat", "sleep", "halt", "reboot", "minicmd", "true", "regexp",
           "probe", "gettext", "extcmd", "boot", "video", "all_video", "font", "gfxterm")
# The core image's own configuration: the host's root filesystem, then its grub.cfg.
EMBEDDED = f"""serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
search --no-floppy --label --set=root {ROOT_LABEL}
set prefix=($root)/boot/grub
if [ -f /boot/grub/grub.cfg ]; then
  configfile /boot/grub/grub.cfg
fi
echo "xenlab boot disk: no /boot/grub/grub.cfg on the filesystem labelled {ROOT_LABEL} (run update-grub on the host)"
"""
SIZE = 4 * 2**20
SECTOR = 512


def boot_disk(progress: Progress) -> Path:
    """The cached boot disk image (raw, 4 MiB), made if missing."""
    tools = _grub_tools(progress)
    recipe = "\n".join((*MODULES, EMBEDDED, *(p.name for p in sorted(tools.glob("*.deb")))))
    path = cache_dir() / "bootdisk" / f"grub-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}.raw"
    if path.exists():
        return path
    progress("bootdisk: grub-mkimage (i386-pc core image)")
    work = path.with_suffix(".building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    (work / "embed.cfg").write_text(EMBEDDED)
    lib = tools / "root/usr/lib/grub/i386-pc"
    sh([str(tools / "root/usr/bin/grub-mkimage"), "-d", str(lib), "-O", "i386-pc",
        "-o", str(work / "core.img"), "-c", str(work / "embed.cfg"),
        "-p", "/boot/grub", *MODULES], timeout=120)
    boot = (lib / "boot.img").read_bytes()
    core = (work / "core.img").read_bytes()
    if len(boot) != SECTOR or SECTOR + len(core) > SIZE:
        raise BoxError(f"bootdisk: unexpected sizes (boot.img {len(boot)}, core.img {len(core)})")
    # boot.img loads the sector after it (its default kernel sector, 1); core.img's first
    # sector (diskboot) loads the rest from the sectors that follow (its default blocklist).
    image = boot + core
    path.write_bytes(image + bytes(SIZE - len(image)))
    shutil.rmtree(work)
    progress(f"bootdisk: ready {path}")
    return path


def _grub_tools(progress: Progress) -> Path:
    """grub-pc-bin and grub-common of this machine's release, unpacked into the cache."""
    folder = cache_dir() / "bootdisk" / "grub"
    if (folder / "root/usr/bin/grub-mkimage").exists():
        return folder
    progress(f"bootdisk: apt-get download {' '.join(PACKAGES)} (unpacked, not installed)")
    work = folder.with_name("grub.building")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    proc = sh(["sh", "-c", 'cd "$1" && shift && apt-get -q download "$@"', "download",
               str(work), *PACKAGES], timeout=600, check=False)
    if proc.returncode:
        raise BoxError(f"bootdisk: apt-get download {' '.join(PACKAGES)} failed "
                       f"(run `apt-get update`?): {(proc.stderr or proc.stdout).strip()[-200:]}")
    for deb in sorted(work.glob("*.deb")):
        sh(["dpkg-deb", "-x", str(deb), str(work / "root")], timeout=120)
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    return folder
