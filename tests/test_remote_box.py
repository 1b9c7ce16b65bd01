"""Labs reached the way Ansible reaches them, on the lab-in-a-box: behind a jump host, and
logged in as a user who becomes root with sudo.

Runs after tests/test_lab_box.py built the lab (alphabetical order, like
test_packaging.py). The Xen hosts are addressed by their lab addresses (198.51.100.x),
which exist only inside the box's network namespace (this machine has an unreachable
route for them while the box is up): only the target's SSH gets there, as to a class's
lab machines behind a bastion. The become users are made for the module on every VM
and removed after it.
"""
from __future__ import annotations

import re
import socket
import subprocess
import time
from pathlib import Path

import pytest

from xenlab.inventory import load_lab
from xenlab.remote import Host

from .boxkit import box_ssh, by_stage, need_root, outcomes, suite

pytestmark = [pytest.mark.box, pytest.mark.skipif(bool(need_root()), reason=str(need_root()))]

VMS = ("target", "test1", "test2")
NOPASSWD_USER = "xlstudent"  # sudo without a password, as most lab images have it
PASSWORD_USER = "xlteacher"  # sudo asks for the user's password
PASSWORD = "teach-pw-42"
SUDOERS = "/etc/sudoers.d/xenlab-test"


def hosts_of(text: str) -> dict[str, dict[str, str]]:
    """Host lines of the box inventory: name -> its key=value words."""
    found = {}
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if name in VMS and "ansible_port=" in rest:
            found[name] = dict(word.split("=", 1) for word in rest.split())
    return found


@pytest.fixture(scope="module")
def users():
    """Two users on every VM, logging in with the box's key: one with NOPASSWD sudo, one
    whose sudo asks for its password."""
    make = (f"set -e; for u in {NOPASSWD_USER} {PASSWORD_USER}; do "
            f"id -u $u >/dev/null 2>&1 || useradd -m -s /bin/sh $u; "
            f"install -d -m 700 -o $u -g $u /home/$u/.ssh; "
            f"install -m 600 -o $u -g $u /root/.ssh/authorized_keys /home/$u/.ssh/; done; "
            f"echo '{PASSWORD_USER}:{PASSWORD}' | chpasswd; "
            f"printf '%s\\n' '{NOPASSWD_USER} ALL=(ALL) NOPASSWD: ALL' "
            f"'{PASSWORD_USER} ALL=(ALL) ALL' > {SUDOERS}; chmod 440 {SUDOERS}; visudo -c")
    for vm in VMS:
        made = box_ssh(vm, make)
        assert made.returncode == 0, f"{vm}: {made.stdout[-1000:]} {made.stderr[-1000:]}"
    yield
    for vm in VMS:
        box_ssh(vm, f"rm -f {SUDOERS}; userdel -r {NOPASSWD_USER}; userdel -r {PASSWORD_USER}")


def as_user(box_inventory: Path, tmp_path: Path, user: str, *extra: str) -> Path:
    """The box inventory, logging in as `user` with `extra` vars for every host."""
    text = box_inventory.read_text().replace("ansible_user=root", f"ansible_user={user}")
    path = tmp_path / f"{user}.ini"
    path.write_text(text + "".join(f"{line}\n" for line in extra))
    return path


def behind_the_target(box_inventory: Path, tmp_path: Path) -> Path:
    """The box inventory as a lab behind a bastion: test1 and test2 at their lab addresses,
    port 22, reached with `-J` through the target's SSH; their host keys under those
    addresses in the lab's known_hosts."""
    text = box_inventory.read_text()
    hosts = hosts_of(text)
    known = Path(re.search(r"^xenlab_known_hosts=(.+)$", text, re.M).group(1))
    entries = known.read_text().splitlines()
    port_of = {f"[127.0.0.1]:{h['ansible_port']}": h["lab_ip"] for h in hosts.values()}
    lab_known = tmp_path / "known_hosts"
    lab_known.write_text("\n".join(entries + [
        f"{port_of[e.split()[0]]} {' '.join(e.split()[1:])}" for e in entries
        if e.split() and e.split()[0] in port_of]) + "\n")
    jump = f"root@127.0.0.1:{hosts['target']['ansible_port']}"
    lines = []
    for line in text.replace(str(known), str(lab_known)).splitlines():
        name = line.partition(" ")[0]
        if name in ("test1", "test2"):
            vm = hosts[name]
            line = (f"{name} ansible_host={vm['lab_ip']} ansible_port=22 lab_ip={vm['lab_ip']} "
                    f"migration_role={vm['migration_role']} ansible_ssh_common_args="
                    f"'-o UserKnownHostsFile={lab_known} -J {jump}'")
        lines.append(line)
    path = tmp_path / "jump.ini"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(inventory: Path, tmp_path: Path, *args: str):
    proc = suite(inventory, *args, junit=tmp_path / "junit.xml")
    return outcomes(tmp_path / "junit.xml"), proc.stdout + proc.stderr


