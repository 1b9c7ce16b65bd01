"""Each Gherkin scenario's steps as they run: text, status, and which of the run's
commands (evidence indices) each step ran, for the reports.

pytest-bdd names the step in every step hook; it is found in the scenario's list
by identity (two steps may read alike), never guessed from which ran last.
"""
from __future__ import annotations

import inspect

import pytest

from xenlab.plugin.state import BUILD_ONLY, BUILDERS, PLANNED, STATE, STEPS, StepRun
from xenlab.results.views import PLAN_PREFIX

# The fixtures a step that builds asks for (steps/conftest.py): in plan mode the scenario
# runs up to its last such step (the article's stages build before they check).
BUILD_FIXTURES = ("build", "build_on_each")


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, scenario) -> None:
    request.node.stash[STEPS] = [StepRun(f"{s.keyword.strip()} {s.name}") for s in scenario.steps]


def pytest_bdd_before_step(request: pytest.FixtureRequest, scenario, step, step_func) -> None:
    _run_of(request, scenario, step).first = _commands_so_far(request)
    if (request.config.getoption("lab_mode", "verify") == "plan"
            and not _in_background(scenario, step) and not _builds(step_func)):
        _end_of_plan(request, scenario, step)


def _in_background(scenario, step) -> bool:
    """A step of the feature's Background (a scenario's rendered steps start with them, and
    pytest-bdd does not mark them as such)."""
    background = scenario.feature.background
    return scenario.steps.index(step) < (len(background.steps) if background else 0)


def _builds(step_func) -> tuple[str, ...]:
    return tuple(n for n in inspect.signature(step_func).parameters if n in BUILD_FIXTURES)


def _end_of_plan(request: pytest.FixtureRequest, scenario, step) -> None:
    """Plan mode: the scenario's steps that build have listed their changes; the checks
    after them are not run (a plan reads only what the build reads)."""
    runs = request.node.stash[STEPS]
    run = _run_of(request, scenario, step)
    run.first = None
    planned = [p for r in runs for p in r.planned]
    hosts = sorted({p.host for p in planned})
    pytest.skip(PLAN_PREFIX + (f"{len(planned)} command{'s' if len(planned) != 1 else ''} on "
                               f"{', '.join(hosts)}" if planned else "nothing to change"))


def pytest_bdd_after_step(request: pytest.FixtureRequest, scenario, step) -> None:
    _ended(request, scenario, step, "passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest, scenario, step) -> None:
    _ended(request, scenario, step, "failed")


def _ended(request: pytest.FixtureRequest, scenario, step, status: str) -> None:
    run = _run_of(request, scenario, step)
    if not (run.status in (BUILD_ONLY, PLANNED) and status == "passed"):
        run.status = status
    run.end = _commands_so_far(request)


def mark_build_only(node: pytest.Item, make=None) -> None:
    """The running step builds, and this run only verifies: it reads "build only" in the
    reports, never "passed" (it checked nothing). `make` is kept: if a check of the scenario
    fails, it plans the fix (xenlab.plugin.hints)."""
    if (running := _running_step(node)) is not None:
        running.status = BUILD_ONLY
    if make is not None:
        node.stash.setdefault(BUILDERS, []).append(make)


def mark_planned(node: pytest.Item, changes: list[str], planned: list) -> None:
    """The running step builds, and this run plans: it reads "planned" in the reports, with
    the commands build mode would run (xenlab.remote.Planned) and what they change."""
    if (running := _running_step(node)) is not None:
        running.status = PLANNED
        running.planned += planned
        running.changes += changes


def _running_step(node: pytest.Item) -> StepRun | None:
    """The scenario's step that is running now (started, not ended)."""
    running = [run for run in node.stash.get(STEPS, []) if run.first is not None and run.end is None]
    return running[-1] if running else None


def _run_of(request: pytest.FixtureRequest, scenario, step) -> StepRun:
    """pytest-bdd's steps compare by identity, so index() finds this very step."""
    return request.node.stash[STEPS][scenario.steps.index(step)]


def _commands_so_far(request: pytest.FixtureRequest) -> int:
    return len(request.config.stash[STATE].evidence.results)


# What cucumber calls a step of ours that checked nothing: it did not run.
CUCUMBER_STATUS = {BUILD_ONLY: "skipped", "not run": "skipped", PLANNED: "skipped"}


def pytest_sessionstart(session: pytest.Session) -> None:
    """pytest-bdd made its cucumber JSON writer when it was configured (--cucumberjson)."""
    cucumber = getattr(session.config, "_bddcucumberjson", None)
    if cucumber is not None and not session.config.pluginmanager.has_plugin("xenlab-cucumber"):
        session.config.pluginmanager.register(CucumberSteps(cucumber), "xenlab-cucumber")


class CucumberSteps:
    """pytest-bdd's cucumber JSON says "passed" for every step of a scenario that did not
    fail, and "failed" for the steps after a failed one: a build step in verify mode
    (nothing ran, nothing checked) and a step that never ran are "skipped" there, as in
    the record the report carries. A plugin object of its own: pytest_runtest_logreport
    is given the report only, not the config the writer is on."""

    def __init__(self, cucumber) -> None:
        self.cucumber = cucumber

    @pytest.hookimpl(trylast=True)  # after the writer took the report's scenario
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        records = [value for kind, value in getattr(report, "xenlab", ()) if kind == "xenlab"]
        if report.when != "call" or not records:
            return
        from pytest_bdd.reporting import test_report_context_registry

        context = test_report_context_registry.get(report)
        if context is None:  # not a scenario
            return
        feature = self.cucumber.features.get(context.scenario["feature"]["filename"], {})
        elements = feature.get("elements") or [{}]
        if elements[-1].get("id") != context.name:
            return
        for step, ours in zip(elements[-1]["steps"], records[0]["steps"]):
            if ours["status"] in CUCUMBER_STATUS:
                step["result"] = {"status": CUCUMBER_STATUS[ours["status"]],
                                  "duration": step["result"]["duration"]}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if call.when == "setup" and report.skipped:
        _cucumber_skipped(item, report)
    return report


def _cucumber_skipped(item: pytest.Item, report: pytest.TestReport) -> None:
    """pytest-bdd's cucumber JSON lists a scenario from its call report. A scenario skipped
    before it started (a stage whose prerequisite failed) has none, so it gets one here:
    the scenario with each step skipped, and the skip's reason on the report."""
    cucumber = getattr(item.config, "_bddcucumberjson", None)
    if cucumber is None:
        return
    from pytest_bdd.reporting import (ReportContext, ScenarioReport, StepReport,
                                      test_report_context_registry)
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    template = scenario_wrapper_template_registry.get(getattr(item, "obj", None))
    if template is None:  # not a scenario
        return
    callspec = getattr(item, "callspec", None)
    scenario = template.render(callspec.params.get("_pytest_bdd_example", {}) if callspec else {})
    scenario_report = ScenarioReport(scenario)
    for step in scenario.steps:
        step_report = StepReport(step)
        step_report.finalize(failed=True)  # not passed: pytest-bdd then takes the report's "skipped"
        scenario_report.add_step_report(step_report)
    as_call = pytest.TestReport(report.nodeid, report.location, report.keywords, "skipped",
                                report.longrepr, "call")
    test_report_context_registry[as_call] = ReportContext(scenario=scenario_report.serialize(),
                                                          name=item.name)
    cucumber.pytest_runtest_logreport(as_call)
