"""What a run leaves behind besides pytest's own output: the terminal summary (commands,
migrations, class report, baseline, build changes), the results JSON and its comparison
with --baseline (a regression fails the run), the migrations' JSON, the class report."""
from __future__ import annotations

import dataclasses
import json
import statistics
from pathlib import Path

import pytest

from xenlab import report as html
from xenlab import results as res
from xenlab.plugin.rundir import default_path
from xenlab.plugin.state import STATE, RunState


@pytest.hookimpl(tryfirst=True)  # a usage error before other plugins set up
def pytest_configure(config: pytest.Config) -> None:
    """A --baseline that is not a results file stops the run before it starts, in one line."""
    if path := config.getoption("baseline", None):
        try:
            res.load_results(path)
        except res.ResultsError as exc:
            raise pytest.UsageError(str(exc)) from None


def migration_line(m) -> str:
    d = m.downtime
    return (f"{m.guest} {m.source} -> {m.destination}: migration {m.wall_s:.1f} s, "
            f"downtime {d.longest_gap_s:.2f} s, {d.lost} probes lost of {d.replies + d.lost}, "
            f"probe interval {d.interval_s:g} s (resolution {d.resolution_s} s)"
            + downtime_explained(m) + load_said(m) + data_said(m))


def load_said(m) -> str:
    """`; under load ...`: the memory-dirtying load the move ran under (--migration-load)."""
    load = getattr(m, "load", None)
    if load is None:
        return ""
    return (f"; under load: {load.reached_mib_s:g} MiB/s of the guest's memory rewritten "
            f"(asked {load.asked_mib_s}; {load.passes} passes in {load.seconds:g} s)")


def data_said(m) -> str:
    """`; on its disk ...`: what the guest wrote to its disk, read back (--guest-data)."""
    data = getattr(m, "data", None)
    if data is None:
        return ""
    r = data.records
    kept = "identical" if data.after_md5 == data.before_md5 else "CHANGED"
    return (f"; on its disk ({data.directory}): {r.count} of {r.last} records read back, "
            f"{r.torn} torn, writes stalled {r.longest_gap_s:.2f} s at most; the block "
            f"written before {kept}")


def rounds_lines(migrations) -> list[str]:
    """Over several rounds (--migration-rounds): each figure's median and max over the moves,
    one line per figure; nothing for a single round."""
    rounds = sorted({m.round for m in migrations if m.round is not None})
    if len(rounds) < 2:
        return []
    moves = [m for m in migrations if m.round is not None]
    parts = [res.downtime_parts(m) for m in moves]
    figures = {"migration": [m.wall_s for m in moves],
               "downtime (probe)": [m.downtime.longest_gap_s for m in moves],
               "paused (heartbeat)": [p["guest_paused_s"] for p in parts],
               "suspended (xl's log)": [p["paused_s"] for p in parts]}
    lines = [f"{len(rounds)} rounds, {len(moves)} moves (rounds {rounds[0]}-{rounds[-1]}; "
             "a failed round records none after its failure)"]
    for name, seen in figures.items():
        known = sorted(v for v in seen if v is not None)
        if known:
            lines.append(f"  {name}: median {statistics.median(known):.2f} s, max {known[-1]:.2f} s"
                         f" over {len(known)} moves")
    return lines


def downtime_explained(m) -> str:
    """`; paused ... (...), unreachable ... longer`: where the downtime went, as far as the
    toolstack's log and the guest's heartbeat say."""
    parts = res.downtime_parts(m)
    said = []
    if parts["guest_paused_s"] is not None:
        said.append(f"paused {parts['guest_paused_s']:.2f} s by its own heartbeat "
                    f"(every ~{parts['heartbeat_resolution_s'] or 0:.2f} s)")
    if m.phases is not None and m.phases.paused_s is not None:
        spans = ", ".join(f"{name} {b - a:.2f} s" for name, a, b in m.phases.spans()
                          if m.phases.suspended <= a < m.phases.resumed)
        said.append(f"suspended {m.phases.paused_s:.2f} s by xl's log ({spans})")
    if parts["unreachable_beyond_pause_s"] is not None:
        said.append(f"unreachable {parts['unreachable_beyond_pause_s']:+.2f} s beyond the pause")
    return "; " + "; ".join(said) if said else ""


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if STATE not in config.stash:
        return
    if line := commands_line(config.stash[STATE]):
        terminalreporter.section("xenlab commands")
        terminalreporter.line(line)
    if migrations := config.stash[STATE].migrations:
        terminalreporter.section("xenlab migration")
        summary = rounds_lines(migrations)  # empty for one round: no round prefix then
        for m in migrations:
            terminalreporter.line((f"round {m.round}: " if summary else "") + migration_line(m))
        for line in summary:
            terminalreporter.line(line)
    if (written := config.stash[STATE].class_report) is not None:
        terminalreporter.section("xenlab class")
        terminalreporter.line(f"class report: {written}")
    if (comparison := config.stash[STATE].comparison) is not None:
        terminalreporter.section("xenlab baseline")
        for line in comparison.lines():
            terminalreporter.line(line, red=line.startswith("REGRESSION"))
    if config.getoption("lab_mode", "verify") == "plan":
        plan_summary(terminalreporter, config.stash[STATE])
    if config.getoption("lab_mode", "verify") != "build":
        return
    changes = config.stash[STATE].changes
    terminalreporter.section("xenlab build")
    if not changes:
        terminalreporter.line("xenlab build: nothing to change, the lab was already built")
    else:
        terminalreporter.line(f"xenlab build: {len(changes)} changes")
        for line in changes:
            terminalreporter.line(f"  {line}")


