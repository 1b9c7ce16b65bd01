"""Stage 6: the shared filesystem mounted on both hosts, and the busybox guest image on it."""
from __future__ import annotations

import posixpath
from dataclasses import dataclass

from xenlab.checks import Finding, RebootFinding, expect
from xenlab.parsers.boot import FstabEntry, parse_fstab
from xenlab.remote import Host, command_line

# The article's busybox root (after `rm linuxrc; mkdir ...`).
IMAGE_TREE = ("bin", "sbin", "usr", "dev", "proc", "sys", "lib/modules", "etc/rc.d", "boot",
              "mnt", "media", "opt", "misc")
CLUSTER_FS = ("gfs2", "ocfs2")
# Build the guest's root as the article does, from the host's static busybox
# (Debian's busybox-static) instead of compiling busybox 1.22.1.
MAKE_IMAGE = r"""
set -e
img=$1 size_mib=$2 module=$3
dd if=/dev/zero of="$img" bs=1M oflag=direct seek=$((size_mib - 1)) count=1 2>/dev/null
mke2fs -q -F -t ext4 "$img"
m=$(mktemp -d)
mount -o loop "$img" "$m"
trap 'umount "$m"; rmdir "$m"' EXIT
mkdir -p "$m/bin" "$m/sbin" "$m/usr/bin" "$m/usr/sbin"
cp /bin/busybox "$m/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$m/$applet" ] || ln -s /bin/busybox "$m/$applet"
done
rm -f "$m/linuxrc"
(cd "$m" && mkdir -p dev proc sys lib/modules etc/rc.d boot mnt media opt misc)
cp "$module" "$m/lib/modules/"
"""


@dataclass(frozen=True)
class Mount:
    source: str
    fstype: str
    options: tuple[str, ...]

    @property
    def read_write(self) -> bool:
        return "rw" in self.options


def mount_of(host: Host, path: str) -> Mount | None:
    # The kernel's mount table (/proc/mounts, through testinfra's mount_point), not
    # fstab: a mount made by hand, or an fstab line never mounted, is what the guest meets.
    mount = host.testinfra.mount_point(path)
    if not mount.exists:
        return None
    return Mount(mount.device, mount.filesystem, tuple(mount.options))


FSTAB = "/etc/fstab"
# The disk is there only once open-iscsi has logged in: a network filesystem to systemd.
NETDEV = "_netdev"
APPEND_FSTAB = "echo %s >> %s"  # build mode's, and the fix a finding shows


def build_mount(host: Host, partition: str, mountpoint: str, fstype: str) -> list[str]:
    changes = []
    if not mount_of(host, mountpoint):
        host.change("mkdir -p -- %s && mount -- %s %s", mountpoint, partition, mountpoint,
                    timeout=60)
        changes.append(f"{host.name}: mounted {partition} on {mountpoint}")
    if not fstab_entries(host, mountpoint):  # an entry of the user's is never rewritten
        if host.planning and not _has_filesystem(host, partition):
            # planned before stage 3's mkfs: the line names the UUID it will have, read
            # on the host when the command runs
            host.change(APPEND_FSTAB_PROBED, partition,
                        fstab_line("UUID_OF_PARTITION", mountpoint, fstype),
                        FSTAB, timeout=15)
            changes.append(f"{host.name}: {mountpoint} in {FSTAB} (UUID of {partition})")
            return changes
        line = fstab_line(filesystem_uuid(host, partition), mountpoint, fstype)
        host.change(APPEND_FSTAB, line, FSTAB, timeout=15)
        changes.append(f"{host.name}: {mountpoint} in {FSTAB} ({line})")
    return changes


# The fstab line of a filesystem not made yet (a plan on fresh hosts): its UUID probed on
# the host at the time the command runs.
APPEND_FSTAB_PROBED = ('u=$(blkid -p -o value -s UUID -- %s) && test -n "$u" && '
                       'l=%s && echo "${l%%%%UUID_OF_PARTITION*}$u${l#*UUID_OF_PARTITION}" >> %s')


def _has_filesystem(host: Host, partition: str) -> bool:
    return host.run("blkid -p -o value -s UUID -- %s", partition, timeout=15).stdout.strip() != ""


def fstab_line(uuid: str, mountpoint: str, fstype: str) -> str:
    return f"UUID={uuid} {mountpoint} {fstype} defaults,{NETDEV} 0 0"


