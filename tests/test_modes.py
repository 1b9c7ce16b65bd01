"""Class mode, regression mode and secrets, run inside pytester on local labs (no network).

The lab tests here are plain pytest functions with stage markers; what they
check is this machine. The lab-in-a-box versions are in tests/test_lab_box.py.
"""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from xenlab.box.inventory import class_inventory
from xenlab.plugin import lab_scope

from .test_plugin import LOCAL_LAB, output, suite  # noqa: F401 (suite: a fixture)

# Stage 1 fails in a lab whose name is in $XENLAB_TEST_BROKEN (a comma list); stage 2
# needs it; stage 4 is skipped when $XENLAB_TEST_SKIP4 is set (a stage that stopped passing).
STAGES = """
import os
import pytest

@pytest.mark.stage1_target
def test_target(lab, target_host):
    target_host.run("echo %s; sleep %s", lab.name, os.environ.get("XENLAB_TEST_SLEEP", "0"))
    assert lab.name not in os.environ.get("XENLAB_TEST_BROKEN", "").split(","), "tgtd is down"

@pytest.mark.stage2_initiators
def test_logs_in(lab, xen_hosts):
    xen_hosts[0].run("true")

@pytest.mark.stage4_xen
def test_xen(lab):
    if os.environ.get("XENLAB_TEST_SKIP4"):
        pytest.skip("no xl here")
"""


@pytest.fixture
def classroom(suite, monkeypatch):  # noqa: F811
    suite.makefile(".ini", classroom=class_inventory(LOCAL_LAB, ["alice", "bob", "carol"]))
    suite.makepyfile(test_stages=STAGES)
    monkeypatch.setenv("XENLAB_TEST_BROKEN", "bob")
    return suite


def test_class_mode_runs_every_lab_and_says_who_is_stuck_where(classroom):
    result = classroom.runpytest("--inventory=classroom.ini", "-v", "-rs")
    result.assert_outcomes(passed=7, failed=1, skipped=1)
    result.stdout.fnmatch_lines(["*test_target[[]alice[]] PASSED*", "*test_logs_in[[]alice[]] PASSED*",
                                 "*test_target[[]bob[]] FAILED*", "*test_logs_in[[]bob[]] SKIPPED*",
                                 "*test_target[[]carol[]] PASSED*"])
    page = (classroom.path / "reports" / "latest" / "class-report.html").read_text()
    rows = re.findall(r'<a href="labs/(\w+)\.html">\w+</a></td><td class="xenlab-at">([^<]*)<',
                      page)
    assert rows == [("bob", "stuck at stage 1"), ("alice", "all run stages pass"),
                    ("carol", "all run stages pass")]  # furthest behind first
    bob = (classroom.path / "reports" / "latest" / "labs" / "bob.html").read_text()
    assert "bob_target$ echo bob; sleep 0" in bob and "tgtd is down" in bob
    results = json.loads((classroom.path / "reports" / "latest" / "xenlab-results.json").read_text())
    assert sorted(results["labs"]) == ["alice", "bob", "carol"]
    assert results["labs"]["bob"]["fingerprint"].keys() == {"bob_target", "bob_test1",
                                                            "bob_test2"}


