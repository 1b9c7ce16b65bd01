"""Where a migration's downtime goes: xl's lines timed as they arrive, the moments they mark
(tests/data/xl-migrate-log: the box's `xl -vvv migrate`), the guest's own heartbeat, and
the terminal's account of the three."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from xenlab.live.console import ConsoleError
from xenlab.live.guest import GuestPause, parse_heartbeat
from xenlab.parsers import parse_migration_log
from xenlab.plugin.outputs import downtime_explained, migration_line, rounds_lines
from xenlab.remote.transport import timed_lines
from xenlab.results import downtime_parts, migration_record

from .test_migration import LIVE

LOG = Path(__file__).parent / "data" / "xl-migrate-log"
VVV = (LOG / "box-vvv-test2-to-test1.txt").read_text()


def test_lines_get_the_time_their_last_byte_arrived_in_order_of_arrival():
    stamps = [(10.0, "err", b"migration target: Ready"), (10.5, "err", b" to receive.\nxc: "),
              (11.0, "out", b"Saving\n"), (12.0, "err", b"info: Restore successful\r\n"),
              (13.0, "err", b"no newline at the end")]
    assert timed_lines(stamps) == [(10.5, "migration target: Ready to receive."),
                                   (11.0, "Saving"), (12.0, "xc: info: Restore successful"),
                                   (13.0, "no newline at the end")]
    assert timed_lines([]) == []


def test_the_box_log_splits_the_move_into_its_phases():
    phases = parse_migration_log(VVV)
    assert phases.paused_s == 15.407  # suspended until running on test1
    assert [name for name, *_ in phases.spans()] == [
        "set-up", "live copy", "final copy", "devices on the destination", "handover",
        "source clean-up"]
    # under TCG most of the pause is the destination's vif/vbd hotplug scripts (BOX-NOTES)
    devices = next(b - a for name, a, b in phases.spans() if name == "devices on the destination")
    assert devices > 0.9 * 14.3


def test_a_log_without_libxls_debug_lines_has_no_suspend_moment():
    phases = parse_migration_log((LOG / "box-vv-no-suspend-line-test1-to-test2.txt").read_text())
    assert phases.suspended is None and phases.paused_s is None and phases.resumed is not None


@pytest.mark.parametrize("said, pause", [
    ("10.12 214 805.08 830.5\n", GuestPause(10.12, 214, 0.0722)),
    ("0.05 3 1.0 1.1", GuestPause(0.05, 3, 0.05)),
])
def test_the_heartbeat_summary_gives_the_longest_gap_and_the_usual_spacing(said, pause):
    assert parse_heartbeat(said) == pause


@pytest.mark.parametrize("said", ["", " 0  ", "sh: awk: not found"])
def test_a_heartbeat_that_never_beat_is_one_line(said):
    with pytest.raises(ConsoleError, match="^test2: xl console busybox: no heartbeat summary"):
        parse_heartbeat(said, "test2: xl console busybox")


MOVED = replace(LIVE, phases=parse_migration_log(VVV), guest_pause=GuestPause(14.85, 1400, 0.051))


def test_the_terminal_says_where_the_downtime_went():
    line = migration_line(MOVED)
    assert line.startswith("busybox test2 -> test1: migration 42.3 s, downtime 7.98 s")
    assert downtime_explained(MOVED) == (
        "; paused 14.85 s by its own heartbeat (every ~0.05 s); suspended 15.41 s by xl's log "
        "(final copy 0.53 s, devices on the destination 14.31 s, handover 0.56 s); "
        "unreachable -6.87 s beyond the pause")
    assert downtime_explained(LIVE) == ""  # a record from before, or xm: nothing to explain


def test_the_results_keep_the_parts_and_a_record_without_them_reads_none():
    parts = migration_record(MOVED)
    assert (parts["paused_s"], parts["guest_paused_s"], parts["unreachable_beyond_pause_s"]) == (
        15.407, 14.85, -6.873)
    assert parts["phases"]["resumed"] == 73.437
    assert downtime_parts(LIVE) == {"phases": None, "paused_s": None, "guest_paused_s": None,
                                    "heartbeat_resolution_s": None,
                                    "unreachable_beyond_pause_s": None}


def test_several_rounds_give_each_figure_its_median_and_max_and_one_round_nothing():
    rounds = [replace(MOVED, round=n, wall_s=w) for n, w in ((1, 40.0), (1, 50.0), (2, 44.0),
                                                                (2, 60.0))]
    lines = rounds_lines(rounds)
    assert lines[0].startswith("2 rounds, 4 moves (rounds 1-2;")
    assert "  migration: median 47.00 s, max 60.00 s over 4 moves" in lines
    assert "  paused (heartbeat): median 14.85 s, max 14.85 s over 4 moves" in lines
    assert "  suspended (xl's log): median 15.41 s, max 15.41 s over 4 moves" in lines
    assert rounds_lines(rounds[:2]) == [] and rounds_lines([LIVE, LIVE]) == []
    # a figure no move has (xm: no heartbeat, no xl log) is left out, not shown as zero
    assert not [line for line in rounds_lines([replace(LIVE, round=n) for n in (1, 2)])
                if "paused" in line or "suspended" in line]
    assert migration_record(rounds[2])["round"] == 2


def test_a_move_under_load_says_the_rate_the_guest_reached():
    from xenlab.live.guest import GuestLoad, parse_load
    load = parse_load("512.25 1010.5\n37\n", 16, 470.0, "test2: xl console busybox")
    assert load == GuestLoad(16, 37, 42.25) and load.reached_mib_s == 14.0
    line = migration_line(replace(MOVED, load=load))
    assert line.endswith("; under load: 14 MiB/s of the guest's memory rewritten (asked 16; "
                         "37 passes in 42.25 s)")
    assert migration_record(replace(MOVED, load=load))["load"]["reached_mib_s"] == 14.0
    assert migration_record(MOVED)["load"] is None and "under load" not in migration_line(MOVED)


@pytest.mark.parametrize("said", ["", "512.25 1010.5", "sh: wc: not found"])
def test_a_load_without_its_count_is_one_line(said):
    from xenlab.live.guest import parse_load
    with pytest.raises(ConsoleError, match="^test2: xl console busybox: no load summary"):
        parse_load(said, 16, 470.0, "test2: xl console busybox")


@pytest.mark.parametrize("option, said", [
    ("--migration-rounds=0", "--migration-rounds: expected a whole number of rounds >= 1, got '0'"),
    ("--migration-load=x", "--migration-load: expected whole MiB per second >= 1, got 'x'")])
def test_a_round_count_or_load_below_one_is_a_one_line_usage_error(option, said, tmp_path):
    import subprocess
    import sys
    from .test_plugin import LOCAL_LAB
    lab = tmp_path / "lab.ini"
    lab.write_text(LOCAL_LAB)
    proc = subprocess.run([sys.executable, "-m", "pytest", f"--inventory={lab}", option,
                           "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=Path(__file__).resolve().parent.parent, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode != 0 and said in proc.stderr, proc.stderr[-500:]
