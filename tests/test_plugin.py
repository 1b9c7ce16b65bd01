"""xenlab.plugin, run inside pytester: naming the lab, fixtures, stage order and skips, reports.

The lab's hosts are this machine (ansible_connection=local): no network.
"""
from __future__ import annotations

import json
import os
import re
import socket
from html import unescape
from pathlib import Path

import pytest

from xenlab.plugin import NO_LAB
from xenlab.stagelist import BY_NUMBER

SHIPPED = Path(__file__).resolve().parent.parent / "inventory.ini"
LOCAL_LAB = re.sub(r"ansible_host=\S+", "ansible_connection=local", SHIPPED.read_text())


@pytest.fixture
def suite(pytester: pytest.Pytester, monkeypatch, tmp_path) -> pytest.Pytester:
    monkeypatch.setenv("XENLAB_STATE", str(tmp_path))  # no lab-in-a-box is up here
    pytester.makeconftest('pytest_plugins = ["xenlab.plugin", "xenlab.steps.conftest"]')
    pytester.makefile(".ini", lab=LOCAL_LAB)
    return pytester


def output(result: pytest.RunResult) -> str:
    return result.stdout.str() + result.stderr.str()


def test_no_lab_is_one_line_and_a_usage_error(suite):
    suite.makepyfile(test_lab="def test_needs_lab(lab): pass")
    result = suite.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {NO_LAB}" in result.stderr.lines
    assert "Traceback" not in output(result)


def test_tests_without_the_lab_need_no_lab(suite):
    suite.makepyfile(test_lab="def test_needs_lab(lab): pass", test_plain="def test_x(): pass")
    assert suite.runpytest("test_plain.py").ret == pytest.ExitCode.OK
    assert suite.runpytest("--collect-only").ret == pytest.ExitCode.OK


def test_a_host_not_in_the_inventory_is_a_usage_error(suite):
    suite.makepyfile(test_lab="def test_needs_lab(lab): pass")
    result = suite.runpytest("--ansible-inventory=lab.ini", "--hosts=ssh://root@test9:22")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert ("ERROR: --hosts ssh://root@test9:22: test9 is not a host of lab.ini "
            "(hosts: target, test1, test2)") in result.stderr.lines


ROLES = """
import pytest

def test_roles(lab, hosts, target_host, xen_hosts, source_host, destination_host, lab_mode,
               lab_host):
    assert (lab.name, sorted(hosts)) == ("lab", ["target", "test1", "test2"])
    assert (target_host.name, source_host.name, destination_host.name) == ("target", "test1", "test2")
    assert [h.name for h in xen_hosts] == ["test1", "test2"]
    assert lab_host("the migration source").backend.host is source_host
    assert lab_host("test2").file("/").is_directory  # testinfra's modules, over our Host
    with pytest.raises(KeyError, match="'the guest' is neither a role"):
        lab_host("the guest")
    assert lab_mode == source_host.mode == "verify"
    assert source_host.run("echo %s", "a b").stdout == "a b\\n"
"""


@pytest.mark.parametrize("option", ["--inventory=lab.ini", "--ansible-inventory=lab.ini",
                                    "--hosts=ansible://all?ansible_inventory=lab.ini"])
def test_role_fixtures(suite, option):
    suite.makepyfile(test_roles=ROLES)
    suite.runpytest(option).assert_outcomes(passed=1)


def test_the_lab_in_a_box_is_used_when_up(suite, tmp_path):
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "inventory.ini").write_text(LOCAL_LAB)
    pid = os.getpid()
    (tmp_path / "box" / "state.json").write_text(
        '{"supervisor": %d, "vms": {"target": {"pid": %d}, "test1": {"pid": %d}, '
        '"test2": {"pid": %d}}}' % (pid, pid, pid, pid))
    suite.makepyfile(test_lab="def test_lab(lab): assert lab.inventory.endswith('box/inventory.ini')")
    suite.runpytest().assert_outcomes(passed=1)


