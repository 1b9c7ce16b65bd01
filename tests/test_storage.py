"""Stage 6: the guest image's identity, on this machine's own files (no lab)."""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

import pytest


def _identity(path) -> tuple[int, str]:
    from xenlab.inventory import HostSpec
    from xenlab.remote import Host
    from xenlab.stages.storage import image_identity

    return image_identity(Host(HostSpec("test1", "local")), str(path))


def _image(path, data: bytes, at: int) -> None:
    with open(path, "wb") as f:  # 8 MiB, sparse but for `data` at offset `at`
        f.truncate(8 << 20)
        f.seek(at)
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def test_the_image_identity_maps_extents_and_hashes_only_their_data(tmp_path):
    image = tmp_path / "busybox.img"
    _image(image, b"busybox root" * 1000, 1 << 20)
    size, digest = _identity(image)
    assert size == 8 << 20 and digest.startswith("extents ")
    assert _identity(image) == (size, digest)  # read twice: the same
    with open(image, "r+b") as f:  # one byte changed in the data: another digest
        f.seek((1 << 20) + 5)
        f.write(b"X")
        f.flush()
        os.fsync(f.fileno())
    assert _identity(image)[1] != digest
    copy = tmp_path / "copy.img"  # the same bytes in other blocks: not the same image
    subprocess.run(["cp", "--sparse=always", image, copy], check=True)
    assert _identity(copy)[0] == size and _identity(copy)[1] != _identity(image)[1]


def test_where_filefrag_cannot_map_the_image_its_whole_content_is_hashed(tmp_path):
    shm = Path("/dev/shm")  # tmpfs: no FIEMAP
    if not shm.is_dir():
        pytest.skip("no /dev/shm here")
    image = shm / f"xenlab-test-{os.getpid()}.img"
    try:
        _image(image, b"one", 4096)
        first = _identity(image)
        _image(image, b"two", 4096)
        assert first[1].startswith("md5 ") and _identity(image)[1] != first[1]
        assert first[1] == "md5 " + hashlib.md5(image.read_bytes().replace(b"two", b"one")
                                                ).hexdigest()
    finally:
        image.unlink(missing_ok=True)
