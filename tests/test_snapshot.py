"""When the box may resume its saved hosts, and when it must boot them (no VM needed)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from xenlab.box import snapshot
from xenlab.box.image import BaseImage
from xenlab.box.seed import IDENTITIES

needs_qemu = pytest.mark.skipif(not shutil.which("qemu-system-x86_64"),
                                reason="qemu-system-x86_64 not installed (`make setup`)")


def _save_fake_files(folder: Path, key: str) -> None:
    folder.mkdir(parents=True)
    for vm in IDENTITIES:
        for name in snapshot._files(vm):
            (folder / name).write_text("x")
    (folder / "meta.json").write_text(json.dumps({"key": key, "saved": "then"}))


def test_saved_state_is_used_only_when_complete_and_for_the_same_key(tmp_path):
    image = BaseImage(tmp_path / "images" / "aaaa")
    folder = snapshot.snapshot_dir(image, "k1")
    assert snapshot.saved(image, "k1") is None  # nothing saved yet
    _save_fake_files(folder, "k1")
    assert snapshot.saved(image, "k1") == folder
    assert snapshot.saved(image, "k2") is None  # saved for another set-up
    assert snapshot.saved(BaseImage(tmp_path / "images" / "bbbb"), "k1") is None  # other image
    (folder / "meta.json").write_text(json.dumps({"key": "k2"}))
    assert snapshot.saved(image, "k1") is None  # a folder whose meta says otherwise
    (folder / "meta.json").write_text(json.dumps({"key": "k1"}))
    (folder / "test2.state").unlink()
    assert snapshot.saved(image, "k1") is None  # incomplete
    (folder / "meta.json").write_text("{not json")
    assert snapshot.saved(image, "k1") is None
    snapshot.forget(image, "k1")
    assert not folder.exists()


@needs_qemu
def test_the_key_changes_with_what_shapes_the_hosts(tmp_path):
    image = BaseImage(tmp_path / "images" / "aaaa")
    key = snapshot.snapshot_key(image, "ssh-ed25519 AAAA controller")
    assert key == snapshot.snapshot_key(image, "ssh-ed25519 AAAA controller")
    assert key != snapshot.snapshot_key(image, "ssh-ed25519 BBBB controller")
    assert key != snapshot.snapshot_key(BaseImage(tmp_path / "images" / "bbbb"),
                                        "ssh-ed25519 AAAA controller")


def test_a_fresh_state_folder_gets_the_controller_key(tmp_path):
    from xenlab.box.seed import ensure_keypair
    key = tmp_path / "new-state" / "id_ed25519"  # XENLAB_STATE not made yet
    line = ensure_keypair(key, "xenlab-controller")
    assert line.startswith("ssh-ed25519 ") and key.exists()
    assert ensure_keypair(key, "xenlab-controller") == line  # made once


def test_box_ssh_shares_one_connection_per_host_and_down_finds_its_master(monkeypatch, tmp_path):
    monkeypatch.setenv("XENLAB_STATE", str(tmp_path))
    from xenlab.box import lifecycle
    from xenlab.box.seed import identity
    shared = lifecycle.ssh_command(identity("test1"), "true", shared=True)
    assert f"ControlPath={tmp_path}/box/test1.mux" in shared and "ControlMaster=auto" in shared
    assert not [a for a in lifecycle.ssh_command(identity("test1"), "true") if "Control" in a]
    # the titles OpenSSH gives a master: this box's, another box's, a plain client
    assert lifecycle._is_mux_master(f"ssh: {tmp_path}/box/test1.mux [mux]".encode())
    assert lifecycle._is_mux_master(f"ssh: {tmp_path}/box/test1.mux [mux]".encode(), "test1")
    assert not lifecycle._is_mux_master(f"ssh: {tmp_path}/box/test1.mux [mux]".encode(), "test2")
    assert not lifecycle._is_mux_master(b"ssh: /var/lib/other/box/test1.mux [mux]")
    assert not lifecycle._is_mux_master(b"ssh")