def test_a_lab_behind_a_jump_host_passes_verify(box_inventory, tmp_path):
    inventory = behind_the_target(box_inventory, tmp_path)
    lab = load_lab(inventory)
    # This machine has no way to the lab addresses (the box makes them unreachable here:
    # checked first, so that the attempt below cannot leave by the default route) ...
    route = subprocess.run(["ip", "route", "show", "type", "unreachable", "198.51.100.0/24"],
                           capture_output=True, text=True).stdout
    assert route.strip(), "the box left the lab network routable from this machine"
    for spec in lab.xen_hosts:
        with pytest.raises(OSError, match="No route to host"):
            socket.create_connection((spec.address, 22), timeout=3).close()
    for spec in lab.xen_hosts:  # ... each Xen host sees its SSH client at the target's address
        host = Host(spec)
        client = host.check("echo $SSH_CONNECTION").stdout.split()
        host.close()
        assert spec.proxy_jump and spec.address == spec.lab_ip
        assert client[0] == lab.target.lab_ip and client[2:] == [spec.lab_ip, "22"], client
    results, out = run(inventory, tmp_path, "-m", "not migration")
    failed = [f"{r.name}: {r.message}" for r in results if r.status != "passed"]
    assert not failed and re.search(r"\b8 passed\b", out), out[-4000:]


def test_a_jump_host_that_cannot_reach_a_lab_host_says_so_in_one_line(box_inventory, tmp_path):
    inventory = behind_the_target(box_inventory, tmp_path)
    broken = inventory.read_text().replace("test2 ansible_host=198.51.100.", "test2 "
                                           "ansible_host=198.51.100.2", 1)
    inventory.write_text(broken)  # test2 at .2X: no such lab host
    results, out = run(inventory, tmp_path, "-m", "stage4_xen")
    failure = next(r.message for r in results if r.status == "failed")
    assert re.search(r"test2 \(198\.51\.100\.2\d:22 via root@127\.0\.0\.1:\d+\): the jump host "
                     r"127\.0\.0\.1:\d+ could not connect to 198\.51\.100\.2\d:22", failure), out[-3000:]


def test_a_user_who_becomes_root_with_sudo_passes_verify(box_inventory, tmp_path, users):
    inventory = as_user(box_inventory, tmp_path, NOPASSWD_USER, "[lab:vars]",
                        "ansible_become=true")
    results, out = run(inventory, tmp_path, "-m", "not migration")
    failed = [f"{r.name}: {r.message}" for r in results if r.status != "passed"]
    assert not failed and re.search(r"\b8 passed\b", out), out[-4000:]


def test_the_same_user_without_become_fails_where_root_is_needed(box_inventory, tmp_path,
                                                                users):
    inventory = as_user(box_inventory, tmp_path, NOPASSWD_USER)
    results, out = run(inventory, tmp_path, "-m", "stage1_target or stage4_xen")
    assert by_stage(results)[1] == {"failed"} and by_stage(results)[4] == {"failed"}, out[-3000:]


def test_become_with_a_password_reads_the_lab_and_a_wrong_one_is_one_line(box_inventory,
                                                                         tmp_path, users):
    good = as_user(box_inventory, tmp_path, PASSWORD_USER, "[lab:vars]", "ansible_become=true",
                   f"ansible_become_password={PASSWORD}")
    results, out = run(good, tmp_path, "-m", "stage1_target or stage4_xen")
    assert {r.status for r in results} == {"passed"} and len(results) == 2, out[-3000:]
    assert PASSWORD not in out and PASSWORD not in (tmp_path / "junit.xml").read_text()
    wrong = good.read_text().replace(f"ansible_become_password={PASSWORD}",
                                     "ansible_become_password=not-the-pw")
    good.write_text(wrong)
    results, out = run(good, tmp_path, "-m", "stage1_target")
    failure = next(r.message for r in results if r.status == "failed")
    assert re.search(r"target \(127\.0\.0\.1:\d+\): cannot become root with sudo as xlteacher: "
                     r".*incorrect password", failure), out[-3000:]


def test_a_console_under_sudo_with_a_password_never_shows_it(box_inventory, tmp_path, users):
    """Stage 9 types into `xl console` on a PTY: under sudo with a password, the password
    goes in while the PTY does not echo, and the command runs as root."""
    inventory = as_user(box_inventory, tmp_path, PASSWORD_USER, "[lab:vars]",
                        "ansible_become=true", f"ansible_become_password={PASSWORD}")
    test1 = Host(load_lab(inventory).source)
    pty = test1.open_pty("echo uid=$(id -u) $((40+2)); sleep 2")
    seen, deadline = b"", time.monotonic() + 30
    while b"42" not in seen and time.monotonic() < deadline:
        if pty.recv_ready():
            seen += pty.recv(4096)
        else:
            time.sleep(0.05)
    pty.close()
    test1.close()
    assert b"uid=0 42" in seen and PASSWORD.encode() not in seen, seen
