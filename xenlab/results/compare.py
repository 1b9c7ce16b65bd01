"""Regression mode: what changed from a baseline results document to this run's, lab by
lab; a regression makes the run's exit status non-zero."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from xenlab.results.views import migrations, stage_outcomes
from xenlab.stagelist import BY_NUMBER


@dataclass(frozen=True)
class Comparison:
    regressions: tuple[str, ...]  # the exit status is non-zero when there is one
    improvements: tuple[str, ...]
    changes: tuple[str, ...]  # fingerprint differences, stages not run now: reported only
    figures: tuple[str, ...] = ()  # the migrations' medians beside the baseline's, always

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def lines(self) -> list[str]:
        out = [f"REGRESSION {line}" for line in self.regressions]
        out += [f"improved   {line}" for line in self.improvements]
        out += [f"changed    {line}" for line in self.changes]
        return (out or ["no change against the baseline"]) + [
            f"figures    {line}" for line in self.figures]


def compare(baseline: dict[str, Any], current: dict[str, Any], tolerance: float = 0.5
            ) -> Comparison:
    """What changed from `baseline` to `current` (two results documents), lab by lab.

    A stage that passed and fails, or is skipped, now is a regression; one skipped
    because a stage it needs failed is only reported (the failed stage is the regression).

    Labs are matched by name; a run of one lab against a baseline of one lab
    compares them whatever their names. A migration figure regresses when it
    is worse than the baseline's by more than `tolerance` (0.5: 50 %).
    """
    regressions: list[str] = []
    improvements: list[str] = []
    changes: list[str] = []
    figures: list[str] = []
    pairs = _pairs(baseline["labs"], current["labs"])
    for name in sorted(set(baseline["labs"]) - {b for b, _ in pairs}):
        changes.append(f"lab {name}: in the baseline, not in this run")
    for before_name, now_name in pairs:
        before, now = baseline["labs"][before_name], current["labs"][now_name]
        lab = f"lab {now_name}: "
        was, is_ = stage_outcomes(before["tests"]), stage_outcomes(now["tests"])
        for number in sorted(set(was) | set(is_)):
            stage = f"stage {number} ({BY_NUMBER[number].title})"
            a, b = was.get(number), is_.get(number)
            if a == b:
                continue
            if b is None:
                changes.append(f"{lab}{stage}: {a} in the baseline, not run now")
            elif a is None:
                changes.append(f"{lab}{stage}: not in the baseline, {b} now")
            elif a == "passed" and b == "skipped" and _skipped_for_failed_stage(
                    now["tests"], number, is_):
                changes.append(f"{lab}{stage}: passed in the baseline, not checked now: "
                               f"{_first_failure(now['tests'], number)}")
            elif a == "passed":
                why = _first_failure(now["tests"], number)
                regressions.append(f"{lab}{stage}: passed in the baseline, {b} now"
                                   + (f": {why}" if why else ""))
            elif b == "passed":
                improvements.append(f"{lab}{stage}: {a} in the baseline, passed now")
            else:
                changes.append(f"{lab}{stage}: {a} in the baseline, {b} now")
        changes += [lab + line for line in _fingerprint_changes(before["fingerprint"],
                                                                now["fingerprint"])]
        regressions += [lab + line for line in _migration_regressions(
            migrations(before), migrations(now), tolerance)]
        figures += [lab + line for line in _migration_figures(migrations(before),
                                                              migrations(now))]
    return Comparison(tuple(regressions), tuple(improvements), tuple(changes), tuple(figures))


def _pairs(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, str]]:
    if len(before) == 1 and len(now) == 1:
        return [(next(iter(before)), next(iter(now)))]
    return [(name, name) for name in sorted(now) if name in before]


def _skipped_for_failed_stage(tests: list[dict[str, Any]], stage: int,
                              outcomes: dict[int, str]) -> bool:
    """Skipped because a stage it needs failed (that failure is the regression to report)."""
    return any(outcomes.get(t.get("blocked_by")) == "failed"
               for t in tests if t["stage"] == stage)


def _first_failure(tests: list[dict[str, Any]], stage: int) -> str | None:
    return next((t["failure"] for t in tests if t["stage"] == stage and t.get("failure")), None)


def _fingerprint_changes(before: dict[str, dict], now: dict[str, dict]) -> list[str]:
    lines = []
    for host in sorted(set(before) & set(now)):
        for part in before[host]:
            a, b = before[host].get(part), now[host].get(part)
            if a != b:
                lines.append(f"{host}: {part} {a or 'none'} -> {b or 'none'}")
    return lines


def _values(migrations_: list[dict], key: str) -> list[float]:
    """The migrations' figure `key` (e.g. downtime_s), where they have one."""
    return [m[key] for m in migrations_ if m.get(key) is not None]


def _migration_figures(before: list[dict], now: list[dict]) -> list[str]:
    """The migrations' medians beside the baseline's (reported whether better or worse)."""
    parts = []
    for key, what in (("downtime_s", "downtime"), ("wall_s", "time")):
        a, b = _values(before, key), _values(now, key)
        if a and b:
            parts.append(f"{what} median {statistics.median(b):.2f} s now "
                         f"({len(b)} moves), {statistics.median(a):.2f} s in the baseline "
                         f"({len(a)})")
    return [f"migration: {'; '.join(parts)}"] if parts else []


def _migration_regressions(before: list[dict], now: list[dict], tolerance: float) -> list[str]:
    lines = []
    for key, what in (("downtime_s", "downtime"), ("wall_s", "migration time")):
        a, b = _values(before, key), _values(now, key)
        if a and any(m.get(key) is None for m in now):
            lines.append(f"{what}: a migration with no figure now (the guest did not answer "
                         f"after it)")
        if not a or not b:
            continue
        was, is_ = statistics.median(a), statistics.median(b)
        if is_ > was * (1 + tolerance):
            lines.append(f"{what}: median {is_:.2f} s now, {was:.2f} s in the baseline "
                         f"(more than {tolerance:.0%} worse)")
    return lines
