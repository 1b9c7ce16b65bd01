"""The run's shared state: one RunState per pytest run, kept in config.stash, and the keys
of what each test keeps in its item.stash.

Every module of the plugin reads and writes the run through these (no module-level
globals: pytester runs many sessions in one process). The reports' records reach
RunState.results through the Gatherer, on the xdist controller too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from xenlab import results as res
from xenlab.inventory import Lab
from xenlab.remote import Result


class Evidence:
    """The recorder every Host reports to: each Result of the run, in order."""

    def __init__(self) -> None:
        self.results: list[Result] = []

    def __call__(self, result: Result) -> None:
        self.results.append(result)


@dataclass
class RunState:
    labs: dict[str, Lab] | None = None  # by name, in the inventory's order; None: not read yet
    secrets: tuple[str, ...] = ()  # of every lab: never shown in a report (longest first)
    failed: dict[tuple[str, int], str] = field(default_factory=dict)  # (lab, stage) -> 1st line
    evidence: Evidence = field(default_factory=Evidence)
    changes: list[str] = field(default_factory=list)  # what build mode changed, in order
    migrations: list = field(default_factory=list)  # xenlab.migration.MigrationRecord, in order
    hosts: dict = field(default_factory=dict)  # name -> Host, once the hosts fixture made them
    lab_info: dict | None = None  # description + fingerprint, for the next teardown report
    results: res.Results = field(default_factory=res.Results)  # what the reports carried
    comparison: res.Comparison | None = None  # against --baseline
    class_report: Path | None = None  # written in class mode
    tests_ran: bool = False  # a test's setup ran: the run has something to report


BUILD_ONLY = "build only"  # a step that builds, in verify mode: nothing ran, nothing checked
PLANNED = "planned"  # a step that builds, in plan mode: what it would change, listed


@dataclass
class StepRun:
    """One Gherkin step of the test's scenario, as it ran: for its report and record."""

    text: str  # keyword and name: "Given the lab inventory names ..."
    status: str = "not run"  # then passed, failed, BUILD_ONLY or PLANNED
    first: int | None = None  # evidence.results[first:end]: the commands it ran
    end: int | None = None
    planned: list = field(default_factory=list)  # plan mode: xenlab.remote.Planned, in order
    changes: list[str] = field(default_factory=list)  # plan mode: what they would change


STATE = pytest.StashKey[RunState]()
STEPS = pytest.StashKey[list[StepRun]]()  # the scenario's steps, in order
SEEN = pytest.StashKey[int]()  # evidence results already attached to the item's reports
FINDINGS = pytest.StashKey[list]()  # hazard warnings of the item's call
MIGRATIONS = pytest.StashKey[list]()  # migration records of the item
BUILDERS = pytest.StashKey[list]()  # verify mode: the build steps' make(), for the hints
BLOCKED_BY = pytest.StashKey[int]()  # the failed prerequisite stage the item is skipped for
# A report attribute (it travels with the report under xdist): the indices in
# report.sections of the sections the HTML report shows as the record's steps instead.
SECTIONS_AS_HTML = "xenlab_sections_as_html"


class Gatherer:
    """Gathers what the reports carry (on the xdist controller: from every worker).

    A plugin object of its own: pytest_runtest_logreport is given the report only,
    not the config its state is in.
    """

    def __init__(self, state: RunState) -> None:
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.state.tests_ran = True
        for kind, value in getattr(report, "xenlab", ()):
            self.state.results.add(kind, value)


@pytest.hookimpl(tryfirst=True)  # before any other hook of the plugin reads the state
def pytest_configure(config: pytest.Config) -> None:
    config.stash[STATE] = RunState()
    config.pluginmanager.register(Gatherer(config.stash[STATE]), "xenlab-results")
