"""What a test ran and saw, on its reports: the commands of each phase as evidence, the
hazards it warned about, a one-line failure, and its record (xenlab.results) carried
on the report as `report.xenlab` (it travels with the report under xdist). No secret
of any lab in any of it.
"""
from __future__ import annotations

import warnings

import pytest

from xenlab import results as res
from xenlab.checks import LabCheckFailed, LabHazard
from xenlab.errors import XenlabError, first_line
from xenlab.plugin.hints import hint_lines, with_hints
from xenlab.plugin.labs import lab_name_of, lab_of
from xenlab.plugin.order import stage_of
from xenlab.plugin.state import (BLOCKED_BY, FINDINGS, MIGRATIONS, SECTIONS_AS_HTML, SEEN, STATE,
                                 STEPS, RunState, StepRun)
from xenlab.remote import Result

SHOWN_LINES = 20  # of each command's stdout/stderr in a report


@pytest.hookimpl(tryfirst=True)  # before the fixtures of the setup run commands
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[SEEN] = len(item.config.stash[STATE].evidence.results)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Keep the hazards a test warned about for its record; pytest still sees every warning."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return (yield)
    finally:
        item.stash[FINDINGS] = [str(w.message) for w in caught
                                if issubclass(w.category, LabHazard)]
        for w in caught:  # outside the block: the run's filters (-W, filterwarnings) apply
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    state = item.config.stash[STATE]
    failed = call.excinfo.value if report.failed and call.excinfo else None
    if (isinstance(failed, LabCheckFailed) and call.when == "call"
            and item.config.getoption("lab_mode", "verify") == "verify"):
        failed = with_hints(item, failed)
    if isinstance(failed, XenlabError | LabCheckFailed):
        failed_step = next((s.text for s in item.stash.get(STEPS, []) if s.status == "failed"),
                           None)
        report.longrepr = "\n".join([(f"{failed_step}: " if failed_step else "") + str(failed),
                                     *(hint_lines(failed) if isinstance(failed, LabCheckFailed)
                                       else ())])
    stage = stage_of(item)
    if report.failed and stage:
        state.failed.setdefault((lab_name_of(item), stage.number), _failure_line(report))
    as_html = []  # our call sections, which the HTML report draws from the record instead
    if report.when == "call" and STEPS in item.stash:
        as_html.append(len(report.sections))
        report.sections.append(("Gherkin steps", "\n".join(
            f"{s.status:8} {s.text}" + "".join(f"\n           {p.host}$ {p.line()}"
                                               for p in s.planned)
            for s in item.stash[STEPS])))
    seen = item.stash.get(SEEN, len(state.evidence.results))
    phase = (seen, len(state.evidence.results))  # this phase's commands
    if results := state.evidence.results[seen:]:
        if report.when == "call":
            as_html.append(len(report.sections))
        report.sections.append((f"xenlab commands ({report.when})", _evidence_text(results)))
        item.stash[SEEN] = len(state.evidence.results)
    _redact_report(report, state)
    carried = []  # travels with the report (xdist too) to Results, the reports, the JSON
    if (STEPS in item.stash or stage) and (
            report.when == "call" or (report.when == "setup" and not report.passed)):
        carried.append(("xenlab", _record(item, report, failed, phase)))
    if report.when == "teardown" and state.lab_info is not None:
        carried.append(("xenlab_lab", state.lab_info))
        state.lab_info = None
    if carried:
        report.xenlab = carried
        setattr(report, SECTIONS_AS_HTML, as_html)
    return report


def _redact_report(report: pytest.TestReport, state: RunState) -> None:
    """No password or secret var of any lab in what pytest shows (the terminal, the HTML
    report, JUnit XML): a failure's text and every captured section."""
    secrets = state.secrets
    if not secrets:
        return
    if report.longrepr is not None and any(s in report.longreprtext for s in secrets):
        report.longrepr = res.redact(report.longreprtext, secrets)
    report.sections = [(title, res.redact(text, secrets)) for title, text in report.sections]


def _record(item: pytest.Item, report: pytest.TestReport, failed: BaseException | None,
            phase: tuple[int, int]) -> dict:
    """What the reports and a later --baseline need of one scenario (no secret in it).

    A test that is not a Gherkin scenario is one step: its body, with the phase's commands.
    """
    state = item.config.stash[STATE]
    lab = lab_of(item)
    stage = stage_of(item)
    scenario = getattr(item.obj, "__scenario__", None)
    steps = item.stash.get(STEPS, None) or [StepRun(item.name, report.outcome, *phase)]
    record = {
        "lab": lab.name if lab else "lab", "nodeid": item.nodeid,
        "stage": stage.number if stage else None,
        "scenario": scenario.name if scenario is not None else item.name,
        "outcome": report.outcome,
        "failure": _failure_line(report) if report.failed else _skip_reason(report),
        **res.failure_data(failed),  # failed_host, failures
        "blocked_by": item.stash.get(BLOCKED_BY, None),  # skipped: this stage failed first
        "steps": [_step_record(s, state.evidence.results) for s in steps],
        "findings": item.stash.get(FINDINGS, []),
        "migrations": [res.migration_record(m) for m in item.stash.get(MIGRATIONS, [])],
        "duration_s": round(report.duration, 3),
        "start": report.start, "stop": report.stop,  # epoch: when labs ran side by side
    }
    return res.redact(record, state.secrets)


def _step_record(step: StepRun, results: list[Result]) -> dict:
    commands = results[step.first:step.end] if step.first is not None else []
    record = {"text": step.text, "status": step.status,
              "commands": [res.command_record(r) for r in commands]}
    if step.planned or step.changes:  # plan mode: what build mode would run here
        record["planned"] = [p.data() for p in step.planned]
        record["changes"] = list(step.changes)
    return record


def _skip_reason(report: pytest.TestReport) -> str:
    if not (report.skipped and isinstance(report.longrepr, tuple)):
        return ""
    return str(report.longrepr[2]).removeprefix("Skipped: ")


def _failure_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    return first_line(crash.message if crash else report.longreprtext) or "failed"


def _evidence_text(results: list[Result]) -> str:
    lines = []
    for r in results:
        lines.append(f"{r.host}$ {r.command}")
        lines.append(f"  {'timed out' if r.rc is None else f'rc={r.rc}'} "
                     f"in {r.duration_s:.2f}s")
        for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
            shown = text.rstrip().splitlines()
            if shown:
                more = len(shown) - SHOWN_LINES
                lines += [f"  {name}:"] + [f"    {s}" for s in shown[:SHOWN_LINES]]
                lines += [f"    ... ({more} more lines)"] if more > 0 else []
    return "\n".join(lines)
