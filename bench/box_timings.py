"""Benchmark: the lab-in-a-box's cold image build, warm `box up`, and its memory.

    .venv/bin/python bench/box_timings.py [--cold] [--runs N]

--cold builds the image into an empty cache (XENLAB_CACHE in a temporary folder)
and so takes ~2 minutes more; the cached image used by the tests is not touched.
Prints median and range over the runs, and the machine's core count. Targets on a
2-core machine (issue 2): cold <= 4 min, warm <= 60 s, memory <= 6 GB.
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


def box(verb: str, env: dict[str, str]) -> float:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "xenlab", "box", verb], cwd=ROOT, env=env,
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
    parser.add_argument("--cold", action="store_true")
    args = parser.parse_args()
    env = dict(os.environ)
    print(f"machine: {os.cpu_count()} cores")
    if args.cold:
        with tempfile.TemporaryDirectory(prefix="xenlab-cold-") as cache:
            cold_env = dict(env, XENLAB_CACHE=cache)
            box("down", cold_env)
            seconds = box("up", cold_env)
            print(f"cold (debootstrap + image + boot until every host answers): {seconds:.1f} s")
            box("down", cold_env)
    warm, memory = [], []
    for _ in range(args.runs):
        box("down", env)
        warm.append(box("up", env))
        memory.append(rss_mib(env))
    box("down", env)
    print(figures("warm box up (cached image, fresh overlays) until every host answers", warm))
    print(figures("memory of the three VMs (RSS)", memory, "MiB"))


if __name__ == "__main__":
    main()
