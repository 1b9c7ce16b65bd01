"""Overhead of a verify run: its wall time against the time of the remote commands it ran.

    .venv/bin/python bench/verify_overhead.py [--runs N] [--inventory PATH] [-- PYTEST ARGS]

Runs `pytest --inventory=... -m "not migration"` (verify mode, all stages, the
migration left out) N times, as a user runs it, and reads from each run's
summary the suite's own figures: the number of remote commands, their summed
time, and the SSH connections opened per host. Prints, with the machine's core
count, the wall time (process start to exit), the command time and their ratio
(target: at most 1.5), as median and range, and the connections per host
(target: one). Uses the lab-in-a-box's inventory when none is given.
"""
from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suite_runs import arguments  # noqa: E402  (bench/, the script's own folder)

_LINE = re.compile(r"xenlab commands: (?P<n>\d+) remote commands, (?P<t>[\d.]+) s of command "
                   r"time; SSH connections: (?P<conn>.*)")


def spread(values: list[float], unit: str = "s", digits: int = 1) -> str:
    return (f"median {statistics.median(values):.{digits}f} {unit}, "
            f"range {min(values):.{digits}f}-{max(values):.{digits}f} {unit}")


def main() -> None:
    args, path = arguments(default_runs=3)
    extra = args.pytest_args or ["-m", "not migration"]
    print(f"machine: {os.cpu_count()} cores; {args.runs} verify runs of {path} {' '.join(extra)}",
          flush=True)
    walls, cmds, ratios, conns = [], [], [], []
    for n in range(1, args.runs + 1):
        started = time.monotonic()
        proc = subprocess.run([sys.executable, "-m", "pytest", f"--inventory={path}",
                               "-p", "no:cacheprovider", "-q", *extra],
                              cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
        wall = time.monotonic() - started
        found = _LINE.search(proc.stdout)
        if proc.returncode != 0 or found is None:
            tail = proc.stdout.strip().splitlines()[-1:] or ["no output"]
            sys.exit(f"run {n}: pytest exited {proc.returncode}: {tail[0]}")
        command_s = float(found["t"])
        walls.append(wall)
        cmds.append(command_s)
        ratios.append(wall / command_s)
        conns.append(found["conn"])
        print(f"  run {n}: wall {wall:.1f} s, {found['n']} commands taking {command_s:.1f} s, "
              f"ratio {wall / command_s:.2f}; SSH connections: {found['conn']}", flush=True)
    print(f"wall time: {spread(walls)}")
    print(f"remote command time: {spread(cmds)}")
    print(f"wall / command time: {spread(ratios, unit='', digits=2)} (target <= 1.5)")
    print(f"SSH connections per host: {', '.join(sorted(set(conns)))} (target: 1 each)")


if __name__ == "__main__":
    main()
