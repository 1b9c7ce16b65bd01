"""How a lab check fails, and how a hazard is reported.

A failed check is data: `CheckFailure(host, expected, seen)`, raised inside a
`LabCheckFailed` (one or more of them: a check run on every host at once fails
once, naming each host that failed). The terminal line, the results JSON, the
grid and the HTML report read those fields; nothing parses the text back.
Its one line is `host: expected E; saw S`.

A hazard (a lab that works but is unsafe, as the article's is in places) is a
warning that says why it matters and what is safe instead; `--hazards=fail` makes it
a failure. A part of the lab that a reboot would not bring back (`RebootFinding`) is
reported the same way, with the fix.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass
from typing import Any, Callable, ClassVar, NoReturn


@dataclass(frozen=True)
class Hint:
    """What to do about a failed check: why it matters (one sentence), the commands that fix
    it on that host with the lab's values (build mode's own, as a plan gives them), and the
    article's step they come from."""

    why: str
    fix: tuple[str, ...] = ()
    step: str = ""


@dataclass(frozen=True)
class CheckFailure:
    """What one check expected on one host and what it saw there."""

    host: str
    expected: str
    seen: str
    text: str = ""  # the whole line, where it is not "expected ...; saw ..." (a refusal)
    hint: Hint | None = None  # attached by the plugin once the stage has failed
    fix: tuple[str, ...] = ()  # commands the check itself knows fix it (the hint's first)

    def __str__(self) -> str:
        return self.text or f"{self.host}: expected {self.expected}; saw {self.seen}"

    def data(self) -> dict[str, Any]:
        """The failure for the results JSON and the reports."""
        return {**asdict(self), "line": str(self)}  # hint: {why, fix, step} or None


class LabCheckFailed(AssertionError):
    """A lab is not in the state a step states: the failures, each host/expected/seen."""

    def __init__(self, *failures: CheckFailure, sep: str = "; ") -> None:
        if not failures:
            raise ValueError("LabCheckFailed needs at least one CheckFailure")
        self.failures = failures
        super().__init__(sep.join(str(f) for f in failures))

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts the failures name, first named first, each once."""
        return tuple(dict.fromkeys(f.host for f in self.failures))


def fail(host: str, expected: str, seen: str, fix: tuple[str, ...] = ()) -> NoReturn:
    raise LabCheckFailed(CheckFailure(host, expected, seen, fix=fix))


def refuse(host: str, expected: str, seen: str, text: str) -> NoReturn:
    """A check that refuses to go on (build mode's safety), with its own one line."""
    raise LabCheckFailed(CheckFailure(host, expected, seen, text=f"{host}: {text}"))


def expect(ok: bool, host: str, expected: str, seen: object, fix: tuple[str, ...] = ()) -> None:
    if not ok:
        fail(host, expected, str(seen), fix)


def every(checks: tuple[Callable[..., None], ...], *args: Any) -> None:
    """Each check on args, all of them; one LabCheckFailed naming each that failed (a move's
    proofs: the reader sees every one that failed, not the first)."""
    failures = []
    for check in checks:
        try:
            check(*args)
        except LabCheckFailed as exc:
            failures.extend(exc.failures)
    if failures:
        raise LabCheckFailed(*failures, sep=" | ")


class LabHazard(UserWarning):
    """A finding about the lab: it works, but is unsafe."""


@dataclass(frozen=True)
class Finding:
    host: str
    what: str
    why: str
    safe: str
    kind: ClassVar[str] = "hazard"

    def line(self) -> str:
        return f"{self.host}: {self.what}. Why it matters: {self.why}. Safe instead: {self.safe}."


class RebootFinding(Finding):
    """A part of the lab that works now and would not come back after a reboot: `what`,
    `why` it matters, and `safe`: the fix, as commands for this lab's values."""

    kind = "reboot"

    def line(self) -> str:
        return (f"{self.host}: {self.what} would not come back after a reboot. "
                f"Why it matters: {self.why}. Fix: {self.safe}.")


def report(finding: Finding, fail: bool) -> None:
    """Warn about a hazard; with --hazards=fail, fail the step instead."""
    if fail:
        raise LabCheckFailed(CheckFailure(finding.host, f"no {finding.kind} finding ({finding.safe})",
                                          finding.what, text=f"[{finding.kind}] {finding.line()}"))
    warnings.warn(LabHazard(finding.line()), stacklevel=2)
