"""xenlab.results and xenlab.report on hand-made records: the grid, the baseline
comparison, secrets, the results file's errors; the HTML pieces they feed."""
from __future__ import annotations

import copy
import json

import pytest

from xenlab import report, results as r
from xenlab.checks import CheckFailure, Finding, LabCheckFailed
from xenlab.errors import CommandFailed, HostUnreachable, ParseError
from xenlab.inventory import HostSpec
from xenlab.remote import Result

# The article's lab as the box describes it, and the article's own versions (xm info).
LAB = {"name": "box", "inventory": "box.ini", "bridge": "xenbr0",
       "guest": {"name": "busybox", "ip": "198.51.100.4"},
       "hosts": [{"name": "target", "roles": ["iSCSI target"], "endpoint": "127.0.0.1:2201",
                  "lab_ip": "198.51.100.3"},
                 {"name": "test1", "roles": ["Xen host", "migration source"],
                  "endpoint": "127.0.0.1:2202", "lab_ip": "198.51.100.1"},
                 {"name": "test2", "roles": ["Xen host", "migration destination"],
                  "endpoint": "127.0.0.1:2203", "lab_ip": "198.51.100.2"}]}
ARTICLE_PRINT = {"kernel": "3.7.10-1.el6xen.x86_64", "xen": "4.2.5-38.el6", "toolstack": "xm",
                 "tgt": None, "open-iscsi": None}
BOX_PRINT = {"kernel": "6.1.0-50-amd64", "xen": "4.17.5", "toolstack": "xl", "tgt": None,
             "open-iscsi": "2.1.8"}


def command(host: str, text: str = "true", rc: int = 0) -> dict:
    return {"host": host, "command": text, "rc": rc, "duration_s": 0.1, "stdout": "ok\n",
            "stderr": ""}


def record(stage: int, outcome: str = "passed", hosts=("test1", "test2"), failure: str = "",
         failed_host: str | None = None, migrations=(), blocked_by: int | None = None) -> dict:
    steps = [{"text": "Given a step", "status": "passed",
              "commands": [command(h) for h in hosts]}]
    if outcome == "failed":
        steps.append({"text": "Then it holds", "status": "failed",
                      "commands": [command(hosts[-1], rc=1)]})
    if outcome == "skipped":
        steps = [{"text": "Given a step", "status": "not run", "commands": []}]
    return {"lab": "box", "nodeid": f"steps/test_{stage:02}.py::test", "stage": stage,
            "scenario": f"stage {stage}", "outcome": outcome, "failure": failure,
            "failed_host": failed_host, "blocked_by": blocked_by, "steps": steps, "findings": [],
            "migrations": list(migrations), "duration_s": 1.0}


def migration(downtime: float | None = 7.6, wall: float = 40.0) -> dict:
    return {"guest": "busybox", "source": "test1", "destination": "test2", "started": 0,
            "ended": wall, "wall_s": wall, "downtime_s": downtime, "gap_start": 30.0,
            "gap_end": None if downtime is None else 30.0 + downtime, "lost": 500,
            "replies": 3000, "interval_s": 0.01, "resolution_s": 0.0117,
            "timeline": [[t / 10, 0.5] for t in range(0, 300)] + [[38.0, 0.6], [39.0, 0.5]]}


def document(tests: list[dict], fingerprint=None) -> dict:
    entry = {"lab": LAB, "fingerprint": fingerprint or {"test1": BOX_PRINT, "test2": BOX_PRINT},
             "tests": tests}
    return {"format": r.FORMAT, "labs": {"box": entry}}


HEALTHY = [record(1, hosts=("target",)), record(2), record(4), record(5),
           record(9, migrations=[migration(), migration()])]


def test_the_grid_blames_the_host_a_failure_names_and_passes_the_others():
    tests = [record(1, hosts=("target",)),
             record(2, "failed", failure="test2: expected a session; saw none", failed_host="test2"),
             record(3, "skipped")]
    grid = r.grid(document(tests)["labs"]["box"])
    assert grid[1] == {"target": "passed", "test1": "-", "test2": "-"}
    assert grid[2] == {"target": "-", "test1": "passed", "test2": "failed"}
    assert grid[3] == {"target": "skipped", "test1": "skipped", "test2": "skipped"}


