"""What the reports draw from a lab's entry of a results document: each stage's worst
outcome, the stage x host grid, the migrations, the findings; for the class report, how
far each lab got and its first failure."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from xenlab.stagelist import STAGES

OUTCOMES = ("failed", "skipped", "passed")  # worst first
NOT_INVOLVED = "-"  # a host the stage does not check
NOT_CHECKED = "not checked"  # a host the stage checks, never reached: the stage failed first
TO_DO = "to do"  # plan mode: build mode would change this host in this stage
NOTHING_TO_DO = "nothing to do"  # plan mode: build mode would change nothing here
PLAN_PREFIX = "plan: "  # a plan mode record's reason: its checks were not run


def stage_outcomes(tests: list[dict[str, Any]]) -> dict[int, str]:
    """Stage -> its worst outcome over its scenarios (failed, skipped, passed)."""
    found: dict[int, str] = {}
    for test in tests:
        if test.get("stage") is None:
            continue
        now = found.get(test["stage"])
        if now is None or OUTCOMES.index(test["outcome"]) < OUTCOMES.index(now):
            found[test["stage"]] = test["outcome"]
    return found


def grid(entry: dict[str, Any]) -> dict[int, dict[str, str]]:
    """Stage -> host -> passed / failed / skipped / "not checked" / "-".

    A failure counts against every host its failed checks name (else the host its
    error is about); when it names none, against the host of the last command of the
    failed step; when that is unknown too, against every host. A host of the roles the
    stage checks that a failed stage never reached, or passed only the steps before the
    failed one (it stopped at the first failure, later steps not run), is "not checked";
    "-": a host the stage does not check, and did not touch.
    """
    hosts = [h["name"] for h in entry["lab"]["hosts"]]
    roles = {h["name"]: set(h.get("roles") or ()) for h in entry["lab"]["hosts"]}
    table: dict[int, dict[str, str]] = {}
    for stage in STAGES:
        tests = [t for t in entry["tests"] if t.get("stage") == stage.number]
        if not tests:
            continue
        row = dict.fromkeys(hosts, NOT_INVOLVED)
        for test in tests:
            touched = {c["host"] for s in test["steps"] for c in s["commands"]}
            if (test.get("failure") or "").startswith(PLAN_PREFIX):
                todo = {p["host"] for s in test["steps"] for p in s.get("planned", ())}
                for host in touched | todo:
                    row[host] = TO_DO if host in todo or row[host] == TO_DO else NOTHING_TO_DO
                continue
            for host in touched:
                if row.get(host) in (NOT_INVOLVED, "skipped", None):
                    row[host] = "passed"
            if test["outcome"] == "skipped" and not touched:
                for host in hosts:
                    if row[host] == NOT_INVOLVED:
                        row[host] = "skipped"
            if test["outcome"] == "failed":
                blamed = _blamed(test) or hosts
                for host in blamed:
                    row[host] = "failed"
                # Steps after the failed one never ran: a host that passed the steps before
                # it was checked in part only, and reads so, not "passed".
                stopped = any(s["status"] == "not run" for s in test["steps"])
                for host in hosts:
                    reached = row[host] == "passed" and stopped and host not in blamed
                    if (row[host] == NOT_INVOLVED or reached) and roles[host] & set(stage.checks):
                        row[host] = NOT_CHECKED
        table[stage.number] = row
    return table


def _blamed(test: dict[str, Any]) -> list[str]:
    """The hosts a failed test's record names (results files without `failures` too)."""
    named = [f["host"] for f in test.get("failures") or ()]
    fallback = test.get("failed_host") or _last_host(test)
    return list(dict.fromkeys(named)) or ([fallback] if fallback else [])


def _last_host(test: dict[str, Any]) -> str | None:
    failed = [s for s in test["steps"] if s["status"] == "failed"]
    commands = failed[-1]["commands"] if failed else []
    return commands[-1]["host"] if commands else None


def migrations(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for t in entry["tests"] for m in t.get("migrations", [])]


def findings(entry: dict[str, Any]) -> list[str]:
    """Every hazard the run warned about, once each, in the order seen."""
    return list(dict.fromkeys(f for t in entry["tests"] for f in t.get("findings", [])))


