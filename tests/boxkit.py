"""Helpers for the tests that run on the lab-in-a-box (marked `box`)."""
from __future__ import annotations

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
    cmd = [sys.executable, "-m", "pytest", f"--inventory={inventory}", f"--junitxml={junit}",
           "-p", "no:cacheprovider", "-q", "-rA", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


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
