"""Helpers the step modules share (plain functions, not steps)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterable, TypeVar

from xenlab import stages
from xenlab.checks import Finding, report
from xenlab.remote import Host
from xenlab.stages import on_each

T = TypeVar("T")

# The Gherkin files: beside this package in a checkout (steps/, features/), inside it when
# installed (xenlab/steps, xenlab/features). An absolute path: pytest-bdd would otherwise
# read them relative to the rootdir pytest guessed, which a run from elsewhere changes.
FEATURES = Path(__file__).resolve().parent.parent / "features"


def feature(name: str) -> str:
    """The path of a feature file, for scenarios()."""
    return str(FEATURES / name)


def check_each(hosts: Iterable[Host], check: Callable[[Host], T]) -> list[T]:
    """check on every host at once; one failure naming every host that failed
    (xenlab.stages.check_each)."""
    return stages.check_each(hosts, check)


def report_all(findings: Iterable[Finding], hazards_fail: bool) -> None:
    for finding in findings:
        report(finding, hazards_fail)


def report_each(hosts: Iterable[Host], find: Callable[[Host], list[Finding]],
                hazards_fail: bool) -> None:
    """find on every host at once; each host's findings reported, in host order."""
    report_all((f for found in on_each(hosts, find) for f in found), hazards_fail)