def fstab_entries(host: Host, mountpoint: str) -> list[FstabEntry]:
    # /etc/fstab: what systemd mounts at boot. The kernel's mount table says what is
    # mounted now, and a mount typed by hand is gone after a reboot.
    wanted = mountpoint.rstrip("/") or "/"
    return [e for e in parse_fstab(host.read_file(FSTAB) or "")
            if (e.target.rstrip("/") or "/") == wanted]


def filesystem_uuid(host: Host, partition: str) -> str:
    """The filesystem's UUID, probed on the disk (`blkid -p`): not udev's database, which a
    host that read the partition table before the disk was formatted keeps stale."""
    result = host.run("blkid -p -o value -s UUID -- %s", partition, timeout=15)
    uuid = result.stdout.strip()
    expect(result.rc == 0 and bool(uuid), host.name, f"a filesystem UUID on {partition}",
           result.one_line() or "none")
    return uuid


def after_reboot(host: Host, partition: str, mountpoint: str, fstype: str) -> list[RebootFinding]:
    """What of the shared mount a reboot would not bring back."""
    why = ("after the reboot the guest's image is not on this host: the guest cannot start "
           "here, and a migration to this host fails")
    entries = fstab_entries(host, mountpoint)
    if not entries:
        line = fstab_line(filesystem_uuid(host, partition), mountpoint, fstype)
        return [RebootFinding(host.name, f"the mount of {partition} on {mountpoint} (not in "
                              f"{FSTAB})", why,
                              f"`{command_line(APPEND_FSTAB, line, FSTAB)}`")]
    entry = entries[-1]  # mount and systemd take the last line for a mount point
    found = []
    source = _source_device(host, entry)
    if source != _resolved(host, partition):
        found.append(RebootFinding(
            host.name, f"the mount of {partition} on {mountpoint} ({FSTAB} mounts "
            f"{entry.source} there{f', which is {source}' if source else ', no such disk'})",
            why, f"name UUID={filesystem_uuid(host, partition)} in {FSTAB}'s line for "
            f"{mountpoint}"))
    if "noauto" in entry.options:
        found.append(RebootFinding(
            host.name, f"the mount on {mountpoint} ({FSTAB}: noauto)", why,
            f"remove noauto from {FSTAB}'s line for {mountpoint}"))
    if NETDEV not in entry.options:
        found.append(RebootFinding(
            host.name, f"the mount on {mountpoint} ({FSTAB} without {NETDEV})",
            "without it systemd mounts the iSCSI disk with the local disks, before open-iscsi "
            "has logged in: the boot waits for the disk, then stops in emergency mode; and at "
            "shutdown the session may end before the filesystem is unmounted",
            f"add {NETDEV} to the options of {FSTAB}'s line for {mountpoint}"))
    return found


def _source_device(host: Host, entry: FstabEntry) -> str | None:
    """The device an fstab source names on this host, read-only: `blkid -p` probes the disks
    for a UUID/LABEL (findfs), a path is resolved; None when nothing matches."""
    tag = entry.source_tag()
    if tag:
        result = host.run("findfs %s", f"{tag[0]}={tag[1]}", ok=(0, 1, 2), timeout=15)
        return _resolved(host, result.stdout.strip()) if result.rc == 0 else None
    return _resolved(host, entry.source) if entry.source.startswith("/") else None


def _resolved(host: Host, path: str) -> str:
    result = host.run("readlink -f -- %s", path, timeout=15)
    return result.stdout.strip() or path


def build_image(source: Host, others: list[Host], image: str, size_mib: int, module: str,
                partition: str, mountpoint: str) -> list[str]:
    """Make the image on the source; let the others see it (ext4 is no cluster filesystem:
    another host's mount shows the file only after a remount)."""
    changes = []
    for host in (source, *others):
        # the image is the shared filesystem's file, not something mounted over its path
        if host.run("findmnt -n -M %s", image, ok=(0, 1), timeout=15).rc == 0:
            host.change("umount -- %s", image, timeout=30)
            changes.append(f"{host.name}: unmounted what was mounted over {image}")
    if source.run("test -s %s", image).rc != 0:
        source.change("sh -c %s xenlab-make-image %s %s %s", MAKE_IMAGE, image, size_mib, module,
                      timeout=300)
        source.change("sync", timeout=120)
        changes.append(f"{source.name}: built {image} ({size_mib} MiB, busybox root)")
    for host in others:
        if host.run("test -s %s", image).rc != 0:
            host.change("umount -- %s && mount -- %s %s", mountpoint, partition, mountpoint,
                        timeout=60)
            changes.append(f"{host.name}: remounted {mountpoint} to see {image}")
    return changes


