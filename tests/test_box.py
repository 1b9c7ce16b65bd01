"""The lab-in-a-box: up, what it looks like, down, nothing left (real QEMU, real Xen)."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest

from xenlab.box import lifecycle
from xenlab.box.paths import NETNS, PREFIX

from .boxkit import box, box_ssh, need_root

pytestmark = [pytest.mark.box, pytest.mark.skipif(bool(need_root()), reason=str(need_root()))]


def _links_with_prefix() -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if f" {PREFIX}-" in line]


def _lab_route() -> str:
    return subprocess.run(["ip", "route", "show", "type", "unreachable", "198.51.100.0/24"],
                          capture_output=True, text=True).stdout.strip()


def _check_starting_state() -> None:
    """Xen 4.17 + dom0 on test1/test2, tgt on the target, the lab network, nothing configured."""
    for host in ("test1", "test2"):
        info = box_ssh(host, "xl info; xl list")
        assert info.returncode == 0, f"{host}: xl info failed: {info.stderr}"
        assert re.search(r"^xen_major\s*:\s*4$", info.stdout, re.M), info.stdout
        assert re.search(r"^xen_minor\s*:\s*17$", info.stdout, re.M), info.stdout
        assert re.search(r"^Domain-0\s+0\s", info.stdout, re.M), info.stdout
        assert box_ssh(host, "command -v iscsiadm").returncode == 0
    # The target is plain Linux: tgt installed, no hypervisor under it.
    assert box_ssh("target", "command -v tgtadm && ! test -e /proc/xen/capabilities").returncode == 0

    # The hosts reach each other on the lab network (198.51.100.0/24, inside the box).
    for host, peer in (("test1", "198.51.100.2"), ("test2", "198.51.100.3"),
                       ("target", "198.51.100.1")):
        ping = box_ssh(host, f"ping -c 1 -W 3 {peer}")
        assert ping.returncode == 0, f"{host} -> {peer}: {ping.stdout}{ping.stderr}"

    # Nothing of the lab is configured yet: the article's starting state.
    assert box_ssh("target", "tgtadm --lld iscsi -m target -o show").returncode != 0  # no tgtd
    for host in ("test1", "test2"):
        assert box_ssh(host, "iscsiadm -m session").returncode == 21  # no session
        assert box_ssh(host, "test -e /sys/class/net/xenbr0").returncode != 0
        assert box_ssh(host, "test -e /scsistore").returncode != 0
        assert box_ssh(host, "test -e /etc/xen/busybox").returncode != 0
        listing = box_ssh(host, "xl list").stdout
        assert "busybox" not in listing
    # Each host has its own identity although all boot one image.
    ids = {h: box_ssh(h, "cat /etc/machine-id /etc/iscsi/initiatorname.iscsi").stdout
           for h in ("target", "test1", "test2")}
    assert len(set(ids.values())) == 3, ids
    # No lab address in the root namespace.
    root_addrs = subprocess.run(["ip", "-o", "addr"], capture_output=True, text=True).stdout
    assert "198.51.100." not in root_addrs
    # ... and no way to it from here: nothing can leave by the default route for it.
    assert _lab_route(), "no unreachable route for the lab network while the box is up"


def test_box_up_gives_the_articles_starting_state_and_down_leaves_nothing():
    # Fresh hosts as `make test` gets them: resumed as saved after their boot when this
    # image's boot is saved, else booted and saved (the boot path is taken below anyway,
    # when a saved state does not load: one boot of ~4 min under TCG, not two).
    up = box("reset")
    assert up.returncode == 0, f"box reset failed: {up.stderr[-2000:]}"
    inventory = up.stdout.strip().splitlines()[-1]
    assert inventory.endswith("inventory.ini"), f"last stdout line is not the inventory: {up.stdout!r}"
    assert "answers over SSH" in up.stderr  # progress was shown
    assert ("box: resuming target, test1, test2" in up.stderr
            or ("box: booting" in up.stderr and "saved the booted hosts" in up.stderr)), up.stderr
    saved_at = time.time()
    text = open(inventory).read()
    for group in ("[iscsi_target]", "[xen_hosts]", "migration_role=source",
                  "migration_role=destination", "ansible_ssh_private_key_file="):
        assert group in text

    # `box up` on a running box returns at once with the same inventory.
    again = box("up", timeout=60)
    assert again.returncode == 0 and again.stdout.strip().splitlines()[-1] == inventory

    _check_starting_state()
    # `box ssh` shares one connection per host: its masters are the box's processes.
    masters = [pid for pid in lifecycle.box_processes()
               if b"[mux]" in Path(f"/proc/{pid}/cmdline").read_bytes()]
    assert len(masters) == 3, masters
    # Something of the lab on a host: the next hosts must not have it.
    assert box_ssh("test1", "mkdir /scsistore").returncode == 0

    # A crashed run (its supervisor killed, QEMUs orphaned) is cleaned up by the next
    # `up`, which resumes the hosts as saved after their boot.
    crashed = lifecycle.read_status()
    os.kill(crashed.supervisor, signal.SIGKILL)
    assert "partly running" in box("status").stdout
    again = box("up")
    assert again.returncode == 0, again.stderr[-2000:]
    assert "cleanup: killing leftover box process" in again.stderr
    assert "box: resuming target, test1, test2" in again.stderr, again.stderr
    assert "box: booting" not in again.stderr, again.stderr
    fresh = lifecycle.read_status()
    assert fresh.running and fresh.resumed
    assert not set(fresh.vms.values()) & set(crashed.vms.values())
    assert "resumed as saved after boot" in box("status").stdout
    # The saved clock stood still while the checks above ran; each host's clock is
    # right again (from its RTC), so logs and the migrated guest's time agree.
    assert time.time() - saved_at > 10, "too little time passed to tell a stale clock"
    for host in ("target", "test1", "test2"):
        before = time.time()
        seen = float(box_ssh(host, "date +%s.%N").stdout)
        assert before - 1 <= seen <= time.time() + 1, f"{host}: clock {seen:.1f}, controller {before:.1f}"
    _check_starting_state()  # fresh hosts: /scsistore made before the crash is gone

    # A saved state that does not load: `up` says so, boots, and saves anew.
    state = Path(fresh.resumed) / "test1.state"
    with state.open("r+b") as f:
        f.truncate(state.stat().st_size // 2)
    broken = box("reset")
    assert broken.returncode == 0, broken.stderr[-2000:]
    assert "resuming the saved hosts failed (test1: " in broken.stderr, broken.stderr
    assert "box: booting" in broken.stderr and "saved the booted hosts" in broken.stderr
    assert not lifecycle.read_status().resumed
    assert box_ssh("test1", "xl list").returncode == 0

    down = box("down", timeout=120)
    assert down.returncode == 0, down.stderr
    assert lifecycle.box_processes() == [], "box processes left after down"
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert NETNS not in netns
    assert _links_with_prefix() == []
    assert _lab_route() == ""
    assert "box: down" in box("status").stdout
