"""pytest plugin: the lab and its hosts as fixtures, stage order and skips, evidence in reports.

Loaded from conftest.py (`pytest_plugins`). Options are added to testinfra's
(--hosts, --ansible-inventory, --ssh-identity-file ... are reused, not re-registered);
pytest's own --strict also makes the lab's hazards fail (the `strict` fixture).
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs

import pytest

from xenlab.checks import LabCheckFailed
from xenlab.errors import InventoryError, XenlabError, first_line
from xenlab.inventory import Lab, box_inventory_path, load_lab, with_hosts, with_ssh_config
from xenlab.remote import Host, Result
from xenlab.stagelist import BY_MARKER, BY_NUMBER, Stage, marker_lines, prerequisites

NO_LAB = ("no lab named: pass --ansible-inventory=FILE (or --hosts=...), "
          "or start the lab-in-a-box with `python -m xenlab box up`")
SHOWN_LINES = 20  # of each command's stdout/stderr in a report


class Evidence:
    """The recorder every Host reports to: each Result of the run, in order."""

    def __init__(self) -> None:
        self.results: list[Result] = []

    def __call__(self, result: Result) -> None:
        self.results.append(result)


@dataclass
class RunState:
    lab: Lab | None = None
    failed: dict[int, str] = field(default_factory=dict)  # stage -> first line of a failure
    evidence: Evidence = field(default_factory=Evidence)
    changes: list[str] = field(default_factory=list)  # what build mode changed, in order
    migrations: list = field(default_factory=list)  # xenlab.migration.MigrationRecord, in order
    hosts: dict = field(default_factory=dict)  # name -> Host, once the hosts fixture made them


STATE = pytest.StashKey[RunState]()
STEPS = pytest.StashKey[list]()  # [[step text, status], ...] of a scenario
SEEN = pytest.StashKey[int]()  # evidence results already attached to the item's reports


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("xenlab", "xenlab lab")
    group.addoption("--lab-mode", choices=("verify", "build"), default="verify",
                    help="verify: read only (default); build: steps may change the hosts")
    group.addoption("--allow-destructive", action="store_true",
                    help="let build mode partition and format the shared disk")
    group.addoption("--inventory", dest="ansible_inventory", metavar="PATH",
                    help="the lab's Ansible inventory (same as --ansible-inventory)")
    group.addoption("--migration-data", metavar="PATH", default="reports/xenlab-migrations.json",
                    help="where the migrations' figures and probe timelines go, as JSON "
                         "(default: %(default)s)")
    group.addoption("--ssh-insecure", action="store_true",
                    help="accept any SSH host key (in memory only; never written)")


def pytest_configure(config: pytest.Config) -> None:
    config.stash[STATE] = RunState()
    for line in marker_lines():
        config.addinivalue_line("markers", line)


def resolve_lab(config: pytest.Config) -> Lab:
    """The lab the options name, else the running lab-in-a-box; else a UsageError."""
    hostspecs = [h for h in (config.getoption("hosts", None) or "").split(",") if h]
    path = (config.getoption("ansible_inventory", None)
            or next((q["ansible_inventory"][0] for q in map(_query, hostspecs)
                     if "ansible_inventory" in q), None)
            or box_inventory_path())
    if path is None:
        raise pytest.UsageError(NO_LAB)
    try:
        lab = with_hosts(load_lab(path), hostspecs)
    except InventoryError as exc:
        raise pytest.UsageError(str(exc)) from None
    if ssh_config := config.getoption("ssh_config", None):
        try:
            lab = with_ssh_config(lab, ssh_config)
        except InventoryError as exc:
            raise pytest.UsageError(str(exc)) from None
    key_file = config.getoption("ssh_identity_file", None)
    return lab.map_hosts(lambda h: replace(h, key_file=key_file)) if key_file else lab


def _query(hostspec: str) -> dict[str, list[str]]:
    return parse_qs(hostspec.partition("?")[2])


def stage_of(item: pytest.Item) -> Stage | None:
    return next((BY_MARKER[m.name] for m in item.iter_markers() if m.name in BY_MARKER), None)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Stages in article order; the order within a stage (and of other tests) is kept."""
    # Tests marked destructive run in every mode: their checks only read; their build
    # steps refuse to partition or format without --allow-destructive (xenlab.stages).
    items.sort(key=lambda item: stage.number if (stage := stage_of(item)) else 0)


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Name the lab before the first test, and stop with one line when there is none."""
    if session.config.option.collectonly:
        return
    if any("lab" in getattr(item, "fixturenames", ()) for item in session.items):
        session.config.stash[STATE].lab = resolve_lab(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash[STATE]
    item.stash[SEEN] = len(state.evidence.results)
    stage = stage_of(item)
    failed = [n for n in prerequisites(stage.number) if n in state.failed] if stage else []
    if failed:  # a mark, not pytest.skip(): the report then points at the test, not here
        item.add_marker(pytest.mark.skip(reason=f"stage {failed[0]} ({BY_NUMBER[failed[0]].title})"
                                                f" failed: {state.failed[failed[0]]}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    state = item.config.stash[STATE]
    if report.failed and call.excinfo and isinstance(call.excinfo.value,
                                                                  (XenlabError, LabCheckFailed)):
        failed_step = next((text for text, status in item.stash.get(STEPS, [])
                            if status == "failed"), None)
        report.longrepr = (f"{failed_step}: " if failed_step else "") + str(call.excinfo.value)
    stage = stage_of(item)
    if report.failed and stage:
        state.failed.setdefault(stage.number, _failure_line(report))
    if report.when == "call" and STEPS in item.stash:
        report.sections.append(("Gherkin steps", "\n".join(
            f"{status:8} {text}" for text, status in item.stash[STEPS])))
    seen = item.stash.get(SEEN, len(state.evidence.results))
    if results := state.evidence.results[seen:]:
        report.sections.append((f"xenlab commands ({report.when})", _evidence_text(results)))
        item.stash[SEEN] = len(state.evidence.results)
    return report


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


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, scenario) -> None:
    request.node.stash[STEPS] = [[f"{s.keyword.strip()} {s.name}", "not run"]
                                 for s in scenario.steps]


def pytest_bdd_after_step(request: pytest.FixtureRequest) -> None:
    _step_done(request.node, "passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest) -> None:
    _step_done(request.node, "failed")


def _step_done(item: pytest.Item, status: str) -> None:
    """Steps run in order: the first one not run yet is the one that just ended."""
    pending = next((s for s in item.stash.get(STEPS, []) if s[1] == "not run"), None)
    if pending:
        pending[1] = status


# Fixtures: one Lab and one Host per inventory host for the whole session.

@pytest.fixture(scope="session")
def lab(pytestconfig: pytest.Config) -> Lab:
    state = pytestconfig.stash[STATE]
    if state.lab is None:  # asked for by a test the run loop did not see
        try:
            state.lab = resolve_lab(pytestconfig)
        except pytest.UsageError as exc:
            pytest.fail(str(exc), pytrace=False)
    return state.lab


@pytest.fixture(scope="session")
def lab_mode(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("lab_mode")


@pytest.fixture(scope="session")
def strict(pytestconfig: pytest.Config) -> bool:
    """pytest --strict: the lab's hazards (ext4 mounted twice, open relocation) fail, not warn."""
    return bool(pytestconfig.getini("strict"))