def test_a_host_a_failed_stage_never_reached_is_not_checked_not_uninvolved():
    """Stage 4 stopped at test1 before it tried test2 (build mode builds the hosts one after
    the other); stage 1 checks only the target, so the Xen hosts are not involved in it.
    (A check run on both hosts at once tries both: xenlab.stages.check_each names each.)"""
    tests = [record(1, "failed", hosts=("target",), failure="target (x): no SSH answer",
                    failed_host="target"),
             record(4, "failed", hosts=("test1",), failure="test1 (x): no SSH answer",
                    failed_host="test1")]
    entry = document(tests)["labs"]["box"]
    grid = r.grid(entry)
    assert grid[1] == {"target": "failed", "test1": "-", "test2": "-"}
    assert grid[4] == {"target": "-", "test1": "failed", "test2": "not checked"}
    from xenlab.report.html import grid_html
    page = grid_html(entry)
    assert ('title="not checked on test2: the stage stopped at its first failure (on test1) '
            'before it finished checking this host">not checked</td>') in page
    assert page.count(">not involved<") == 3


def test_a_host_that_passed_the_steps_before_the_failed_one_reads_not_checked():
    """Stage 6: both hosts answered its first step, the second failed on test2 and the later
    ones never ran: test1 was checked in part only, so the grid does not say it passed. When
    the failed step is the last, the other host passed every step: passed."""
    stopped = record(6, "failed", failure="test2: x", failed_host="test2")
    stopped["steps"].append({"text": "And the image is the same", "status": "not run",
                             "commands": []})
    assert r.grid(document([stopped])["labs"]["box"])[6] == {
        "target": "-", "test1": "not checked", "test2": "failed"}
    last = record(6, "failed", failure="test2: x", failed_host="test2")
    assert r.grid(document([last])["labs"]["box"])[6] == {
        "target": "-", "test1": "passed", "test2": "failed"}


def test_a_failure_that_names_no_host_counts_against_the_host_of_the_failed_step():
    tests = [record(5, "failed", hosts=("test1",), failure="AssertionError: no bridge")]
    assert r.grid(document(tests)["labs"]["box"])[5]["test1"] == "failed"


STRICT = Finding("target", "target iqn... has no CHAP account", "anyone may log in", "CHAP")


@pytest.mark.parametrize("error, message, host", [
    (LabCheckFailed(CheckFailure("test2", "xenbr0 up", "down")),
     "test2: expected xenbr0 up; saw down", "test2"),
    (HostUnreachable("test2 (127.0.0.1:2203): no SSH answer within 10s", "test2"),
     "test2 (127.0.0.1:2203): no SSH answer within 10s", "test2"),
    (CommandFailed("test1: `cmd` rc=1", Result("test1", "cmd", 1, "", "", 0.1)),
     "test1: `cmd` rc=1", "test1"),
    (LabCheckFailed(CheckFailure(STRICT.host, "no hazard (CHAP)", STRICT.what,
                                 text=f"[hazard] {STRICT.line()}")),
     "[hazard] target: target iqn... has no CHAP account", "target"),
    (ParseError("xl info", "", "no xen_version"), "xl info: no xen_version", None),
    (AssertionError("no bridge"), "no bridge", None), (AssertionError(), "", None)])
def test_the_failed_host_is_read_from_the_error_not_from_its_one_line(error, message, host):
    assert str(error).startswith(message)  # the line a person reads is unchanged...
    assert r.failure_data(error)["failed_host"] == host  # ...the host comes from the data


def test_a_check_failed_on_several_hosts_is_recorded_and_blamed_on_each():
    error = LabCheckFailed(CheckFailure("test1", "a session", "none"),
                           CheckFailure("test2", "a session", "none"))
    data = r.failure_data(error)
    assert data["failed_host"] == "test1"
    assert [f["host"] for f in data["failures"]] == ["test1", "test2"]
    assert data["failures"][1]["line"] == "test2: expected a session; saw none"
    failed = record(2, "failed", hosts=("test1",), failure=str(error)) | data
    assert r.grid(document([failed])["labs"]["box"])[2] == {
        "target": "-", "test1": "failed", "test2": "failed"}


class Named:
    """A host as xenlab.stages.check_each sees it: a name, passed to the check."""

    def __init__(self, name: str) -> None:
        self.name = name


def refused(host: Named):
    raise HostUnreachable(f"{host.name} (127.0.0.1:2): connection refused", host.name)