def test_failures_are_one_line_with_the_commands_as_evidence(suite):
    suite.makepyfile(test_lab="""
        def test_fails(source_host):
            source_host.run("echo seen")
            source_host.check("echo 'no such device' >&2; exit 2")

        def test_writes(target_host, tmp_path):
            target_host.change("touch %s", tmp_path / "made")
            assert (tmp_path / "made").exists()
    """)
    result = suite.runpytest("--inventory=lab.ini")
    result.assert_outcomes(failed=2)
    text = output(result)
    assert "test1: `echo 'no such device' >&2; exit 2` rc=2 after" in text
    assert ": no such device" in text
    assert "target: `touch " in text and "refused in verify mode" in text
    assert "def test_fails" not in text and "Traceback" not in text
    result.stdout.fnmatch_lines(["*xenlab commands (call)*", "test1$ echo seen", "  rc=0 in *",
                                 "  stdout:", "    seen"])
    # 2 by the tests, 3 at the end: each host's fingerprint for the report
    result.stdout.fnmatch_lines(["xenlab commands: 5 remote commands, * s of command time; "
                                 "SSH connections: target 0, test1 0, test2 0"])
    suite.runpytest("--inventory=lab.ini", "--lab-mode=build", "-k", "writes"
                    ).assert_outcomes(passed=1)


def test_an_unreachable_host_fails_its_tests_fast_in_one_line(suite):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    suite.makefile(".ini", lab=LOCAL_LAB.replace(
        "target ansible_connection=local", f"target ansible_host=127.0.0.1 ansible_port={port}"))
    suite.makepyfile(test_lab="""
        def test_one(target_host):
            target_host.run("true")

        def test_two(target_host, source_host):
            source_host.run("true")
            target_host.run("true")
    """)
    result = suite.runpytest("--inventory=lab.ini", "--durations=2")
    result.assert_outcomes(failed=2)
    assert output(result).count(f"target (127.0.0.1:{port}): connection refused") >= 2
    assert "Traceback" not in output(result)


STAGED = """
import pytest

@pytest.mark.stage9_migration
def test_migrates(): pass

@pytest.mark.stage2_initiators
def test_logs_in(): pass

@pytest.mark.stage4_xen
def test_xen(): pass

@pytest.mark.stage1_target
def test_target(): assert False, "tgtd is not running"

def test_unstaged(): pass

@pytest.mark.stage6_storage
def test_storage(): pass

@pytest.mark.destructive
def test_mkfs(): pass
"""


def test_stages_run_in_order_and_a_failed_stage_skips_those_that_need_it(suite):
    suite.makepyfile(test_stages=STAGED)
    result = suite.runpytest("--inventory=lab.ini", "-v", "-rs", "--strict-markers")
    result.assert_outcomes(passed=3, failed=1, skipped=3)
    result.stdout.fnmatch_lines([
        "*::test_unstaged PASSED*", "*::test_mkfs PASSED*", "*::test_target FAILED*",
        "*::test_logs_in SKIPPED*", "*::test_xen PASSED*", "*::test_storage SKIPPED*",
        "*::test_migrates SKIPPED*"])
    reason = "stage 1 (iSCSI target exports the LUN) failed: AssertionError: tgtd is not running"
    assert result.stdout.str().count(reason) == 3


def test_an_undeclared_tag_is_an_error(suite):
    suite.makepyfile(test_x="import pytest\n@pytest.mark.stage1_targt\ndef test_x(): pass")
    assert suite.runpytest("--strict-markers").ret == pytest.ExitCode.INTERRUPTED


FEATURE = """\
Feature: iSCSI target

  Background:
    Given the lab inventory names the iSCSI target and two Xen hosts

  @stage1_target
  Scenario: the target exports the lab LUN
    When the target lists its targets
    Then the lab IQN is listed

  @stage2_initiators
  Scenario: the Xen hosts log in
    Then each Xen host has a session

  @stage4_xen
  Scenario: verify mode does not write
    When the source is changed
    Then nothing else happens
"""