def plan(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """A plan run's lab, stage by stage in the article's order: what build mode would change
    (`changes`) and the commands it would run, each once (a Background step that builds
    plans again in every round of its Scenario Outline), with its host and whether it
    destroys data. Stages with nothing to do have empty lists."""
    stages = []
    for stage in STAGES:
        tests = [t for t in entry["tests"] if t.get("stage") == stage.number]
        if not tests:
            continue
        changes: dict[str, None] = {}
        commands: dict[str, dict[str, Any]] = {}
        for test in tests:
            for step in test["steps"]:
                changes.update(dict.fromkeys(step.get("changes", ())))
                for planned in step.get("planned", ()):
                    commands.setdefault(f"{planned['host']}\0{planned['line']}", planned)
        stages.append({"stage": stage.number, "title": stage.title, "changes": list(changes),
                       "commands": list(commands.values())})
    return stages


@dataclass(frozen=True)
class Standing:
    """How far one lab of a class got, in the article's order of the stages.

    `at`: the first stage of the article's order that ran for this lab and did not pass
    (failed, or skipped), the one its student is stuck at; None when every stage that
    ran passed (or none was checked: `outcomes` is empty, as in plan mode). `passed`: how
    many stages passed, all told. `outcomes`: stage -> outcome. `first`: what stopped it
    (`first_failure`), None when nothing did."""

    lab: str
    at: int | None
    passed: int
    outcomes: dict[int, str]
    first: dict[str, Any] | None


def standing(lab: str, entry: dict[str, Any]) -> Standing:
    outcomes = stage_outcomes(_checked(entry["tests"]))
    at = next((s.number for s in STAGES
               if s.number in outcomes and outcomes[s.number] != "passed"), None)
    passed = sum(1 for o in outcomes.values() if o == "passed")
    return Standing(lab, at, passed, outcomes, first_failure(entry))


def class_standings(document: dict[str, Any]) -> list[Standing]:
    """Every lab of a results document, furthest behind first: by the stage it is stuck
    at (the article's order; labs with every stage that ran passed last), then by how
    many stages it passed (fewer first), then by name (stu9 before stu10). Labs of which
    no stage was checked come last."""
    found = [standing(name, entry) for name, entry in document["labs"].items()]
    last = len(STAGES) + 1
    return sorted(found, key=lambda s: (s.at if s.at is not None else last if s.outcomes
                                        else last + 1, s.passed, _natural(s.lab)))


def _checked(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tests that checked something: not plan mode's (skipped, their checks not run)."""
    return [t for t in tests if not (t.get("failure") or "").startswith(PLAN_PREFIX)]


def _natural(name: str) -> list[Any]:
    return [(0, int(part), "") if part.isdigit() else (1, 0, part)
            for part in re.split(r"(\d+)", name) if part]


def first_failure(entry: dict[str, Any]) -> dict[str, Any] | None:
    """A lab's first failure in the article's order of the stages: `stage`, `outcome`,
    `host`, `expected`, `seen` (None where the record has no check's data: an unreachable
    host, a results file from before them), `line` (the one line) and `hint` ({why, fix,
    step} when the failed check carries one, else None). With no failure, the first stage
    skipped: its reason as the line."""
    order = {s.number: i for i, s in enumerate(STAGES)}
    tests = sorted((t for t in _checked(entry["tests"]) if t.get("stage") in order),
                   key=lambda t: order[t["stage"]])
    failed = next((t for t in tests if t["outcome"] == "failed"), None)
    if failed is None:
        skipped = next((t for t in tests if t["outcome"] == "skipped"), None)
        if skipped is None:
            return None
        return {"stage": skipped["stage"], "outcome": "skipped", "host": None,
                "expected": None, "seen": None, "line": skipped.get("failure") or "",
                "hint": None}
    check = next(iter(failed.get("failures") or ()), None)
    if check is None:
        return {"stage": failed["stage"], "outcome": "failed",
                "host": failed.get("failed_host"), "expected": None, "seen": None,
                "line": failed.get("failure") or "", "hint": None}
    return {"stage": failed["stage"], "outcome": "failed", "host": check["host"],
            "expected": None if check.get("text") else check.get("expected"),
            "seen": None if check.get("text") else check.get("seen"),
            "line": check.get("line") or failed.get("failure") or "",
            "hint": check.get("hint") or None}