@pytest.fixture(scope="session")
def evidence(pytestconfig: pytest.Config) -> Evidence:
    return pytestconfig.stash[STATE].evidence


@pytest.fixture(scope="session")
def hosts(lab: Lab, lab_mode: str, evidence: Evidence,
          pytestconfig: pytest.Config) -> Iterator[dict[str, Host]]:
    insecure = pytestconfig.getoption("ssh_insecure")
    sudo = bool(pytestconfig.getoption("sudo", False))
    made = {spec.name: Host(spec, lab_mode, host_key_checking=False if insecure else None,
                            recorder=evidence, sudo=sudo)
            for spec in lab.hosts}
    pytestconfig.stash[STATE].hosts.update(made)
    yield made
    for host in made.values():
        host.close()


@pytest.fixture(scope="session")
def target_host(lab: Lab, hosts: dict[str, Host]) -> Host:
    return hosts[lab.target.name]


@pytest.fixture(scope="session")
def xen_hosts(lab: Lab, hosts: dict[str, Host]) -> tuple[Host, Host]:
    first, second = lab.xen_hosts
    return hosts[first.name], hosts[second.name]


@pytest.fixture(scope="session")
def source_host(lab: Lab, hosts: dict[str, Host]) -> Host:
    return hosts[lab.source.name]


@pytest.fixture(scope="session")
def destination_host(lab: Lab, hosts: dict[str, Host]) -> Host:
    return hosts[lab.destination.name]


@pytest.fixture
def build_log(pytestconfig: pytest.Config, request: pytest.FixtureRequest):
    """Record what a build step changed; the run's summary says it (or that nothing changed)."""
    changes = pytestconfig.stash[STATE].changes

    def record(done: list[str]) -> None:
        changes.extend(done)
        for line in done:
            request.node.add_report_section("call", "xenlab build", f"changed: {line}")
    return record


@pytest.fixture
def migration_log(pytestconfig: pytest.Config, request: pytest.FixtureRequest):
    """Keep a migration's figures for the run's summary and the test's report."""
    def record(migration) -> None:
        pytestconfig.stash[STATE].migrations.append(migration)
        request.node.add_report_section("call", "xenlab migration", migration_line(migration)
                                        + "\n" + migration.toolstack_output)
    return record


def migration_line(m) -> str:
    d = m.downtime
    return (f"{m.guest} {m.source} -> {m.destination}: migration {m.wall_s:.1f} s, "
            f"downtime {d.longest_gap_s:.2f} s, {d.lost} probes lost of {d.replies + d.lost}, "
            f"probe interval {d.interval_s:g} s (resolution {d.resolution_s} s)")


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    if STATE not in config.stash:
        return
    if line := commands_line(config.stash[STATE]):
        terminalreporter.section("xenlab commands")
        terminalreporter.line(line)
    if migrations := config.stash[STATE].migrations:
        terminalreporter.section("xenlab migration")
        for m in migrations:
            terminalreporter.line(migration_line(m))
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
    """The migrations' figures and probe timelines as data (for reports and comparisons)."""
    state = session.config.stash.get(STATE, None)
    if state is None or not state.migrations:
        return
    path = Path(session.config.getoption("migration_data"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([dataclasses.asdict(m) for m in state.migrations], indent=1,
                               default=str))