STEPS = """
from pytest_bdd import scenarios, then, when

scenarios("lab.feature")

@when("the target lists its targets", target_fixture="listing")
def listing(target_host):
    return target_host.run("echo %s", "Target 1: iqn.2000-01.org.other:t9")

@then("the lab IQN is listed")
def iqn_listed(listing, lab):
    assert lab.require("iscsi_iqn") in listing.stdout, "the lab IQN is not listed"

@then("each Xen host has a session")
def sessions():
    pass

@when("the source is changed")
def change(source_host):
    source_host.change("true")

@then("nothing else happens")
def nothing():
    pass
"""


def test_gherkin_steps_and_evidence_reach_the_reports(suite):
    suite.makefile(".feature", lab=FEATURE)
    suite.makepyfile(test_lab=STEPS)
    result = suite.runpytest("--inventory=lab.ini", "--html=report.html", "-rs")
    result.assert_outcomes(failed=2, skipped=1)
    result.stdout.fnmatch_lines([
        "*Gherkin steps*",
        "passed   Given the lab inventory names the iSCSI target and two Xen hosts",
        "passed   When the target lists its targets",
        "failed   Then the lab IQN is listed",
        "*xenlab commands (call)*",
        "target$ echo 'Target 1: iqn.2000-01.org.other:t9'",
    ])
    result.stdout.fnmatch_lines([
        "When the source is changed: test1: `true` writes to the host; refused in verify mode*",
        "*Gherkin steps*",
        "not run  Then nothing else happens"])
    result.stdout.fnmatch_lines(["SKIPPED * stage 1 (iSCSI target exports the LUN) failed: "
                                 "AssertionError: the lab IQN is not listed"])
    html = unescape((suite.path / "report.html").read_text())  # rows live in a JSON blob
    assert "xenlab-step" in html and "target$ echo" in html
    assert "failed</span> Then the lab IQN is listed (0 commands)" in html
    assert "passed</span> When the target lists its targets (1 command)" in html


RECORDED = """
import pytest
from xenlab.checks import fail

@pytest.mark.stage1_target
def test_check(target_host):
    fail("target", "tgtd running", "stopped")

@pytest.mark.stage4_xen
def test_command(source_host):
    source_host.check("exit 3")

@pytest.mark.stage2_initiators
def test_logs_in(): pass
"""


def test_the_record_holds_the_failed_host_checks_and_blocking_stage_as_data(suite):
    suite.makepyfile(test_lab=RECORDED)
    suite.runpytest("--inventory=lab.ini", "--results=r.json").assert_outcomes(failed=2, skipped=1)
    tests = {t["stage"]: t for t in
             json.loads((suite.path / "r.json").read_text())["labs"]["lab"]["tests"]}
    assert tests[1]["failed_host"] == "target"
    stage1 = BY_NUMBER[1]  # no build step here: a hint without commands, the article's step
    assert tests[1]["failures"] == [{"host": "target", "expected": "tgtd running",
                                     "seen": "stopped", "text": "",
                                     "hint": {"why": stage1.why, "fix": [], "step": stage1.article},
                                     "fix": [],
                                     "line": "target: expected tgtd running; saw stopped"}]
    assert (tests[4]["failed_host"], tests[4]["failures"]) == ("test1", [])
    assert [tests[n]["blocked_by"] for n in (1, 2, 4)] == [None, 1, None]  # 2 needs 1


ROOT = SHIPPED.parent


