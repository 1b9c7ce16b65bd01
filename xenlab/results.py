"""A run's results as data: what the reports draw and what a regression run compares.

The plugin turns every test into a *record* (a JSON-able dict: lab, stage,
scenario, outcome, failure, the Gherkin steps with the commands each ran,
findings, migrations) and every lab into a *description* (hosts, roles,
addresses, guest) plus a *fingerprint* per host. `Results` gathers them
(on the xdist controller too: records travel in the reports' user_properties)
and writes one JSON file, `reports/xenlab-results.json` by default, which a
later run reads with `--baseline`.

Everything here is pure: dicts in, dicts and lines out.
"""
from __future__ import annotations

import json
import re
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from xenlab.errors import XenlabError
from xenlab.stagelist import BY_NUMBER, STAGES

FORMAT = "xenlab-results/1"
OUTCOMES = ("failed", "skipped", "passed")  # worst first
NOT_INVOLVED = "-"
SHOWN_CHARS = 4000  # of a command's stdout/stderr kept in a record


class ResultsError(XenlabError):
    """A results file (a --baseline) that cannot be read."""


# Building records (the plugin, on whichever process ran the test)

def command_record(result) -> dict[str, Any]:
    """One xenlab.remote.Result, trimmed for a report."""
    return {"host": result.host, "command": result.command, "rc": result.rc,
            "duration_s": result.duration_s, "stdout": _trim(result.stdout),
            "stderr": _trim(result.stderr)}


def _trim(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    return text[:SHOWN_CHARS] + f"\n... ({len(text) - SHOWN_CHARS} more characters)"


def migration_record(m) -> dict[str, Any]:
    """A xenlab.migration.MigrationRecord's figures and probe timeline."""
    d = m.downtime
    return {"guest": m.guest, "source": m.source, "destination": m.destination,
            "started": m.started, "ended": m.ended, "wall_s": round(m.wall_s, 3),
            "downtime_s": None if d.longest_gap_s == float("inf") else round(d.longest_gap_s, 3),
            "gap_start": None if d.gap_start is None else round(d.gap_start - m.started, 3),
            "gap_end": None if d.gap_end is None else round(d.gap_end - m.started, 3),
            "lost": d.lost, "replies": d.replies, "interval_s": d.interval_s,
            "resolution_s": d.resolution_s,
            "timeline": [[round(t, 4), round(rtt, 3)] for t, rtt in d.timeline]}


def lab_description(lab) -> dict[str, Any]:
    """Hosts, roles, addresses and the guest of a xenlab.inventory.Lab: no secret in it."""
    def roles(spec) -> list[str]:
        found = ["iSCSI target"] if spec == lab.target else []
        if spec in lab.xen_hosts:
            found.append("Xen host")
        if spec == lab.source:
            found.append("migration source")
        if spec == lab.destination:
            found.append("migration destination")
        return found
    return {"name": lab.name, "inventory": str(lab.inventory),
            "hosts": [{"name": h.name, "roles": roles(h), "endpoint": h.endpoint,
                       "lab_ip": h.lab_ip} for h in lab.hosts],
            "guest": {"name": lab.vars.get("guest_name"), "ip": lab.vars.get("guest_ip")},
            "bridge": lab.vars.get("bridge")}


def secrets_of(*labs) -> tuple[str, ...]:
    """Every value a report must not show (xenlab.inventory.HostSpec.secrets, all hosts of
    every lab), longest first."""
    found = {s for lab in labs for spec in lab.hosts for s in spec.secrets}
    return tuple(sorted(found, key=len, reverse=True))


def redact(value: Any, secrets: Iterable[str]) -> Any:
    """`value` (str, list, dict: any JSON) with every secret replaced by ***."""
    secrets = tuple(secrets)
    if not secrets:
        return value
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "***")
        return value
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: redact(v, secrets) for k, v in value.items()}
    return value


def failed_host(message: str, host_names: Iterable[str]) -> str | None:
    """The host a one-line failure names first (`test2: expected ...`, `test2 (addr): ...`)."""
    names = sorted(host_names, key=len, reverse=True)
    found = re.match(r"\s*(?:\[strict\]\s*)?(\S+?)(?::|\s\()", message)
    return found.group(1) if found and found.group(1) in names else None


# Gathering (any process; the xdist controller sees only what the reports carried)

