"""Class mode on the lab-in-a-box: N labs (the same box listed N times, verify mode,
no migration), with N xdist workers and, for comparison, with none.

    .venv/bin/python bench/class_runs.py --runs 3 --labs 1 2 4

Prints the wall time per N, median and range over the runs.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def class_inventory(labs: int) -> str:
    made = subprocess.run([sys.executable, "-m", "xenlab", "box", "class-inventory", str(labs)],
                          cwd=ROOT, capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(made.stderr.strip())
    return made.stdout.strip().splitlines()[-1]


def timed_run(inventory: str, workers: int) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "pytest", f"--inventory={inventory}", "-m", "not migration",
           "-q", "-p", "no:cacheprovider", "-n", str(workers)]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    took = time.monotonic() - started
    last = (proc.stdout.strip().splitlines() or ["no output"])[-1].strip("= ")
    if proc.returncode != 0:
        sys.exit(f"-n {workers} on {inventory} failed: {proc.stdout[-2000:]}")
    return took, last


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--labs", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores; {args.runs} runs per case, verify without migration")
    for labs in args.labs:
        inventory = class_inventory(labs)
        cases = [labs] if labs == 1 else [labs, 0]
        for workers in cases:
            times = []
            for run in range(1, args.runs + 1):
                took, last = timed_run(inventory, workers)
                times.append(took)
                print(f"  {labs} labs, -n {workers}, run {run}: {took:.1f} s ({last})", flush=True)
            print(f"{labs} labs, -n {workers}: median {statistics.median(times):.1f} s, "
                  f"range {min(times):.1f}-{max(times):.1f} s", flush=True)


if __name__ == "__main__":
    main()