def run_checkout_suite(tmp_path: Path, *args: str):
    """The acceptance suite of this checkout, as a user runs it from the top, with no lab
    named and no lab-in-a-box up."""
    import subprocess
    import sys

    env = {**os.environ, "XENLAB_STATE": str(tmp_path / "state")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
                           f"--results={tmp_path / 'results.json'}",
                           f"--html={tmp_path / 'report.html'}", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def closed_ports(n: int) -> list[int]:
    """n ports of this machine that nothing listens on (bound, then closed)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@pytest.fixture(scope="module")
def all_unreachable(tmp_path_factory) -> tuple[dict, str, str, dict]:
    """The real suite, verify mode, against the article's lab with every host at a closed
    port of this machine: (the lab's results entry, the HTML report, the terminal, each
    scenario's cucumber JSON steps by test name)."""
    tmp_path = tmp_path_factory.mktemp("unreachable")
    ports = dict(zip(("target", "test1", "test2"), closed_ports(3)))
    inventory = tmp_path / "down.ini"
    inventory.write_text(re.sub(r"^(\w+) ansible_host=\S+",
                                lambda m: f"{m[1]} ansible_host=127.0.0.1 ansible_port={ports[m[1]]}",
                                SHIPPED.read_text(), flags=re.M))
    proc = run_checkout_suite(tmp_path, f"--inventory={inventory}",
                              f"--cucumberjson={tmp_path / 'cucumber.json'}", str(ROOT / "steps"))
    assert "3 failed, 6 skipped" in proc.stdout, proc.stdout[-3000:] + proc.stderr[-2000:]
    [entry] = json.loads((tmp_path / "results.json").read_text())["labs"].values()
    cucumber = {e["id"]: [(f"{s['keyword']} {s['name']}", s["result"]["status"])
                            for s in e["steps"]]
                for f in json.loads((tmp_path / "cucumber.json").read_text())
                for e in f["elements"]}
    return entry, unescape((tmp_path / "report.html").read_text()), proc.stdout, cucumber


BUILD_STEPS = {1: "Given the iSCSI target is configured with the shared LUN",
               5: "Given each Xen host has its lab address on the bridge"}


@pytest.mark.parametrize("stage", BUILD_STEPS)
def test_every_host_unreachable_a_build_step_reads_build_only_and_the_next_step_fails(
        all_unreachable, stage):
    """In verify mode a build step asks nothing of any host (stage 1's does not even detect
    the target's software), so it reads "build only" in the results, the HTML report and
    the terminal (in the cucumber JSON, cucumber's word for a step that did not run:
    skipped): never passed, nor failed for a host it had no need to reach. The first step
    that checks fails; the steps after it never ran."""
    entry, html, terminal, cucumber = all_unreachable
    [record] = [t for t in entry["tests"] if t["stage"] == stage]
    statuses = [(s["text"], s["status"], len(s["commands"])) for s in record["steps"]]
    at = [text for text, _, _ in statuses].index(BUILD_STEPS[stage])
    assert statuses[at] == (BUILD_STEPS[stage], "build only", 0)
    assert statuses[at + 1][1] == "failed"
    assert record["failure"].startswith(statuses[at + 1][0] + ": ")
    assert f"build only</span> {BUILD_STEPS[stage]} (0 commands)" in html
    assert f"build only {BUILD_STEPS[stage]}" in terminal
    assert [status for _, status in cucumber[record["nodeid"].split("::")[-1]]] == (
        ["passed"] * at + ["skipped", "failed"] + ["skipped"] * (len(statuses) - at - 2))


@pytest.mark.parametrize("stage", [4, 5])
def test_every_host_unreachable_a_stage_that_tried_both_xen_hosts_names_both(all_unreachable,
                                                                            stage):
    """Stages 4 and 5 check both Xen hosts at once: test2 was tried too, and refused. It
    reads failed, with its own line, in the results and the grid: not "not checked" (the
    stage did not stop before it), not "not involved"."""
    entry, html, _, _ = all_unreachable
    [record] = [t for t in entry["tests"] if t["stage"] == stage]
    lines = [(f["host"], f["line"]) for f in record["failures"]]
    assert [host for host, _ in lines] == ["test1", "test2"]
    assert re.fullmatch(r"test2 \(127\.0\.0\.1:\d+\): connection refused", lines[1][1])
    from xenlab import results as res
    grid = res.grid(entry)
    assert grid[stage] == {"target": res.NOT_INVOLVED,
                           "test1": "failed", "test2": "failed"}
    row = re.search(rf"<tr><td>{stage}\. .*?</tr>", html)[0]
    assert row.count(">failed</td>") == 2 and ">not involved</td>" in row
    assert "not checked" not in row


@pytest.mark.parametrize("selection", [(), ("-m", "stage5_bridge"), ("-m", "not migration")])
def test_no_lab_is_a_usage_error_whatever_is_selected_and_writes_nothing(tmp_path, selection):
    proc = run_checkout_suite(tmp_path, *selection)
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout[-2000:]
    assert proc.stderr.strip().splitlines() == [f"ERROR: {NO_LAB}"], proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "report.html").exists()


def test_collect_only_writes_no_report(tmp_path):
    proc = run_checkout_suite(tmp_path, "--collect-only", "-q")
    assert proc.returncode == pytest.ExitCode.OK, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "steps/test_05_bridge.py::" in proc.stdout
    assert not (tmp_path / "results.json").exists() and not (tmp_path / "report.html").exists()


def test_q_is_quiet_and_a_normal_run_shows_live_progress(suite):
    suite.makepyfile(test_long='''
import logging

def test_long_step():
    logging.getLogger("xenlab.progress").info("still waiting for the guest")
''')
    suite.makeini((ROOT / "pytest.ini").read_text())  # the checkout's settings
    normal = suite.runpytest("--inventory=lab.ini", "test_long.py")
    assert "still waiting for the guest" in normal.stdout.str()
    quiet = suite.runpytest("--inventory=lab.ini", "-q", "test_long.py")
    quiet.assert_outcomes(passed=1)
    assert "still waiting for the guest" not in quiet.stdout.str()
    assert "live log" not in quiet.stdout.str()


TWO_STAGES = """Feature: Two stages
  @stage1_target
  Scenario: The target exports the disk
    Given the target is down

  @stage2_initiators
  Scenario: The initiators log in
    Given each host logs in
    Then each host sees the disk
"""
TWO_STAGE_STEPS = """
from pytest_bdd import given, scenarios, then

scenarios("two.feature")

@given("the target is down")
def down(lab):
    assert False, "tgtd is down"

@given("each host logs in")
def logs_in(lab):
    pass

@then("each host sees the disk")
def sees(lab):
    pass
"""


def test_cucumber_json_lists_every_scenario_a_skipped_one_with_its_steps_skipped(suite):
    suite.makefile(".feature", two=TWO_STAGES)
    suite.makepyfile(test_two=TWO_STAGE_STEPS)
    suite.runpytest("--inventory=lab.ini", "--cucumberjson=cucumber.json").assert_outcomes(
        failed=1, skipped=1)
    [feature] = json.loads((suite.path / "cucumber.json").read_text())
    seen = {e["name"]: [s["result"]["status"] for s in e["steps"]] for e in feature["elements"]}
    assert seen == {"The target exports the disk": ["failed"],
                    "The initiators log in": ["skipped", "skipped"]}


def test_each_run_keeps_its_reports_in_a_folder_of_its_own(suite):
    suite.makepyfile(test_lab="def test_lab(lab): pass")
    for _ in range(2):
        suite.runpytest("--inventory=lab.ini").assert_outcomes(passed=1)
    assert suite.runpytest("--inventory=lab.ini", "--baseline=nothing.json").ret == 4
    reports = suite.path / "reports"
    runs = sorted(p for p in reports.iterdir() if not p.is_symlink())
    assert len(runs) == 2  # the usage error left none
    for run in runs:
        assert [p.name for p in run.iterdir()] == ["lab-report.html"]
    assert (reports / "latest").resolve() == runs[-1].resolve()


@pytest.mark.parametrize("option, line", [
    ("--ssh-extra-args=-J bastion", "ERROR: --ssh-extra-args: not supported yet*"),
    ("--connection=docker", "ERROR: --connection=docker: not supported*"),
    ("--force-ansible", "ERROR: --force-ansible: not supported*"),
])
def test_testinfras_connection_options_are_refused_not_ignored(suite, option, line):
    suite.makepyfile(test_lab="def test_needs_lab(lab): pass")
    result = suite.runpytest("--inventory=lab.ini", option)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([line])


@pytest.mark.parametrize("options, user", [
    (("--sudo",), "root"), (("--sudo-user=xen",), "xen"), (("--sudo", "--sudo-user=xen"), "xen"),
    ((), None),
])
def test_testinfras_sudo_options_make_every_host_become_that_user(suite, options, user):
    suite.makepyfile(test_lab=f"""
        def test_become(lab):
            assert {{h.become_user for h in lab.hosts}} == {{{user!r}}}
        """)
    result = suite.runpytest("--inventory=lab.ini", *options)
    result.assert_outcomes(passed=1)


BUILD_STEP = """Feature: A stage
  @stage1_target
  Scenario: The target exports the disk
    Given the target is configured
    Then the target lists the disk
"""
BUILD_STEP_STEPS = """
from pytest_bdd import given, scenarios, then

scenarios("stage.feature")

@given("the target is configured")
def configured(build, target_host):
    build(lambda: [f"{target_host.name}: configured the target"])

@then("the target lists the disk")
def lists(target_host):
    target_host.run("true")
"""


@pytest.mark.parametrize("mode, shown", [("verify", "build only"), ("build", "passed")])
def test_a_build_step_in_verify_mode_reads_build_only_never_passed(suite, mode, shown):
    suite.makefile(".feature", stage=BUILD_STEP)
    suite.makepyfile(test_stage=BUILD_STEP_STEPS)
    result = suite.runpytest("--inventory=lab.ini", f"--lab-mode={mode}", "-rA",
                             "--results=results.json")
    result.assert_outcomes(passed=1)
    [record] = [t for lab in json.loads((suite.path / "results.json").read_text())["labs"].values()
                for t in lab["tests"]]
    steps = {s["text"]: s["status"] for s in record["steps"]}
    assert steps == {"Given the target is configured": shown,
                     "Then the target lists the disk": "passed"}
    result.stdout.fnmatch_lines([f"{shown}* Given the target is configured"])


PLANNED_STEPS = """
from pytest_bdd import given, scenarios, then

from xenlab.checks import expect

scenarios("stage.feature")

@given("the target is configured")
def configured(build, target_host, pytestconfig):
    marker = pytestconfig.rootpath / "configured"
    def make():
        if target_host.run("test -e %s", marker).rc == 0:
            return []
        target_host.change("touch -- %s", marker)
        return [f"{target_host.name}: configured the target"]
    build(make)

@then("the target lists the disk")
def lists(target_host, pytestconfig):
    marker = pytestconfig.rootpath / "configured"
    expect(target_host.run("test -e %s", marker).rc == 0, target_host.name,
           "the target configured", "not configured")
"""


def test_plan_mode_lists_build_modes_commands_runs_no_check_and_changes_nothing(suite):
    suite.makefile(".feature", stage=BUILD_STEP)
    suite.makepyfile(test_stage=PLANNED_STEPS)
    result = suite.runpytest("--inventory=lab.ini", "--lab-mode=plan", "-rA",
                             "--results=out/results.json")
    result.assert_outcomes(skipped=1)
    assert not (suite.path / "configured").exists()  # planned, never sent
    result.stdout.fnmatch_lines(["*xenlab plan*", "1 commands in 1 stages*",
                                 "stage 1 (iSCSI target exports the LUN):",
                                 "  target$ touch -- */configured"])
    plan = json.loads((suite.path / "out" / "xenlab-plan.json").read_text())
    [stage] = plan["labs"]["lab"]
    assert stage["changes"] == ["target: configured the target"]
    assert [c["command"] for c in stage["commands"]] == [
        f"touch -- {suite.path / 'configured'}"]
    [record] = json.loads((suite.path / "out" / "results.json").read_text())["labs"]["lab"]["tests"]
    assert [s["status"] for s in record["steps"]] == ["planned", "not run"]
    assert record["failure"] == "plan: 1 command on target"


def test_plan_mode_on_a_built_lab_has_nothing_to_do(suite):
    suite.makefile(".feature", stage=BUILD_STEP)
    suite.makepyfile(test_stage=PLANNED_STEPS)
    (suite.path / "configured").touch()
    result = suite.runpytest("--inventory=lab.ini", "--lab-mode=plan",
                             "--results=out/results.json")
    result.stdout.fnmatch_lines(["*xenlab plan*",
                                 "nothing to do: build mode would change nothing"])


def test_a_failed_check_in_verify_mode_carries_build_modes_fix_as_its_hint(suite):
    suite.makefile(".feature", stage=BUILD_STEP)
    suite.makepyfile(test_stage=PLANNED_STEPS)
    result = suite.runpytest("--inventory=lab.ini", "--results=out/r.json",
                             "--html=report.html")
    result.assert_outcomes(failed=1)
    assert not (suite.path / "configured").exists()
    marker = suite.path / "configured"
    result.stdout.fnmatch_lines([f"hint for target: {BY_NUMBER[1].why} (article: *)",
                                 f"  fix: target$ touch -- {marker}"])
    [record] = json.loads((suite.path / "out" / "r.json").read_text())["labs"]["lab"]["tests"]
    assert record["failures"][0]["hint"] == {"why": BY_NUMBER[1].why,
                                             "fix": [f"target$ touch -- {marker}"],
                                             "step": BY_NUMBER[1].article}
    html = unescape((suite.path / "report.html").read_text())
    assert f"target$ touch -- {marker}" in html and "what to do" in html
    # the fix, run as given, repairs it
    suite.runpytest("--inventory=lab.ini", "--lab-mode=build"
                    ).assert_outcomes(passed=1)
    suite.runpytest("--inventory=lab.ini").assert_outcomes(passed=1)


@pytest.mark.parametrize("where", ["tmp", "beside the checkout"])
@pytest.mark.parametrize("option", ["--ansible-inventory", "--inventory"])
def test_an_inventory_outside_the_checkout_given_after_a_space_runs_the_suite(tmp_path, option,
                                                                             where):
    """pytest takes `PATH` after an option it does not know yet for the directory to run
    in, and settles its rootdir there (or above both, when PATH and the checkout share a
    parent directory); the plugin collects the suite all the same, not the project's own
    tests."""
    import shutil
    import subprocess
    import sys

    base = tmp_path if where == "tmp" else ROOT.parent / f".xenlab-test-{os.getpid()}"
    inventory = base / "my lab" / "lab.ini"
    try:
        inventory.parent.mkdir(parents=True)
        inventory.write_text(LOCAL_LAB)
        proc = subprocess.run([sys.executable, "-m", "pytest", option, str(inventory), "-m",
                               "stage1_target", "-p", "no:cacheprovider", "-rA", "--results",
                               str(tmp_path / "results.json")], cwd=ROOT, capture_output=True,
                              text=True, timeout=300)
    finally:
        if base != tmp_path:
            shutil.rmtree(base, ignore_errors=True)
    assert "collected 11 items / 10 deselected / 1 selected" in proc.stdout, proc.stdout[-3000:]
    assert re.search(r"\b1 (passed|failed), 10 deselected", proc.stdout), proc.stdout[-3000:]
    assert "target$ " in proc.stdout  # a command ran on the inventory's target (here)
