"""Reliability: N verify runs of the whole suite in a row against a built lab; a count of failures.

    .venv/bin/python bench/verify_runs.py [--runs N] [--inventory PATH] [-- PYTEST ARGS]

Each run is `pytest --inventory=... ` in verify mode, migration there and back
included (add `-- -m "not migration"` to leave it out), as a user runs it. No
rerun, no retry: a run with any failed, errored or skipped test counts as a
failure, and its failures are printed. Uses the lab-in-a-box's inventory when none
is given; the lab must be built (make demo). Prints the count and the wall time
(median and range) with the machine's core count.
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from suite_runs import arguments  # noqa: E402  (bench/, the script's own folder)


def not_passed(junit: Path) -> list[str]:
    bad = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        for tag in ("failure", "error", "skipped"):
            node = case.find(tag)
            if node is not None:
                bad.append(f"{case.get('name')}: {tag}: {node.get('message', '')[:300]}")
    return bad


def main() -> None:
    args, path = arguments(default_runs=10)
    print(f"machine: {os.cpu_count()} cores; {args.runs} verify runs of {path} "
          f"{' '.join(args.pytest_args)}".rstrip(), flush=True)
    walls, failures = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, args.runs + 1):
            junit = Path(tmp) / f"run{n}.xml"
            started = time.monotonic()
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", f"--inventory={path}", f"--junitxml={junit}",
                 "-p", "no:cacheprovider", "-q", *args.pytest_args],
                cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
            walls.append(time.monotonic() - started)
            bad = not_passed(junit) if junit.exists() else [f"no results: {proc.stdout[-500:]}"]
            if proc.returncode != 0 and not bad:
                bad = [f"pytest exited {proc.returncode}"]
            failures += bool(bad)
            summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
            print(f"  run {n}: {'ok' if not bad else 'FAILED'} in {walls[-1]:.0f} s ({summary})",
                  flush=True)
            for line in bad:
                print(f"    {line}")
    print(f"failed runs: {failures} of {args.runs}")
    print(f"wall time per run: median {statistics.median(walls):.0f} s, "
          f"range {min(walls):.0f}-{max(walls):.0f} s")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
