"""The whole lab on the lab-in-a-box, phase by phase: cold (image build + boot + build
mode + one migration) and warm (fresh hosts from the cached image -> migrated).

    .venv/bin/python bench/lab_timeline.py --warm 3 --cold 1

Phases: image (cold only: debootstrap and the image, into an empty XENLAB_CACHE; the
cached image of the tests is not touched), boot (until every host answers over SSH),
build (`pytest --lab-mode=build --allow-destructive -m "not migration"`: stages 1-8
from fresh hosts), migration (stage 9 in build mode: the guest started, moved there
and back; the first move's own time is printed beside it). Prints each run's phases,
then median and range per phase.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASES = ("image", "boot", "build", "migration")


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    if proc.returncode:
        sys.exit(f"{' '.join(cmd[2:5])} failed: {proc.stdout[-1500:]}{proc.stderr[-1500:]}")
    return time.monotonic() - started, proc


def one_run(env: dict[str, str], tmp: Path) -> dict[str, float]:
    box = [sys.executable, "-m", "xenlab", "box"]
    pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    timed([*box, "down"], env)
    up, proc = timed([*box, "up"], env)
    # box up's progress: "[  95.2s] box: starting target, test1, test2": the image was ready
    started = re.search(r"\[\s*([\d.]+)s\] box: starting", proc.stderr)
    image = float(started.group(1)) if started else 0.0
    phases = {"image": image, "boot": up - image}
    phases["build"], _ = timed([*pytest, "--lab-mode=build", "--allow-destructive",
                                "-m", "not migration"], env)
    data = tmp / "migrations.json"
    phases["migration"], _ = timed([*pytest, "--lab-mode=build", "-m", "stage9_migration",
                                    f"--migration-data={data}"], env)
    phases["first move"] = json.loads(data.read_text())[0]["wall_s"]
    return phases


def show(label: str, phases: dict[str, float]) -> str:
    total = sum(phases[p] for p in PHASES)
    parts = ", ".join(f"{p} {phases[p]:.0f} s" for p in PHASES if p != "image" or phases[p] >= 1)
    return f"  {label}: {parts} (first move {phases['first move']:.0f} s); total {total:.0f} s"


def summary(label: str, runs: list[dict[str, float]]) -> None:
    print(f"{label}, {len(runs)} runs:")
    for phase in (*PHASES, "first move"):
        values = [r[phase] for r in runs]
        if any(values):
            print(f"  {phase}: median {statistics.median(values):.1f} s, "
                  f"range {min(values):.1f}-{max(values):.1f} s")
    totals = [sum(r[p] for p in PHASES) for r in runs]
    print(f"  total: median {statistics.median(totals):.1f} s, "
          f"range {min(totals):.1f}-{max(totals):.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--cold", type=int, default=1)
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="xenlab-timeline-") as tmp:
        colds, warms = [], []
        for run in range(1, args.cold + 1):
            with tempfile.TemporaryDirectory(prefix="xenlab-cold-") as cache:
                colds.append(one_run(dict(os.environ, XENLAB_CACHE=cache), Path(tmp)))
                print(show(f"cold run {run}", colds[-1]), flush=True)
        for run in range(1, args.warm + 1):
            warms.append(one_run(dict(os.environ), Path(tmp)))
            print(show(f"warm run {run}", warms[-1]), flush=True)
        for label, runs in (("cold", colds), ("warm", warms)):
            if runs:
                summary(label, runs)


if __name__ == "__main__":
    main()
