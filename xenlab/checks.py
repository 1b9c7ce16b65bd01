"""How a lab check fails, and how a hazard is reported.

A failed check is one line: the host, what was expected, what was seen.
A hazard (a lab that works but is unsafe, as the article's is in places) is a
warning that says why it matters and what is safe instead; `--strict` makes it
a failure.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NoReturn


class LabCheckFailed(AssertionError):
    """A lab is not in the state a step states (one line: host, expected, seen)."""


def fail(host: str, expected: str, seen: str) -> NoReturn:
    raise LabCheckFailed(f"{host}: expected {expected}; saw {seen}")


def expect(ok: bool, host: str, expected: str, seen: object) -> None:
    if not ok:
        fail(host, expected, str(seen))


class LabHazard(UserWarning):
    """A finding about the lab: it works, but is unsafe."""


@dataclass(frozen=True)
class Finding:
    host: str
    what: str
    why: str
    safe: str

    def line(self) -> str:
        return f"{self.host}: {self.what}. Why it matters: {self.why}. Safe instead: {self.safe}."


def report(finding: Finding, strict: bool) -> None:
    """Warn about a hazard; with --strict, fail the step instead."""
    if strict:
        raise LabCheckFailed(f"[strict] {finding.line()}")
    warnings.warn(LabHazard(finding.line()), stacklevel=2)
