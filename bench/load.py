"""Benchmark: stage 9's ping-pong, idle and under a memory-dirtying load, side by side.

    .venv/bin/python bench/load.py [--rounds N] [--load MIB_S] [--load-rounds M]
                                   [--inventory PATH]

Runs the suite twice on a built lab (verify mode, `-m stage9_migration`): N rounds idle,
then M rounds (default N) with `--migration-load=MIB_S` (none with --load 0). Each round moves the
guest there and back with every proof and the leak audit. Prints how many rounds passed,
then for each figure (the migration, the probe's downtime, the heartbeat's pause, xl's
suspension, its live copy, final copy and devices on the destination) its median and max over the moves, idle
beside loaded, and the load the guest reached.
"""
from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xenlab.inventory import box_inventory_path  # noqa: E402

# xenlab-migrations.json: each move's record as data (xenlab.stages.migration.MigrationRecord)
FIGURES = {"migration": lambda m: m["wall_s"],
           "downtime (probe)": lambda m: m["downtime"]["longest_gap_s"],
           "paused (heartbeat)": lambda m: (m.get("guest_pause") or {}).get("longest_gap_s"),
           "suspended (xl's log)": lambda m: span(m, "suspended", "resumed"),
           "live copy (xl's log)": lambda m: span(m, "copy_start", "suspended"),
           "final copy (xl's log)": lambda m: span(m, "suspended", "restored"),
           "devices on the destination": lambda m: span(m, "restored", "transferred")}


def span(m: dict, start: str, end: str) -> float | None:
    """A phase of xl's log (xenlab.parsers.migrationlog): end - start, if both were seen."""
    p = m.get("phases") or {}
    return None if p.get(start) is None or p.get(end) is None else p[end] - p[start]


def run(inventory: str, rounds: int, load: int, where: Path) -> tuple[str, list[dict]]:
    data = where / "migrations.json"
    args = [sys.executable, "-m", "pytest", f"--inventory={inventory}", "-m", "stage9_migration",
            f"--migration-rounds={rounds}", f"--migration-data={data}", "-q",
            "-p", "no:cacheprovider", f"--results={where / 'results.json'}"]
    if load:
        args.append(f"--migration-load={load}")
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=rounds * 900)
    summary = re.findall(r"^=* ?(\d+ (?:passed|failed).*?) ?=*$", proc.stdout, re.M)
    moves = [m for m in json.loads(data.read_text())] if data.exists() else []
    return (summary[-1] if summary else proc.stdout[-300:]), moves


def figures(moves: list[dict]) -> dict[str, str]:
    shown = {}
    for name, get in FIGURES.items():
        seen = sorted(v for v in (get(m) for m in moves) if v is not None)
        shown[name] = (f"{statistics.median(seen):.2f} / {seen[-1]:.2f} s" if seen else "-")
    return shown


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load", type=int, default=16, help="MiB/s; 0: idle only")
    parser.add_argument("--load-rounds", type=int, help="rounds under load (default: --rounds)")
    parser.add_argument("--inventory")
    args = parser.parse_args()
    inventory = args.inventory or box_inventory_path()
    if inventory is None:
        sys.exit("no lab: pass --inventory or start the lab-in-a-box (make demo)")
    columns = {}
    with tempfile.TemporaryDirectory() as tmp:
        runs = [("idle", 0, args.rounds)] if args.rounds else []
        if args.load:
            runs.append((f"load {args.load} MiB/s", args.load, args.load_rounds or args.rounds))
        for label, load, rounds in runs:
            where = Path(tmp) / f"load-{load}"
            where.mkdir()
            outcome, moves = run(str(inventory), rounds, load, where)
            print(f"{label}: {rounds} rounds: {outcome}; {len(moves)} moves", flush=True)
            for m in moves:
                ran = m.get("load")  # not the loop's `load`: the move's own record of it
                reached = (round(ran["asked_mib_s"] * ran["passes"] / ran["seconds"], 1)
                           if ran and ran["seconds"] else None)
                print(f"  round {m['round']}: {m['source']} -> {m['destination']}: "
                      f"{m['wall_s']:.1f} s, downtime {FIGURES['downtime (probe)'](m):.2f} s, "
                      f"paused {FIGURES['paused (heartbeat)'](m)} s"
                      + (f", load reached {reached} MiB/s" if reached is not None else ""))
            columns[label] = figures(moves)
    print("figure: median / max over the moves")
    for name in FIGURES:
        print(f"  {name}: " + "; ".join(f"{label} {shown[name]}"
                                         for label, shown in columns.items()))


if __name__ == "__main__":
    main()
