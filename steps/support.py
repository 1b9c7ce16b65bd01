"""Helpers the step modules share (plain functions, not steps)."""
from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from xenlab.checks import Finding, LabCheckFailed, report
from xenlab.remote import Host
from xenlab.stages import on_each

T = TypeVar("T")


def check_each(hosts: Iterable[Host], check: Callable[[Host], T]) -> list[T]:
    """check on every host at once; one failure naming every host that failed."""
    def guarded(host: Host):
        try:
            return check(host)
        except LabCheckFailed as exc:
            return exc
    results = on_each(hosts, guarded)
    failures = [f for r in results if isinstance(r, LabCheckFailed) for f in r.failures]
    if failures:
        raise LabCheckFailed(*failures)
    return results


def report_all(findings: Iterable[Finding], hazards_fail: bool) -> None:
    for finding in findings:
        report(finding, hazards_fail)