def test_class_mode_under_xdist_keeps_each_lab_on_one_worker(classroom):
    result = classroom.runpytest_subprocess("--inventory=classroom.ini", "-v", "-n", "2",
                                            "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7, failed=1, skipped=1)
    text = output(result)
    assert "scheduling tests via LabScheduling" in text
    workers: dict[str, set[str]] = {}
    for worker, lab in re.findall(r"\[(gw\d)\] .*?\[(alice|bob|carol)\]", text):
        workers.setdefault(lab, set()).add(worker)
    assert workers.keys() == {"alice", "bob", "carol"} and all(
        len(w) == 1 for w in workers.values()), workers
    assert len(set().union(*workers.values())) == 2, workers  # and both workers had work
    page = (classroom.path / "reports" / "latest" / "class-report.html").read_text()
    assert "stuck at stage 1" in page


@pytest.mark.parametrize("nodeid, scope", [
    ("steps/test_01_target.py::test_x[lab2]", "lab2"),
    ("steps/test_09_migration.py::test_y[1-lab2]", "lab2"),
    ("steps/test_09_migration.py::test_y[lab10-1]", "lab10"),
    ("steps/test_01_target.py::test_x", ""), ("tests/test_a.py::test_b[3]", "")])
def test_the_scheduler_scopes_a_test_by_the_lab_in_its_id(nodeid, scope):
    assert lab_scope(nodeid, ["lab1", "lab2", "lab10"]) == scope


def test_regression_mode_exits_non_zero_on_a_regression_even_when_every_test_passes(
        suite, monkeypatch):  # noqa: F811
    suite.makepyfile(test_stages=STAGES)
    first = suite.runpytest("--inventory=lab.ini", "--results=healthy.json")
    first.assert_outcomes(passed=3)
    # The same healthy lab again: no regression.
    same = suite.runpytest("--inventory=lab.ini", "--baseline=healthy.json",
                           "--results=again.json")
    assert same.ret == pytest.ExitCode.OK
    same.stdout.fnmatch_lines(["*xenlab baseline*", "no change against the baseline"])
    # Stage 4 skipped now: no test fails, yet it passed before: a regression, exit 1.
    monkeypatch.setenv("XENLAB_TEST_SKIP4", "1")
    skipped = suite.runpytest("--inventory=lab.ini", "--baseline=healthy.json",
                              "--results=now.json")
    skipped.assert_outcomes(passed=2, skipped=1)
    assert skipped.ret == pytest.ExitCode.TESTS_FAILED
    skipped.stdout.fnmatch_lines(["REGRESSION lab lab: stage 4 (Xen dom0 on both hosts): "
                                  "passed in the baseline, skipped now*"])
    # And the other way round: fixed since the baseline is an improvement, exit 0.
    monkeypatch.delenv("XENLAB_TEST_SKIP4")
    fixed = suite.runpytest("--inventory=lab.ini", "--baseline=now.json")
    assert fixed.ret == pytest.ExitCode.OK
    fixed.stdout.fnmatch_lines(["improved   lab lab: stage 4 (Xen dom0 on both hosts): "
                                "skipped in the baseline, passed now"])
    html = (suite.path / "reports" / "latest" / "lab-report.html").read_text()
    assert 'id="xenlab-baseline"' in html


def test_a_baseline_that_is_not_a_results_file_is_a_one_line_usage_error(suite):  # noqa: F811
    suite.makepyfile(test_stages=STAGES)
    (suite.path / "old.json").write_text("<html>")
    result = suite.runpytest("--inventory=lab.ini", "--baseline=old.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "ERROR: old.json: not a results file (not JSON: Expecting value, line 1)" in (
        result.stderr.str())
    assert "Traceback" not in output(result)


SECRET_PASSWORD = "pw-Xq7-never-shown"
SECRET_CHAP = "chap-Zr4-never-shown"
LEAKY = """
def test_leaks(lab, target_host):
    secret = lab.vars["iscsi_chap_secret"]
    result = target_host.run("echo %s; echo %s >&2", secret, secret)
    print("the secret is", secret)
    assert "***" in result.stdout  # the Host's evidence never holds it
    assert not secret, f"the lab has a CHAP secret: {secret}"  # pytest's own text would
"""


def test_no_password_or_secret_in_any_output_of_a_run(suite):  # noqa: F811
    suite.makefile(".ini", secret=LOCAL_LAB.replace(
        "[lab:vars]", f"[lab:vars]\nansible_password={SECRET_PASSWORD}\n"
                      f"iscsi_chap_secret={SECRET_CHAP}"))
    suite.makepyfile(test_leaks=LEAKY)
    result = suite.runpytest("--inventory=secret.ini", "-rA", "-v", "--junitxml=junit.xml",
                             "--cucumberjson=cucumber.json", "--results=results.json")
    result.assert_outcomes(failed=1)  # it saw the secret in the output, and said so...
    outputs = {"terminal": output(result)} | {
        p.name: p.read_text() for p in suite.path.rglob("*") if p.is_file() and
        p.suffix in (".html", ".json", ".xml")}
    assert {"lab-report.html", "junit.xml", "cucumber.json", "results.json"} <= outputs.keys()
    assert "***" in unescape(outputs["lab-report.html"])  # ...as *** everywhere
    for name, text in outputs.items():
        for secret in (SECRET_PASSWORD, SECRET_CHAP):
            assert secret not in text and secret not in unescape(text), (name, secret)


def test_a_stage_skipped_for_a_failed_stage_is_not_a_second_regression(suite, monkeypatch):  # noqa: F811
    suite.makepyfile(test_stages=STAGES)
    suite.runpytest("--inventory=lab.ini", "--results=healthy.json").assert_outcomes(passed=3)
    monkeypatch.setenv("XENLAB_TEST_BROKEN", "lab")
    result = suite.runpytest("--inventory=lab.ini", "--baseline=healthy.json")
    result.assert_outcomes(passed=1, failed=1, skipped=1)
    regressions = [line for line in result.outlines if line.startswith("REGRESSION")]
    assert regressions == ["REGRESSION lab lab: stage 1 (iSCSI target exports the LUN): passed "
                           "in the baseline, failed now: AssertionError: tgtd is down"]
    result.stdout.fnmatch_lines(["changed    lab lab: stage 2 (both Xen hosts log in to the "
                                 "target): passed in the baseline, not checked now: stage 1 *"])


def test_under_xdist_the_labs_run_side_by_side(classroom, monkeypatch):
    monkeypatch.setenv("XENLAB_TEST_SLEEP", "2")  # each lab's span: 2 s, more than a worker's start
    result = classroom.runpytest_subprocess("--inventory=classroom.ini", "-n", "3",
                                            "-p", "no:cacheprovider")
    result.assert_outcomes(passed=7, failed=1, skipped=1)
    labs = json.loads((classroom.path / "reports" / "latest" / "xenlab-results.json").read_text())["labs"]
    spans = sorted((min(t["start"] for t in e["tests"]), max(t["stop"] for t in e["tests"]))
                   for e in labs.values())
    assert all(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:])), spans