@dataclass
class Results:
    labs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def lab(self, name: str) -> dict[str, Any]:
        return self.labs.setdefault(name, {"lab": {"name": name, "hosts": []},
                                           "fingerprint": {}, "tests": []})

    def add(self, kind: str, value: dict[str, Any]) -> None:
        """One user_property of a report: ("xenlab", record) or ("xenlab_lab", lab info)."""
        entry = self.lab(value["lab"])
        if kind == "xenlab":
            entry["tests"].append(value)
        elif kind == "xenlab_lab":
            entry["lab"] = value["description"]
            entry["fingerprint"].update(value["fingerprint"])

    def document(self) -> dict[str, Any]:
        for entry in self.labs.values():
            entry["tests"].sort(key=lambda t: (t["stage"] or 0, t["nodeid"]))
        return {"format": FORMAT, "labs": self.labs}


def write_results(document: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1, default=str))
    return path


def load_results(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ResultsError(f"{path}: cannot read the results file ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}: not a results file (not JSON: {exc.msg}, "
                           f"line {exc.lineno})") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        seen = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise ResultsError(f"{path}: not a results file (format {seen!r}, expected {FORMAT!r}); "
                           f"give the reports/xenlab-results.json of an earlier run")
    return document


# Views

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
    """Stage -> host -> passed / failed / skipped / "-" (the stage ran nothing there).

    A failure counts against the host its message names; when it names none,
    against the host of the last command of the failed step.
    """
    hosts = [h["name"] for h in entry["lab"]["hosts"]]
    table: dict[int, dict[str, str]] = {}
    for stage in STAGES:
        tests = [t for t in entry["tests"] if t.get("stage") == stage.number]
        if not tests:
            continue
        row = dict.fromkeys(hosts, NOT_INVOLVED)
        for test in tests:
            touched = {c["host"] for s in test["steps"] for c in s["commands"]}
            for host in touched:
                if row.get(host) in (NOT_INVOLVED, "skipped", None):
                    row[host] = "passed"
            if test["outcome"] == "skipped" and not touched:
                for host in hosts:
                    if row[host] == NOT_INVOLVED:
                        row[host] = "skipped"
            if test["outcome"] == "failed":
                blamed = test.get("failed_host") or _last_host(test)
                for host in ([blamed] if blamed else hosts):
                    row[host] = "failed"
        table[stage.number] = row
    return table


def _last_host(test: dict[str, Any]) -> str | None:
    failed = [s for s in test["steps"] if s["status"] == "failed"]
    commands = failed[-1]["commands"] if failed else []
    return commands[-1]["host"] if commands else None


def migrations(entry: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for t in entry["tests"] for m in t.get("migrations", [])]


def findings(entry: dict[str, Any]) -> list[str]:
    """Every hazard the run warned about, once each, in the order seen."""
    return list(dict.fromkeys(f for t in entry["tests"] for f in t.get("findings", [])))


# Regression mode

@dataclass(frozen=True)
class Comparison:
    regressions: tuple[str, ...]  # the exit status is non-zero when there is one
    improvements: tuple[str, ...]
    changes: tuple[str, ...]  # fingerprint differences, stages not run now: reported only

    @property
    def regressed(self) -> bool:
        return bool(self.regressions)

    def lines(self) -> list[str]:
        out = [f"REGRESSION {line}" for line in self.regressions]
        out += [f"improved   {line}" for line in self.improvements]
        out += [f"changed    {line}" for line in self.changes]
        return out or ["no change against the baseline"]


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
    return Comparison(tuple(regressions), tuple(improvements), tuple(changes))


def _pairs(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, str]]:
    if len(before) == 1 and len(now) == 1:
        return [(next(iter(before)), next(iter(now)))]
    return [(name, name) for name in sorted(now) if name in before]


def _skipped_for_failed_stage(tests: list[dict[str, Any]], stage: int,
                              outcomes: dict[int, str]) -> bool:
    """Skipped because a stage it needs failed (that failure is the regression to report)."""
    why = _first_failure(tests, stage) or ""
    needed = re.match(r"stage (\d+) \(", why)
    return bool(needed) and outcomes.get(int(needed.group(1))) == "failed"


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


def _migration_regressions(before: list[dict], now: list[dict], tolerance: float) -> list[str]:
    lines = []
    for key, what in (("downtime_s", "downtime"), ("wall_s", "migration time")):
        a = [m[key] for m in before if m.get(key) is not None]
        b = [m[key] for m in now if m.get(key) is not None]
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
