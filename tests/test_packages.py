"""The local package source for an in-place upgrade of the box's hosts (xenlab.box.packages):
made with this machine's apt from the image's dpkg status, and complete: apt, given only
this source and the image's installed packages, can run the whole upgrade."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from xenlab.box.host import Progress
from xenlab.box.image import ensure_image
from xenlab.box.packages import _closure, image_status, package_source, source_key

# `apt-cache depends --recurse --no-recommends ... xen-utils-4.20` on this machine
# against trixie (the first lines).
DEPENDS = """xen-utils-4.20
  Depends: libc6
  Depends: libxenmisc4.20
  Depends: <python3:any>
    python3
  Depends: python3
  Depends: xen-utils-common
libc6
  Depends: libgcc-s1
<python3:any>
libxenmisc4.20
  Depends: libc6
"""


def test_the_closure_is_every_real_package_apt_cache_named_once():
    assert _closure(DEPENDS) == ["libc6", "libxenmisc4.20", "xen-utils-4.20"]


def test_the_source_is_keyed_by_release_mirror_and_installed_packages():
    key = source_key("trixie", "http://mirror/debian", "Package: a\n")
    assert key == source_key("trixie", "http://mirror/debian", "Package: a\n")
    assert key != source_key("trixie", "http://mirror/debian", "Package: b\n")
    assert key != source_key("trixie", "http://other/debian", "Package: a\n")


@pytest.mark.box
@pytest.mark.skipif(os.geteuid() != 0, reason="the box's image needs root")
def test_the_upgrade_and_xen_4_20_install_from_the_source_alone(tmp_path):
    image = ensure_image(Progress())
    source = package_source(image, "trixie", Progress())
    assert (source / "Packages").read_text().count("Package: ") == len(list(source.glob("*.deb")))
    # apt as a host would run it: the image's installed packages, this source alone.
    (tmp_path / "status").write_text(image_status(image))
    (tmp_path / "sources.list").write_text(f"deb [trusted=yes] file:{source} ./\n")
    for sub in ("state/lists/partial", "cache/archives/partial", "prefs"):
        (tmp_path / sub).mkdir(parents=True)
    apt = ["-o", f"Dir::State={tmp_path / 'state'}",
           "-o", f"Dir::State::status={tmp_path / 'status'}",
           "-o", f"Dir::Etc::SourceList={tmp_path / 'sources.list'}",
           "-o", "Dir::Etc::SourceParts=/dev/null", "-o", "Dir::Etc::Preferences=/dev/null",
           "-o", f"Dir::Etc::PreferencesParts={tmp_path / 'prefs'}",
           "-o", f"Dir::Cache={tmp_path / 'cache'}", "-o", "Debug::NoLocking=1"]

    def apt_get(*words: str) -> str:
        proc = subprocess.run(["apt-get", *apt, *words], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, f"apt-get {' '.join(words)}: {proc.stdout[-1500:]}{proc.stderr[-1500:]}"
        return proc.stdout

    apt_get("update")
    upgrade = apt_get("-s", "full-upgrade")
    assert "Inst linux-image-6.12" in upgrade and "Inst open-iscsi " in upgrade, upgrade[-2000:]
    # Xen 4.20 after the upgrade: apt resolves it from the source alone.
    installed = apt_get("-s", "install", "xen-hypervisor-4.20-amd64", "xen-utils-4.20")
    assert "Inst xen-hypervisor-4.20-amd64" in installed and "Inst xen-utils-4.20" in installed
    assert Path(source).name.startswith("trixie-")
