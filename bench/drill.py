"""Benchmark: stage 9's failure drill K times on a built lab, then its negative control.

    .venv/bin/python bench/drill.py [--rounds K] [--inventory PATH] [--no-lose]

Each round cuts a live migration's transport once a quarter of the guest's memory has
streamed (xenlab.stages.drill) and checks the guest ran on at the source (every proof of
the migration, read there, and nothing left on either host). Prints per round: when the
cut came, xl's exit status, the network gap the probe saw, how long until the guest had
settled; then the median and max.

The negative control (unless --no-lose): the same drill with a toolstack that destroys the
guest when the migration fails (the cut followed by `xl destroy` on the source). The drill
must report the guest LOST; the guest is then started again as build mode starts it
(`xl create`, its address typed on its console).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xenlab.adapters.toolstack import Xl, detect  # noqa: E402
from xenlab.checks import LabCheckFailed  # noqa: E402
from xenlab.inventory import box_inventory_path, load_lab  # noqa: E402
from xenlab.live import guest, probe  # noqa: E402
from xenlab.remote import Host  # noqa: E402
from xenlab.stages import drill, leaks, migration  # noqa: E402


def one(source, destination, target, v) -> drill.DrillRecord:
    return leaks.audited((source, destination), v.guest_name, v.bridge, v.shared_mount,
                         lambda: drill.cut_part_way(source, destination, v.guest_name,
                                                    destination.host.spec.lab_ip, v.guest_ip,
                                                    probe_host=target))


def verdict(record: drill.DrillRecord, limit: float) -> list[str]:
    """What the drill's scenario would fail on: the guest kept on the source (else the
    proofs have nothing to read), every proof of the migration, the leaks."""
    try:
        drill.check_kept_on_source(record)
        migration.assert_live(record, limit)
    except LabCheckFailed as exc:
        return [str(exc)] + [f"{f.host}: expected {f.expected}; saw {f.seen}"
                             for f in record.leaked]
    return [f"{f.host}: expected {f.expected}; saw {f.seen}" for f in record.leaked]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--inventory")
    parser.add_argument("--no-lose", action="store_true")
    args = parser.parse_args()
    path = args.inventory or box_inventory_path()
    if path is None:
        sys.exit("no lab: pass --inventory or start the lab-in-a-box (make demo)")
    lab = load_lab(path)
    v = lab.values
    target = Host(lab.target, "verify")
    source, destination = (detect(Host(spec, "verify")) for spec in (lab.source, lab.destination))
    if source.domain(v.guest_name) is None:
        sys.exit(f"{v.guest_name} does not run on {source.host.name}: build the lab first")
    print(f"machine: {os.cpu_count()} cores; guest {v.guest_name} "
          f"({source.domain(v.guest_name).mem_mib} MiB), {args.rounds} drills "
          f"{source.host.name} -> {destination.host.name}")
    gaps, settled, failed = [], [], 0
    for n in range(args.rounds):
        started = time.monotonic()
        record = one(source, destination, target, v)
        took = time.monotonic() - started
        wrong = verdict(record, v.migration_downtime_max_s)
        failed += bool(wrong)
        gaps.append(record.downtime.longest_gap_s)
        settled.append(took)
        print(f"  {n + 1}: {record.cut or 'not cut'}; xl exit {record.rc}; runs on "
              f"{', '.join(record.runs_on) or 'nothing'}; network gap "
              f"{record.downtime.longest_gap_s:.2f} s ({record.downtime.lost} probes lost); "
              f"drill {took:.1f} s; {'FAILED: ' + ' | '.join(wrong) if wrong else 'passed'}")
    print(f"network gap: median {statistics.median(gaps):.2f} s, max {max(gaps):.2f} s; "
          f"drill: median {statistics.median(settled):.1f} s; {failed} of {args.rounds} failed")
    if args.no_lose:
        return
    cut = Xl.cut_migration

    def cut_and_lose(self, pid: int):
        result = cut(self, pid)
        self.host.drill("xl destroy %s", v.guest_name, timeout=60)
        return result

    Xl.cut_migration = cut_and_lose
    try:
        record = one(source, destination, target, v)
    finally:
        Xl.cut_migration = cut
    wrong = verdict(record, v.migration_downtime_max_s)
    print(f"negative control (the guest destroyed at the cut): "
          f"{'reported: ' + ' | '.join(wrong) if wrong else 'NOT REPORTED'}")
    builder = detect(Host(lab.source, "build"))
    started = time.monotonic()
    migration.guest_start(builder, v.guest_config, v.guest_name)
    if not probe.guest_answers(target, v.guest_ip):
        with guest.guest_console(builder, v.guest_name) as console:
            guest.set_guest_ip(console, guest.guest_netfront_path(v.guest_netfront_module),
                               v.guest_ip, v.lab_prefix)
    probe.check_guest_answers(target, v.guest_ip)
    print(f"the guest started again on {builder.host.name} in "
          f"{time.monotonic() - started:.0f} s")
    if not wrong:
        sys.exit("the drill did not see the guest lost")


if __name__ == "__main__":
    main()