def test_a_check_on_each_host_names_every_host_it_tried_and_failed_not_the_first_only():
    """Every host down: the check tried both Xen hosts at once, and both failed. The second
    host's error is its failure, with its own line; the grid reads it failed, never "not
    checked" (it was checked)."""
    from xenlab.stages import check_each
    with pytest.raises(LabCheckFailed) as caught:
        check_each([Named("test1"), Named("test2")], refused)
    assert str(caught.value) == ("test1 (127.0.0.1:2): connection refused; "
                                 "test2 (127.0.0.1:2): connection refused")
    data = r.failure_data(caught.value)
    assert [(f["host"], f["line"]) for f in data["failures"]] == [
        ("test1", "test1 (127.0.0.1:2): connection refused"),
        ("test2", "test2 (127.0.0.1:2): connection refused")]
    failed = record(4, "failed", hosts=("test1",), failure=str(caught.value)) | data
    for step in failed["steps"]:
        step["commands"] = []  # no host answered a command
    assert r.grid(document([failed])["labs"]["box"])[4] == {
        "target": "-", "test1": "failed", "test2": "failed"}


def test_a_check_on_each_host_raises_one_hosts_error_as_it_is_and_names_the_host_of_others():
    from xenlab.stages import check_each
    hosts = [Named("test1"), Named("test2")]
    one = HostUnreachable("test2 (127.0.0.1:2203): no SSH answer within 10s", "test2")

    def only_test2(host: Named):
        if host.name == "test2":
            raise one
        return host.name
    with pytest.raises(HostUnreachable) as caught:  # alone: unchanged, as the fault matrix reads it
        check_each(hosts, only_test2)
    assert caught.value is one

    def mixed(host: Named):
        if host.name == "test1":
            raise LabCheckFailed(CheckFailure("test1", "xenbr0 up", "down"))
        raise ParseError("xl info", "", "no xen_version")  # an error that names no host
    with pytest.raises(LabCheckFailed) as caught:
        check_each(hosts, mixed)
    assert [str(f) for f in caught.value.failures] == [
        "test1: expected xenbr0 up; saw down", "test2: xl info: no xen_version; saw: empty output"]
    assert caught.value.hosts == ("test1", "test2")
    assert check_each(hosts, lambda h: h.name) == ["test1", "test2"]


def test_the_same_healthy_lab_against_its_baseline_is_no_regression():
    comparison = r.compare(document(HEALTHY), document(copy.deepcopy(HEALTHY)))
    assert not comparison.regressed
    assert comparison.lines()[0] == "no change against the baseline"
    # the migration figures beside the baseline's, reported even when nothing changed
    assert comparison.lines()[1:] == [f"figures    {line}" for line in comparison.figures]
    assert len(comparison.figures) == 1
    assert comparison.figures[0].startswith("lab box: migration: downtime median ")


def test_a_stage_that_passed_and_fails_now_is_a_regression_with_its_cause():
    now = [t if t["stage"] != 5 else record(5, "failed", failure="test2: expected xenbr0; saw none",
                                          failed_host="test2") for t in HEALTHY]
    comparison = r.compare(document(HEALTHY), document(now))
    assert comparison.regressed
    assert comparison.regressions == (
        "lab box: stage 5 (bridge networking on both hosts): passed in the baseline, failed "
        "now: test2: expected xenbr0; saw none",)


def test_a_stage_skipped_because_a_regressed_stage_failed_is_reported_not_a_regression():
    now = [t if t["stage"] not in (1, 2) else record(t["stage"], "failed", failure="target: x")
           if t["stage"] == 1 else record(2, "skipped", failure="stage 1 (iSCSI target exports "
                                                                "the LUN) failed: target: x",
                                          blocked_by=1)
           for t in HEALTHY]
    comparison = r.compare(document(HEALTHY), document(now))
    assert [line.split(":")[1] for line in comparison.regressions] == [
        " stage 1 (iSCSI target exports the LUN)"]
    assert ("lab box: stage 2 (both Xen hosts log in to the target): passed in the baseline, "
            "not checked now: stage 1 (iSCSI target exports the LUN) failed: target: x"
            ) in comparison.changes


def test_a_stage_fixed_since_the_baseline_is_an_improvement_not_a_regression():
    before = [t if t["stage"] != 5 else record(5, "failed") for t in HEALTHY]
    comparison = r.compare(document(before), document(HEALTHY))
    assert not comparison.regressed
    assert comparison.improvements == ("lab box: stage 5 (bridge networking on both hosts): "
                                       "failed in the baseline, passed now",)


def test_an_upgrade_from_the_articles_xen_42_xm_shows_in_the_fingerprint_changes():
    before = document(HEALTHY, {"test1": ARTICLE_PRINT, "test2": ARTICLE_PRINT})
    comparison = r.compare(before, document(HEALTHY))
    assert not comparison.regressed
    assert "lab box: test1: xen 4.2.5-38.el6 -> 4.17.5" in comparison.changes
    assert "lab box: test2: toolstack xm -> xl" in comparison.changes
    assert "lab box: test1: open-iscsi none -> 2.1.8" in comparison.changes


