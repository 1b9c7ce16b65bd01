"""Benchmark: the lab-in-a-box's cold image build, warm `box up`, and its memory.

    .venv/bin/python bench/box_timings.py [--cold] [--runs N] [--boot-runs N] [--reboot-runs N]

--cold builds the image into an empty cache (XENLAB_CACHE and XENLAB_STATE in
temporary folders), boots the hosts and saves them, and so takes ~3 minutes more;
the cached image and saved hosts used by the tests are not touched. Warm: `box up`
with the image cached and the booted hosts saved (it resumes them); boot: `box up
--boot` (boots them, and saves them anew); reboot: `box reboot test2` of a resumed box
(systemctl reboot inside, until it answers ready again). Prints median and range over the runs,
and the machine's core count. Targets on a 2-core machine (issue 2): cold <= 4 min,
warm <= 60 s, memory <= 6 GB.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def box(verb: str, env: dict[str, str], *args: str) -> float:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "xenlab", "box", verb, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        sys.exit(f"box {verb} failed: {proc.stderr[-1000:]}")
    return time.monotonic() - started


def rss_mib(env: dict[str, str]) -> int:
    out = subprocess.run([sys.executable, "-m", "xenlab", "box", "status"], cwd=ROOT, env=env,
                         capture_output=True, text=True).stdout
    return sum(int(word.split("=")[1]) for line in out.splitlines() for word in line.split()
               if word.startswith("rss="))


def figures(name: str, values: list[float], unit: str = "s") -> str:
    return (f"{name}: median {statistics.median(values):.1f} {unit}, "
            f"range {min(values):.1f}-{max(values):.1f} {unit} over {len(values)} runs")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--boot-runs", type=int, default=3)
    parser.add_argument("--reboot-runs", type=int, default=0)
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    print(f"machine: {os.cpu_count()} cores")
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="xenlab-cold-") as tmp:
            cold_env = dict(env, XENLAB_CACHE=f"{tmp}/cache", XENLAB_STATE=f"{tmp}/state")
            box("down", env)
            seconds = box("up", cold_env)
            print(f"cold (debootstrap + image + boot until every host answers + save the "
                  f"booted hosts): {seconds:.1f} s")
            box("down", cold_env)
    box("down", env)
    box("up", env)  # the booted hosts saved for this image, if they were not yet
    warm, boot, memory = [], [], {}
    for _ in range(args.runs):
        box("down", env)
        warm.append(box("up", env))
        memory.setdefault("resumed", []).append(rss_mib(env))
    for _ in range(args.boot_runs):
        box("down", env)
        boot.append(box("up", env, "--boot"))
        memory.setdefault("booted", []).append(rss_mib(env))
    reboot = []
    if args.reboot_runs:
        box("up", env)
        reboot = [box("reboot", env, "test2") for _ in range(args.reboot_runs)]
    box("down", env)
    if warm:
        print(figures("warm box up (cached image, saved hosts resumed, fresh overlays) "
                      "until every host answers", warm))
    if boot:
        print(figures("box up --boot (cached image, hosts booted and saved anew) "
                      "until every host answers", boot))
    if reboot:
        print(figures("box reboot test2 (systemctl reboot until it answers ready)", reboot))
    for how, values in memory.items():
        print(figures(f"memory of the three VMs (RSS), {how}", values, "MiB"))


if __name__ == "__main__":
    main()
