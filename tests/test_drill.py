"""Stage 9's failure drill (xenlab.stages.drill): the verdict on what a cut migration left,
on the box's own account of a cut (xl's output, captured), and the drill's opt-in."""
from __future__ import annotations

from dataclasses import replace

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.stages.drill import DrillRecord, check_kept_on_source

from .test_migration import LIVE, facts

# `xl migrate busybox 198.51.100.2` on the box's test1, its transport (`ssh 198.51.100.2 xl
# migrate-receive`, pid 2475) killed after 61757693 bytes: exit status 1; the guest ran on
# at test1 and test2 kept nothing.
CUT_OUTPUT = """\
migration target: Ready to receive domain.
Saving to migration stream new xl format (info 0x3/0x0/1228)
Loading new save file <incoming migration stream> (new xl fmt info 0x3/0x0/1228)
 Savefile contains xl domain config in JSON format
Parsing config from <saved>
xc: info: Saving domain 3, type x86 PV
xc: info: Found x86 PV domain from Xen 4.17
xc: info: Restoring domain
libxl: error: libxl_utils.c:505:libxl_read_exactly: file/stream truncated reading ipc msg \
header from domain 3 save/restore helper stdout pipe
libxl: error: libxl_exec.c:127:libxl_report_child_exitstatus: domain 3 save/restore helper \
[2498] died due to fatal signal Broken pipe
migration sender: libxl_domain_suspend failed (rc=-3)
libxl: info: libxl_exec.c:117:libxl_report_child_exitstatus: migration transport process \
[2475] exited with error status 255
Migration failed, resuming at sender.
xc: error: Dom 3 not suspended: (shutdown 0, reason 255): Internal error
libxl: error: libxl_dom_suspend.c:666:domain_resume_done: Domain 3:xc_domain_resume failed: \
Invalid argument
"""

KEPT = DrillRecord(
    guest="busybox", source="test1", destination="test2", started=LIVE.started,
    ended=LIVE.started + 9.4, rc=1, toolstack_output=CUT_OUTPUT, runs_on=("test1",),
    cut="test1: the migration's transport (pid 2475) killed after 58 MiB streamed, 6.2 s in",
    downtime=replace(LIVE.downtime, longest_gap_s=0.03), before=facts(980.45),
    after=facts(990.12))


def test_a_guest_that_ran_on_at_the_source_passes_every_proof():
    from xenlab.stages import migration as m

    check_kept_on_source(KEPT)
    for proof in m.LIVE_PROOFS:  # read where it must be: the source
        proof(KEPT)
    m.check_downtime(KEPT, 1.0)


@pytest.mark.parametrize("change, message", [
    (dict(runs_on=(), after=None),
     "test1: expected busybox running on test1 after the failed migration; saw it runs on "
     "neither test1, test2: the guest is LOST (critical)"),
    (dict(runs_on=("test1", "test2")),
     "test1: expected busybox running on test1 only; saw it runs on test1, test2: the guest "
     "is DUPLICATED (critical: two writers on one disk)"),
    (dict(cut="", rc=0, runs_on=("test2",), after=None),
     "test1: expected the migration cut part-way (the drill's fault); saw it ended before the "
     "cut (exit status 0): the drill proved nothing; a faster link needs an earlier cut"),
    (dict(rc=0),
     "test1: expected the toolstack reporting the migration failed; saw exit status 0 "
     "although its transport was cut (test1: the migration's transport (pid 2475) killed "
     "after 58 MiB streamed, 6.2 s in)"),
    (dict(runs_on=("test2",), after=None),
     "test1: expected busybox running on test1, where it was; saw it runs on test2 although "
     "the migration failed"),
])
def test_a_guest_lost_duplicated_or_moved_fails_the_drill_on_one_line(change, message):
    with pytest.raises(LabCheckFailed) as failed:
        check_kept_on_source(replace(KEPT, **change))
    assert str(failed.value) == message


def test_a_guest_rebooted_by_the_failure_fails_on_the_source():
    from xenlab.stages import migration as m

    with pytest.raises(LabCheckFailed, match=r"^test1: expected busybox up for more than "
                                             r"980.45 s .*it booted again"):
        m.check_not_rebooted(replace(KEPT, after=facts(3.2)))


def test_the_drill_runs_only_when_asked_for(pytester):
    """Deselected unless -m names it (not skipped: a skip would make stage 9 read skipped)."""
    pytester.makeini("[pytest]\naddopts = -p xenlab.plugin\n")
    pytester.makepyfile(test_d="""
        import pytest

        @pytest.mark.stage9_migration
        @pytest.mark.migration
        def test_move():
            pass

        @pytest.mark.stage9_migration
        @pytest.mark.migration
        @pytest.mark.drill
        def test_drill():
            pass
    """)
    plain = pytester.runpytest("--collect-only", "-q", "-p", "no:cacheprovider")
    assert "test_d.py::test_move" in plain.stdout.str()
    assert "test_drill" not in plain.stdout.str() and "1 deselected" in plain.stdout.str()
    asked = pytester.runpytest("--collect-only", "-q", "-m", "drill", "-p", "no:cacheprovider")
    assert "test_d.py::test_drill" in asked.stdout.str()
    assert "test_d.py::test_move" not in asked.stdout.str()
