"""Our verify run (stages 1-8) against the same checks as a plain Ansible playbook.

    .venv/bin/python bench/ansible_compare.py --runs 3

Both run against the same lab (the lab-in-a-box by default), alternately, in the
same invocation: `pytest -m "not migration"` and `ansible-playbook
bench/verify-playbook.yml` (what it covers: its header). Prints the wall time
of each, median and range, and the ratio of the medians (target: >= 5).
"""
from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from suite_runs import arguments

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = ROOT / "bench" / "verify-playbook.yml"


def timed(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str]:
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800, env=env)
    took = time.monotonic() - started
    last = (proc.stdout.strip().splitlines() or ["no output"])[-1]
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:3])} failed (rc {proc.returncode}): {proc.stdout[-2000:]}"
                 f"{proc.stderr[-1000:]}")
    return took, last


def summary(name: str, times: list[float]) -> str:
    return (f"{name}: median {statistics.median(times):.1f} s, "
            f"range {min(times):.1f}-{max(times):.1f} s")


def main() -> None:
    args, inventory = arguments(default_runs=3)
    bin_dir = Path(sys.executable).parent
    ours_cmd = [sys.executable, "-m", "pytest", f"--inventory={inventory}", "-m", "not migration",
                "-q", "-p", "no:cacheprovider", *args.pytest_args]
    ansible_cmd = [str(bin_dir / "ansible-playbook"), "-i", inventory, str(PLAYBOOK)]
    env = os.environ | {"ANSIBLE_NOCOLOR": "1", "ANSIBLE_HOST_KEY_CHECKING": "True"}
    print(f"machine: {os.cpu_count()} cores; {args.runs} runs each against {inventory}")
    ours, theirs = [], []
    for run in range(1, args.runs + 1):
        took, last = timed(ours_cmd)
        ours.append(took)
        print(f"  run {run}: xenlab verify {took:.1f} s ({last})", flush=True)
        took, last = timed(ansible_cmd, env)
        theirs.append(took)
        print(f"  run {run}: ansible-playbook {took:.1f} s ({last.strip()})", flush=True)
    print(summary("xenlab verify (stages 1-8)", ours))
    print(summary("ansible-playbook (same checks)", theirs))
    print(f"ratio of the medians: {statistics.median(theirs) / statistics.median(ours):.2f} "
          f"(target: >= 5)")


if __name__ == "__main__":
    main()