PLAN_FORMAT = "xenlab-plan/1"
DESTROYS = "[destroys data] "


def plan_document(state: RunState) -> dict:
    """What build mode would do to each lab (xenlab.results.plan), as a file for scripts."""
    return {"format": PLAN_FORMAT,
            "labs": {name: res.plan(entry) for name, entry in state.results.labs.items()}}


def plan_summary(terminalreporter, state: RunState) -> None:
    """Stage by stage, each host's commands as build mode would run them, in order."""
    terminalreporter.section("xenlab plan")
    for name, stages in plan_document(state)["labs"].items():
        todo = [s for s in stages if s["commands"]]
        prefix = f"{name}: " if len(state.results.labs) > 1 else ""
        if not todo:
            terminalreporter.line(f"{prefix}nothing to do: build mode would change nothing")
            continue
        total = sum(len(s["commands"]) for s in todo)
        terminalreporter.line(f"{prefix}{total} commands in {len(todo)} stages "
                              "(run in this order; `build` runs exactly these)")
        for stage in stages:
            if not stage["commands"]:
                terminalreporter.line(f"stage {stage['stage']} ({stage['title']}): nothing to do")
                continue
            terminalreporter.line(f"stage {stage['stage']} ({stage['title']}):")
            for c in stage["commands"]:
                terminalreporter.line(f"  {c['host']}$ {DESTROYS if c['destructive'] else ''}"
                                      f"{c['line']}", red=c["destructive"])


def commands_line(state: RunState) -> str:
    """How many remote commands ran, their summed time and SSH connections per host."""
    results = state.evidence.results
    if not results:
        return ""
    per_host = ", ".join(f"{name} {host.connections}" for name, host in state.hosts.items())
    return (f"xenlab commands: {len(results)} remote commands, "
            f"{sum(r.duration_s for r in results):.2f} s of command time; "
            f"SSH connections: {per_host or 'none'}")


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The results as JSON, the comparison with --baseline; then the migrations' data."""
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    if state.results.labs and not hasattr(session.config, "workerinput"):
        document = state.results.document()
        written = res.write_results(document, default_path(session.config, "results",
                                                           "xenlab-results.json"))
        if session.config.getoption("lab_mode", "verify") == "plan":  # beside the results
            written.with_name("xenlab-plan.json").write_text(
                json.dumps(plan_document(state), indent=1))
        if len(document["labs"]) > 1:
            state.class_report = write_class_report(document, default_path(
                session.config, "class_report", "class-report.html"))
        if baseline := session.config.getoption("baseline"):
            state.comparison = res.compare(res.load_results(baseline), document,
                                           session.config.getoption("baseline_tolerance"))
            if state.comparison.regressed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not state.migrations:
        return
    path = default_path(session.config, "migration_data", "xenlab-migrations.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([dataclasses.asdict(m) for m in state.migrations], indent=1,
                               default=str))


def write_class_report(document: dict, path: Path) -> Path:
    """The class page at `path`, each lab's own page in labs/ beside it."""
    labs_dir = path.parent / "labs"
    labs_dir.mkdir(parents=True, exist_ok=True)
    links = {}
    for name, entry in document["labs"].items():
        page = labs_dir / f"{name}.html"
        page.write_text(html.lab_page(entry))
        links[name] = f"labs/{page.name}"
    path.write_text(html.class_page(document, links))
    return path