def check_mount(host: Host, partition: str, mountpoint: str, fstype: str) -> Mount:
    mount = mount_of(host, mountpoint)
    expect(mount is not None, host.name, f"{partition} mounted on {mountpoint}", "not mounted")
    expect(mount.source == partition, host.name, f"{partition} on {mountpoint}", mount.source)
    expect(mount.fstype == fstype, host.name, f"{fstype} on {mountpoint}", mount.fstype)
    return mount


# The image's identity, read-only: its size, then "extents DIGEST" (md5 of its extent
# map - logical and physical block ranges - and of the data in those extents), or
# "md5 DIGEST" of the whole file where filefrag cannot map it. Holes and unwritten
# (preallocated) extents read as zeros, so size + map + data is the whole content; the
# physical ranges also prove that both hosts read the same blocks of the shared disk,
# not a copy. It reads the ~4 MB the image holds instead of 1 GiB (10 s per host
# under TCG).
IMAGE_IDENTITY = r"""img=%s
stat -c %%s -- "$img" || exit 1
map=$(filefrag -v -- "$img" 2>/dev/null) || map=
bs=$(printf '%%s\n' "$map" | sed -n 's/.*blocks of \([0-9]*\) bytes.*/\1/p')
if [ -z "$bs" ]; then echo md5 $(md5sum < "$img" | cut -d' ' -f1); exit 0; fi
ext=$(printf '%%s\n' "$map" | awk '$1 ~ /^[0-9]+:$/ {kind = /unwritten/ ? "zeros" : "data"
  gsub(/\.\.|:/, " "); print $2, $3, $4, $6, kind}')
echo extents $({ printf '%%s\n' "$ext"
  printf '%%s\n' "$ext" | while read first last physical count kind; do
    [ "$kind" = data ] && dd if="$img" bs="$bs" skip="$first" count="$count" 2>/dev/null
  done; } | md5sum | cut -d' ' -f1)"""


def image_identity(host: Host, image: str) -> tuple[int, str]:
    """Size and content digest of the image (IMAGE_IDENTITY): the file's own blocks on the
    shared disk, through this host's mount, not a listing or a cached checksum."""
    result = host.run(IMAGE_IDENTITY, image, timeout=120)
    expect(result.rc == 0, host.name, f"{image} present", result.one_line())
    lines = result.stdout.split("\n")
    expect(len(lines) >= 2 and lines[0].isdigit() and lines[1].count(" ") == 1, host.name,
           f"{image}'s size and digest", result.stdout.strip())
    return int(lines[0]), lines[1]


def check_same_image(identities: dict[str, tuple[int, str]], image: str) -> None:
    first, ident = next(iter(identities.items()))
    for host, other in identities.items():
        expect(other[0] == ident[0], host, f"{image} of {ident[0]} bytes as on {first}", other[0])
        expect(other[1] == ident[1], host, f"{image} with {ident[1]} as on {first} (the same "
               "blocks of the shared disk)", other[1])


def image_tree(host: Host, image: str, module: str) -> None:
    """The image's root holds the busybox tree and the netfront module (read with debugfs:
    read-only, no mount)."""
    paths = (*IMAGE_TREE, "bin/busybox", "bin/sh", f"lib/modules/{posixpath.basename(module)}")
    result = host.run("debugfs -f - -- %s", image, timeout=60,
                      input="".join(f"stat /{p}\n" for p in paths))
    expect(result.rc == 0 and "Inode:" in result.stdout, host.name,
           f"{image} readable as an ext filesystem", result.one_line())
    missing = [p for p in paths if f"/{p}: File not found" in result.stderr]
    expect(not missing, host.name, f"{image} to hold the busybox root", f"missing {missing}")


def hazards(mounts: dict[str, Mount], mountpoint: str) -> list[Finding]:
    rw = [h for h, m in mounts.items() if m.read_write and m.fstype not in CLUSTER_FS]
    if len(rw) < 2:
        return []
    fs = mounts[rw[0]].fstype
    return [Finding(", ".join(rw), f"{fs} on {mountpoint} mounted read-write on {len(rw)} hosts at once",
                    f"{fs} is not a cluster filesystem: each host caches and allocates on its own, "
                    "so files written on one are not seen by the other and the filesystem corrupts",
                    "mount it on one host at a time, or use a cluster filesystem (OCFS2, GFS2), "
                    "or one LUN/LV per guest")]
