"""A lab built by hand on fresh box hosts, as a student would, then checked by the suite.

Each variant is a shell script in tests/handbuilt/ (the article's commands translated to
xl, in the order its `# steps:` line gives, written apart from xenlab's build code). This
script resets the box to fresh hosts, runs those steps over SSH, types the guest's
address on its console as the article does, then runs the suite:
verify (migration included) -> build over the hand-built lab -> verify again.

    .venv/bin/python bench/handbuilt.py --variant logged-in-first [--verify-runs 10]
    .venv/bin/python bench/handbuilt.py --variant mixed --no-build --verify-only \
        --verify-runs 10 --verify-m "not migration"     # the lab left by a run, 10 times

Prints each phase's outcome and time; exit status 1 if a suite run failed.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.boxkit import box  # noqa: E402
from tests.handbuilt.driver import VARIANTS, HandBuildFailed, build_by_hand  # noqa: E402


def suite(inventory: Path, *args: str) -> tuple[bool, str, float]:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "pytest", f"--inventory={inventory}",
                           "-p", "no:cacheprovider", "-q", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=3600)
    tail = [line for line in proc.stdout.splitlines() if line.strip()][-12:]
    return proc.returncode == 0, "\n".join(tail), time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", required=True,
                        choices=VARIANTS)
    parser.add_argument("--verify-runs", type=int, default=1)
    parser.add_argument("--only-build", action="store_true",
                        help="build the lab by hand on fresh hosts and stop (no suite run)")
    parser.add_argument("--no-build", action="store_true",
                        help="run the suite on the box as it is (built by an --only-build run)")
    parser.add_argument("--verify-only", action="store_true",
                        help="only the verify runs (no build over the lab, no verify after it)")
    parser.add_argument("--verify-m", metavar="EXPR",
                        help="a -m selection for the verify runs, e.g. 'not migration'")
    args = parser.parse_args()
    if args.no_build:
        up = box("up")
        sys.exit(check(Path(up.stdout.strip().splitlines()[-1]), args))
    started = time.monotonic()
    reset = box("reset")
    if reset.returncode != 0:
        sys.exit(f"box reset failed: {reset.stderr.strip()[-500:]}")
    inventory = Path(reset.stdout.strip().splitlines()[-1])
    try:
        build_by_hand(args.variant, inventory)
    except HandBuildFailed as failed:
        sys.exit(str(failed))
    print(f"{args.variant}: built by hand in {time.monotonic() - started:.0f} s")
    if not args.only_build:
        sys.exit(check(inventory, args))


def check(inventory: Path, args: argparse.Namespace) -> int:
    """verify (N times) -> build over the lab -> verify again; 1 if a run failed."""
    failed = 0
    # Build over the lab without moving the guest (the migration is verify's to prove).
    verify = ("-m", args.verify_m) if args.verify_m else ()
    phases = [(f"verify {n + 1}", verify) for n in range(args.verify_runs)]
    if not args.verify_only:
        phases += [("build", ("--lab-mode=build", "--allow-destructive", "-m", "not migration")),
                   ("verify again", ())]
    for phase, extra in phases:
        ok, tail, took = suite(inventory, *extra)
        failed += not ok
        print(f"{args.variant}: {phase}: {'passed' if ok else 'FAILED'} in {took:.0f} s\n{tail}")
    return 1 if failed else 0


if __name__ == "__main__":
    main()
