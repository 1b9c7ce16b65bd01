"""A local package source for the box's hosts: what an in-place upgrade to another Debian
release needs, downloaded once on this machine with its own apt and cached, keyed like the
image (the VMs have no route to the package mirror).

This machine's apt computes the upgrade as `apt-get full-upgrade` inside a host would: its
dpkg status is the image's (read from the image with debugfs; build mode installs nothing),
its sources the release's archive on the mirror this machine uses. It downloads what the
upgrade installs, and the new release's Xen with everything it depends on. The folder is a
flat repository (a `Packages` index beside the .deb files): a host reads it with
`deb [trusted=yes] URL ./` once the box serves it on the lab network.
"""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from .host import BoxError, Progress, sh
from .image import BaseImage, apt_mirror
from .paths import cache_dir

# What each release adds to a full upgrade: its Xen (Debian has no metapackage that
# moves an installed xen-hypervisor-4.17 to 4.20), and GRUB's update-grub: an upgraded host
# boots the Xen and kernel on its own disk through the menu update-grub writes (see
# bootdisk.py), where the box's hosts were booted by QEMU from files of the image.
# xen-system-amd64 and xen-hypervisor-common as an operator installs Xen on Debian (the
# latter makes Xen GRUB's default entry).
RELEASES = {"trixie": ("xen-system-amd64", "xen-hypervisor-4.20-amd64", "xen-utils-4.20",
                       "xen-hypervisor-common", "grub-common", "grub2-common")}
CLOSURE = ("depends", "--recurse", "--no-recommends", "--no-suggests",
           "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances")


def image_status(image: BaseImage) -> str:
    """The image's dpkg status (its installed packages), read with debugfs: no mount."""
    text = sh(["debugfs", "-R", "cat /var/lib/dpkg/status", str(image.folder / "base.raw")],
              timeout=120).stdout
    if "Package: " not in text:
        raise BoxError(f"image {image.folder}: no dpkg status in base.raw")
    return text


def source_key(release: str, mirror: str, status: str) -> str:
    recipe = "\n".join((release, mirror, *RELEASES[release], status))
    return hashlib.sha256(recipe.encode()).hexdigest()[:16]


def package_source(image: BaseImage, release: str, progress: Progress,
                   mirror: str | None = None) -> Path:
    """The cached package source for upgrading the image's hosts to release; made if
    missing. Returns its folder (a flat repository)."""
    if release not in RELEASES:
        raise BoxError(f"no upgrade to {release!r}: xenlab knows {', '.join(RELEASES)}")
    mirror = mirror or apt_mirror()
    status = image_status(image)
    folder = cache_dir() / "packages" / f"{release}-{source_key(release, mirror, status)}"
    if (folder / "Packages").exists():
        progress(f"packages: cached {folder}")
        return folder
    work = folder.with_name(folder.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    for sub in ("state/lists/partial", "cache/archives/partial", "etc/preferences.d"):
        (work / sub).mkdir(parents=True)
    (work / "status").write_text(status)
    (work / "etc/sources.list").write_text(f"deb {mirror} {release} main\n")
    apt = ["-o", f"Dir::State={work / 'state'}", "-o", f"Dir::State::status={work / 'status'}",
           "-o", f"Dir::Etc::SourceList={work / 'etc/sources.list'}",
           "-o", "Dir::Etc::SourceParts=/dev/null", "-o", "Dir::Etc::Preferences=/dev/null",
           "-o", f"Dir::Etc::PreferencesParts={work / 'etc/preferences.d'}",
           "-o", f"Dir::Cache={work / 'cache'}", "-o", "Debug::NoLocking=1",
           "-o", "APT::Architecture=amd64"]
    progress(f"packages: {release} index from {mirror}")
    sh(["apt-get", *apt, "-q", "update"], timeout=600)
    progress(f"packages: what `apt-get full-upgrade` to {release} installs (download)")
    sh(["apt-get", *apt, "-q", "-y", "--download-only", "full-upgrade"], timeout=3600)
    wanted = RELEASES[release]
    names = _closure(sh(["apt-cache", *apt, *CLOSURE, *wanted], timeout=300).stdout)
    progress(f"packages: {', '.join(wanted)} and their {len(names)} dependencies")
    debs = work / "cache/archives"
    sh(["sh", "-c", 'cd "$1" && shift && apt-get "$@"', "download", str(debs),
        *apt, "-q", "download", *names], timeout=3600)
    for deb in sorted(debs.glob("*.deb")):
        deb.rename(work / deb.name)
    (work / "Packages").write_text(packages_index(sorted(work.glob("*.deb"))))
    shutil.rmtree(work / "cache")
    shutil.rmtree(work / "state")
    shutil.rmtree(folder, ignore_errors=True)
    work.rename(folder)
    count = len(list(folder.glob("*.deb")))
    size = sum(p.stat().st_size for p in folder.glob("*.deb")) // 2**20
    progress(f"packages: ready {folder} ({count} packages, {size} MiB)")
    return folder


def _closure(text: str) -> list[str]:
    """Package names from `apt-cache depends --recurse`: unindented lines, not virtual."""
    return sorted({line.strip() for line in text.splitlines()
                   if line and not line[0].isspace() and not line.startswith("<")})


def packages_index(debs: list[Path]) -> str:
    """A flat repository's Packages index: each .deb's control fields, its file, size and
    SHA256 (what dpkg-scanpackages writes, without needing dpkg-dev)."""
    stanzas = []
    for deb in debs:
        control = sh(["dpkg-deb", "-f", str(deb)], timeout=60).stdout.rstrip("\n")
        digest = hashlib.sha256(deb.read_bytes()).hexdigest()
        stanzas.append(f"{control}\nFilename: ./{deb.name}\nSize: {deb.stat().st_size}\n"
                       f"SHA256: {digest}\n")
    return "\n".join(stanzas)