def test_a_longer_downtime_beyond_the_tolerance_is_a_regression_within_it_is_not():
    slower = [t if t["stage"] != 9 else record(9, migrations=[migration(11.0), migration(11.0)])
              for t in HEALTHY]
    assert r.compare(document(HEALTHY), document(slower), tolerance=0.5).regressions == ()
    regressions = r.compare(document(HEALTHY), document(slower), tolerance=0.2).regressions
    assert regressions == ("lab box: downtime: median 11.00 s now, 7.60 s in the baseline "
                           "(more than 20% worse)",)


def test_a_migration_after_which_the_guest_never_answered_is_a_regression():
    lost = [t if t["stage"] != 9 else record(9, migrations=[migration(None)]) for t in HEALTHY]
    assert r.compare(document(HEALTHY), document(lost)).regressed


def test_a_stage_not_run_now_is_reported_but_is_no_regression():
    comparison = r.compare(document(HEALTHY), document([t for t in HEALTHY if t["stage"] != 9]))
    assert not comparison.regressed
    assert any("stage 9 (live migration): passed in the baseline, not run now" in line
               for line in comparison.changes)


@pytest.mark.parametrize("text, error", [
    ("", "not JSON"), ("[]", "format 'list'"), ('{"format": "other/9"}', "format 'other/9'")])
def test_a_file_that_is_not_a_results_file_is_a_one_line_error(tmp_path, text, error):
    path = tmp_path / "old.json"
    path.write_text(text)
    with pytest.raises(r.ResultsError, match=error) as caught:
        r.load_results(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(r.ResultsError, match="cannot read"):
        r.load_results(tmp_path / "missing.json")


def test_results_round_trip_through_the_file(tmp_path):
    path = r.write_results(document(HEALTHY), tmp_path / "sub" / "results.json")
    assert r.load_results(path) == json.loads(json.dumps(document(HEALTHY)))


def test_secrets_are_redacted_everywhere_in_a_record():
    spec = HostSpec("test1", "10.0.0.1", password="hunter2-pw",
                    vars={"iscsi_chap_secret": "chap-s3cret", "guest_name": "busybox",
                          "ansible_ssh_private_key_file": "/root/.ssh/id"})
    assert spec.secrets == ("chap-s3cret", "hunter2-pw")
    seen = record(1, failure="target: saw chap-s3cret")
    seen["steps"][0]["commands"][0]["stdout"] = "password hunter2-pw"
    shown = json.dumps(r.redact(seen, spec.secrets))
    assert "chap-s3cret" not in shown and "hunter2-pw" not in shown and "***" in shown


def test_the_summary_shows_grid_fingerprint_plot_topology_and_findings():
    entry = document(HEALTHY)["labs"]["box"]
    entry["tests"][1]["findings"] = ["test1: ext4 mounted read-write on both hosts. Why ..."]
    page = report.summary_html(entry, ["no change against the baseline"])
    for part in ('id="xenlab-grid"', 'id="xenlab-fingerprint"', 'id="xenlab-migrations"',
                 'id="xenlab-timeline"', "data:image/png;base64,", 'id="xenlab-topology"',
                 "ext4 mounted read-write", 'id="xenlab-baseline"', "4.17.5"):
        assert part in page, part
    assert page.count('class="cell passed"') == 9  # target: 1 stage, test1/test2: 4 each
    assert "guest busybox 198.51.100.4" in page and "(before and after)" not in page


def test_the_timeline_is_a_png_with_one_panel_per_migration():
    png = report.timeline_png([migration(), migration()])
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_steps_html_opens_the_failed_step_and_escapes_output():
    failed = record(2, "failed", failure="test2: expected <session>; saw none")
    failed["steps"][1]["commands"][0]["stdout"] = "<b>not markup</b>"
    page = report.steps_html(failed)
    assert "&lt;b&gt;not markup&lt;/b&gt;" in page and "<b>not markup</b>" not in page
    assert '<details class="xenlab-step" open><summary>' in page
    assert "expected &lt;session&gt;" in page


def test_the_class_page_says_who_is_stuck_where_and_links_each_lab():
    stuck = copy.deepcopy(document(HEALTHY)["labs"]["box"])
    stuck["tests"][1] = record(2, "failed")
    doc = {"format": r.FORMAT, "labs": {"alice": document(HEALTHY)["labs"]["box"],
                                       "bob": stuck}}
    page = report.class_page(doc, {"alice": "alice.html", "bob": "bob.html"})
    assert '<a href="alice.html">alice</a>' in page
    assert "stuck at stage 2" in page and "all run stages pass" in page
