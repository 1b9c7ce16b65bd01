"""Benchmark: K live migrations of the guest on a built lab, with downtime figures.

    .venv/bin/python bench/migrations.py [--rounds K] [--inventory PATH]

Each round moves the guest to the other Xen host; after an odd K one more,
uncounted migration brings it back where it started. Uses the lab-in-a-box's inventory when
none is given; the lab must be built (make demo). Prints median and max of the
downtime (the longest gap between replies to a 5 ms ping from the iSCSI target)
and of the migration's wall time, with the lost probes.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xenlab.stages import migration as m  # noqa: E402
from xenlab.inventory import box_inventory_path, load_lab  # noqa: E402
from xenlab.remote import Host  # noqa: E402
from xenlab.adapters.toolstack import detect  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--inventory")
    args = parser.parse_args()
    path = args.inventory or box_inventory_path()
    if path is None:
        sys.exit("no lab: pass --inventory or start the lab-in-a-box (make demo)")
    lab = load_lab(path)
    v = lab.vars
    target = Host(lab.target, "verify")
    stacks = [detect(Host(spec, "verify")) for spec in lab.xen_hosts]
    here = next((ts for ts in stacks if ts.domain(v["guest_name"])), None)
    if here is None:
        sys.exit(f"{v['guest_name']} runs on no Xen host: build the lab first (make demo)")
    start = here
    print(f"machine: {os.cpu_count()} cores; guest {v['guest_name']}, {args.rounds} migrations")
    downtime, wall, lost = [], [], []
    for n in range(args.rounds):
        there = next(ts for ts in stacks if ts is not here)
        record = m.migrate(here, there, v["guest_name"], there.host.spec.lab_ip, v["guest_ip"],
                           probe_host=target)
        m.assert_live(record, float(v["migration_downtime_max_s"]))
        d = record.downtime
        print(f"  {n + 1}: {record.source} -> {record.destination}: {record.wall_s:.1f} s, "
              f"downtime {d.longest_gap_s:.2f} s, lost {d.lost}, resolution {d.resolution_s} s")
        downtime.append(d.longest_gap_s)
        wall.append(record.wall_s)
        lost.append(d.lost)
        here = there
    if here is not start:
        m.migrate(here, start, v["guest_name"], start.host.spec.lab_ip, v["guest_ip"],
                  probe_host=target)
    print(f"downtime: median {statistics.median(downtime):.2f} s, max {max(downtime):.2f} s")
    print(f"migration time: median {statistics.median(wall):.1f} s, max {max(wall):.1f} s")
    print(f"lost probes: median {statistics.median(lost):.0f}, max {max(lost)}")


if __name__ == "__main__":
    main()
