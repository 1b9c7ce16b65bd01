"""Helpers for the tests that run on the lab-in-a-box (marked `box`)."""
from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xenlab.stagelist import STAGES

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Outcome:
    stage: int
    name: str
    status: str  # passed, failed, skipped
    message: str
    seconds: float = 0.0


def outcomes(junit: Path) -> list[Outcome]:
    """Each test of a suite run, from its JUnit XML: stage, name, status, message, time."""
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "")
        stage = next((s.number for s in STAGES if f"test_{s.number:02d}_" in module), 0)
        status, message = "passed", ""
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                status = "skipped" if tag == "skipped" else "failed"
                message = node.get("message", "")
        found.append(Outcome(stage, case.get("name", ""), status, message,
                             float(case.get("time", 0))))
    return found


def by_stage(results: list[Outcome]) -> dict[int, set[str]]:
    """stage -> the statuses its tests ended with."""
    stages: dict[int, set[str]] = {}
    for r in results:
        stages.setdefault(r.stage, set()).add(r.status)
    return stages


def box(*verb: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m xenlab box VERB`, as a user runs it; stderr shows progress."""
    return subprocess.run([sys.executable, "-m", "xenlab", "box", *verb], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def box_ssh(name: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return box("ssh", name, command, timeout=timeout)


def need_root() -> str | None:
    return None if os.geteuid() == 0 else "the lab-in-a-box needs root (QEMU taps, namespaces)"


def suite(inventory: Path, *args: str, junit: Path, timeout: float = 1500
          ) -> subprocess.CompletedProcess:
    """The acceptance suite against a lab, as `pytest --inventory=...` from the top."""
    return subprocess.run(_suite_command(inventory, args, junit), cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def _suite_command(inventory: Path, args: tuple[str, ...], junit: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", f"--inventory={inventory}", f"--junitxml={junit}",
            "-p", "no:cacheprovider", "-q", "-rA", *args]


@contextlib.contextmanager
def subprocess_suite(inventory: Path, *args: str, junit: Path, timeout: float = 1500):
    """suite() started in the background: the with-block acts on the lab while it runs; the
    run is awaited at the block's end (killed after `timeout`), its output in
    proc.stdout_text."""
    proc = subprocess.Popen(_suite_command(inventory, args, junit), cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield proc
    finally:
        try:
            proc.stdout_text, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.stdout_text, _ = proc.communicate()


# What a verify run must leave as it found it, per host: one shell command per part,
# its output normalised where a live migration legitimately changes it (domain IDs,
# hence vif names; run times).
STATE_PARTS = {
    "etc": "find /etc/xen /etc/iscsi /etc/tgt /etc/network /etc/fstab /etc/ssh/sshd_config "
           "/root/.ssh -type f 2>/dev/null | sort | xargs -r md5sum",
    # name, size, mtime, ctime (any write to a file moves its ctime), inode, blocks
    "scsistore": "if mountpoint -q /scsistore; then "
                 "stat -c '%n %s %Y %Z %i %b' /scsistore/* /scsistore; fi",
    "iscsi": "iscsiadm -m session 2>&1",
    "mounts": "findmnt -rn -t ext4,ext3,ext2,xfs,btrfs,ocfs2,gfs2 -o TARGET,SOURCE,FSTYPE,OPTIONS",
    "domains": "command -v xl >/dev/null && xl list | awk 'NR > 1 {print $1, $3, $4}'",
    "links": "ip -br link | awk '{print $1, $3}' | sort",
    "addresses": "ip -br addr | sort",
    "bridges": "bridge link 2>/dev/null | sort",
    "listening": "ss -Htln | awk '{print $4}' | sort -u",
    "target": "command -v tgtadm >/dev/null && tgtadm --lld iscsi -m target -o show",
}


def _normalised(text: str) -> str:
    text = re.sub(r"^\d+: ", "", text, flags=re.M)  # interface indexes (a new vif: a new one)
    return re.sub(r"\bvif\d+\.\d+", "vifN.N", text)


def state_digest(names: tuple[str, ...] = ("target", "test1", "test2")) -> dict[str, str]:
    """host/part -> what it showed; a part that fails shows its error, so it still compares."""
    script = "".join(f"echo '@@{part}'; {{ {cmd}; }} 2>&1\n" for part, cmd in STATE_PARTS.items())
    with ThreadPoolExecutor(len(names)) as pool:
        shown = dict(zip(names, pool.map(lambda n: box_ssh(n, script, timeout=300), names)))
    parts = {}
    for name, result in shown.items():
        assert "@@target" in result.stdout, (f"{name}: state digest failed "
                                             f"(rc {result.returncode}): {result.stderr[-500:]}")
        for chunk in result.stdout.split("@@")[1:]:
            part, _, text = chunk.partition("\n")
            parts[f"{name}/{part}"] = _normalised(text)
    return parts


def digest_differences(before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for key in sorted(set(before) | set(after)):
        if before.get(key) != after.get(key):
            diff = difflib.unified_diff((before.get(key) or "").splitlines(),
                                        (after.get(key) or "").splitlines(), lineterm="", n=0)
            lines.append(f"{key}: " + " | ".join(list(diff)[2:]))
    return lines


def browse(html: Path, out: Path, height: int = 2600, width: int = 1300) -> tuple[str, Path]:
    """An HTML report as headless Chromium (Debian's) renders it in a window of `width` x
    `height` pixels: the DOM after its scripts ran, and a screenshot of the window (every
    row expanded)."""
    chromium = shutil.which("chromium")
    assert chromium, "no chromium: `apt-get install chromium` (make test installs it)"
    url = html.resolve().as_uri() + "?collapsed="
    base = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            f"--window-size={width},{height}"]
    dom = subprocess.run([*base, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    assert dom.returncode == 0 and dom.stdout, f"chromium --dump-dom failed: {dom.stderr[-500:]}"
    shot = out / "report.png"
    taken = subprocess.run([*base, f"--screenshot={shot}", url],
                           capture_output=True, text=True, timeout=120)
    assert taken.returncode == 0 and shot.exists(), f"no screenshot: {taken.stderr[-500:]}"
    return dom.stdout, shot


def pixels_like(png: Path, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels of the picture have (about) this colour."""
    import matplotlib.image
    import numpy

    image = (matplotlib.image.imread(png)[:, :, :3] * 255).astype(int)
    return int((numpy.abs(image - numpy.array(rgb)).max(axis=2) <= tolerance).sum())


REBOOT = " would not come back after a reboot."


def reboot_findings(results_json: Path) -> list[str]:
    """The findings of a run's results JSON that say what a reboot would lose."""
    labs = json.loads(results_json.read_text())["labs"].values()
    return sorted({f for lab in labs for t in lab["tests"] for f in t.get("findings", [])
                   if REBOOT in f})


def class_pattern(box_inventory: Path, students: tuple[int, ...], into: Path) -> Path:
    """The box as an instructor's class described once, as examples/class describes the
    article's: that folder's generator (students x roles) with these students, and its
    address pattern with the box's addresses (every student's lab is the same three VMs, so
    only reads are safe: `-m "not migration"`). The IQN is the student's, as the example
    computes it: the box exports student 31's, so any other student is stuck at stage 1 (a
    student who typed another IQN), with a hint."""
    section, lab_vars, roles = "", {}, {}
    for line in box_inventory.read_text().splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "lab:vars" and "=" in line and line[0] not in "#;":
            key, _, value = line.partition("=")
            lab_vars[key] = value.strip("'\"")
        elif section in ("iscsi_target", "xen_hosts") and line and line[0] not in "#;":
            host, *pairs = line.split()
            roles[host] = dict(pair.split("=", 1) for pair in pairs)
    assert set(roles) == {"target", "test1", "test2"}, roles
    computed = ("iscsi_iqn", "iscsi_initiator_address", "guest_ip", "lab_ip")
    (into / "group_vars").mkdir(parents=True)
    generator = (ROOT / "examples/class/01-students.yml").read_text()
    assert re.search(r"^  student: \[[\d, ]+\]$", generator, re.M), "the example's students line"
    (into / "01-students.yml").write_text(re.sub(
        r"^  student: \[[\d, ]+\]$", f"  student: {list(students)}", generator, flags=re.M))
    net = roles["test1"]["lab_ip"].rsplit(".", 1)[0]
    (into / "02-addresses.yml").write_text(
        "# The box's addresses: every student's lab is the same three VMs.\n"
        "plugin: ansible.builtin.constructed\nstrict: true\nuse_vars_plugins: true\ncompose:\n"
        f"  lab_ip: \"'{net}.' ~ host_number\"\n"
        f"  guest_ip: \"'{lab_vars.get('guest_ip', net + '.4')}'\"\n"
        f"  iscsi_initiator_address: \"'{net}.0/{lab_vars['lab_prefix']}'\"\n"
        "  iscsi_iqn: \"'iqn.2015-02.com.stu' ~ student ~ ':t1'\"\n")
    (into / "group_vars" / "labs.yml").write_text(json.dumps(
        {k: v for k, v in lab_vars.items() if k not in computed}, indent=1))
    for role, values in roles.items():
        (into / "group_vars" / f"{role}.yml").write_text(json.dumps(
            {"host_number": int(values["lab_ip"].rsplit(".", 1)[1])}
            | {k: v for k, v in values.items() if k != "lab_ip"}, indent=1))
    return into


# --- a disk of the guest's own on the box, for the data check (--guest-data) ---------------
# A second LUN of the target (runtime only: /etc/tgt is not touched), seen by both Xen hosts,
# attached to the running guest as xvdb and mounted on its /mnt: a LUN per guest, which both
# hosts may write. tgt names LUN 2 of target 1 with this WWN on every initiator.
DATA_LUN_FILE = "/srv/xenlab-data.img"
DATA_DEVICE = "/dev/disk/by-id/wwn-0x60000000000000000e00000000010002"
DATA_DIR = "/mnt"


def guest_typed(inventory: Path, host: str, *commands: str, timeout: float = 60) -> list[str]:
    """Commands typed in the guest's shell, through its console on `host`; their outputs."""
    from xenlab.adapters.toolstack import detect
    from xenlab.inventory import load_lab
    from xenlab.live.guest import guest_console, guest_run
    from xenlab.remote import Host
    lab = load_lab(inventory)
    spec = next(h for h in lab.hosts if h.name == host)
    dom0 = Host(spec, "build")
    try:
        with guest_console(detect(dom0), lab.vars["guest_name"]) as console:
            return [guest_run(console, command, timeout=timeout) for command in commands]
    finally:
        dom0.close()


def _each(names: tuple[str, ...], command: str) -> None:
    """command on each box host at once; each must succeed."""
    with ThreadPoolExecutor(len(names)) as pool:
        done = list(pool.map(lambda n: box_ssh(n, command), names))
    for name, result in zip(names, done):
        assert result.returncode == 0, f"{name}: {command}: {result.stderr.strip()[-300:]}"


@contextlib.contextmanager
def guest_data_disk(inventory: Path, guest: str = "busybox", home: str = "test1"):
    """The guest (on `home`) with DATA_DIR on a LUN of its own; all of it gone after."""
    _each(("target",), f"truncate -s 64M {DATA_LUN_FILE} && tgtadm --lld iscsi --op new "
                       f"--mode logicalunit --tid 1 --lun 2 -b {DATA_LUN_FILE}")
    try:
        _each(("test1", "test2"), f"iscsiadm -m session -R >/dev/null && udevadm settle && "
                                  f"test -b {DATA_DEVICE}")
        _each((home,), f"mkfs.ext2 -q -F {DATA_DEVICE} && "
                       f"xl block-attach {guest} phy:{DATA_DEVICE} xvdb w")
        guest_typed(inventory, home, "until [ -b /dev/xvdb ]; do sleep 1; done",
                    f"mount /dev/xvdb {DATA_DIR}")
        yield DATA_DIR
    finally:
        where = next((n for n in ("test1", "test2")
                      if guest in box_ssh(n, "xl list").stdout), home)
        with contextlib.suppress(Exception):
            guest_typed(inventory, where, f"umount {DATA_DIR} 2>/dev/null; true")
        box_ssh(where, f"xl block-detach {guest} xvdb")
        for name in ("test1", "test2"):
            box_ssh(name, f"d=$(readlink -f {DATA_DEVICE}) && "
                          "echo 1 > /sys/block/${d#/dev/}/device/delete")
        _each(("target",), "tgtadm --lld iscsi --op delete --mode logicalunit --tid 1 --lun 2 "
                           f"&& rm -f {DATA_LUN_FILE}")
