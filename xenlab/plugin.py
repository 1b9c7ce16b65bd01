"""pytest plugin: the lab and its hosts as fixtures, stage order and skips, evidence in reports.

Loaded from conftest.py (`pytest_plugins`). Options are added to testinfra's
(--hosts, --ansible-inventory, --ssh-identity-file ... are reused, not re-registered);
pytest's own --strict also makes the lab's hazards fail (the `strict` fixture).
"""
from __future__ import annotations

import dataclasses
import json
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterator
from urllib.parse import parse_qs

import pytest

from xenlab import report as html
from xenlab import results as res
from xenlab.checks import LabCheckFailed, LabHazard
from xenlab.errors import InventoryError, XenlabError, first_line
from xenlab.inventory import Lab, box_inventory_path, load_labs, with_hosts, with_ssh_config
from xenlab.parsers.fingerprint import FINGERPRINT_COMMAND, parse_fingerprint
from xenlab.remote import Host, Result
from xenlab.stagelist import BY_MARKER, BY_NUMBER, Stage, marker_lines, prerequisites

NO_LAB = ("no lab named: pass --ansible-inventory=FILE (or --hosts=...), "
          "or start the lab-in-a-box with `python -m xenlab box up`")
SHOWN_LINES = 20  # of each command's stdout/stderr in a report
DEFAULT_REPORT = "reports/lab-report.html"
FINGERPRINT_TIMEOUT_S = 10.0


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


STATE = pytest.StashKey[RunState]()
STEPS = pytest.StashKey[list]()  # [[step text, status, first, end], ...] of a scenario
SEEN = pytest.StashKey[int]()  # evidence results already attached to the item's reports
FINDINGS = pytest.StashKey[list]()  # hazard warnings of the item's call
MIGRATIONS = pytest.StashKey[list]()  # migration records of the item


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
    group.addoption("--results", metavar="PATH", default="reports/xenlab-results.json",
                    help="the run's results as JSON, for a later --baseline "
                         "(default: %(default)s)")
    group.addoption("--class-report", metavar="PATH", default="reports/class-report.html",
                    help="class mode (an inventory of several labs): the lab x stage report, "
                         "each lab's own report beside it in labs/ (default: %(default)s)")
    group.addoption("--baseline", metavar="PATH",
                    help="the --results file of an earlier run: report what changed, and "
                         "exit non-zero when a stage or a migration figure regressed")
    group.addoption("--baseline-tolerance", metavar="FRACTION", type=float, default=0.5,
                    help="how much worse a migration figure may be before it is a "
                         "regression (default: %(default)s, i.e. 50 %%)")


@pytest.hookimpl(tryfirst=True)  # before pytest-html reads --html
def pytest_configure(config: pytest.Config) -> None:
    config.stash[STATE] = RunState()
    config.pluginmanager.register(Gatherer(config.stash[STATE].results), "xenlab-results")
    for line in marker_lines():
        config.addinivalue_line("markers", line)
    if (hasattr(config.option, "htmlpath") and not config.option.htmlpath
            and not hasattr(config, "workerinput") and _is_lab_run(config)):
        config.option.htmlpath = DEFAULT_REPORT
        config.option.self_contained_html = True
    if path := config.getoption("baseline", None):
        try:
            res.load_results(path)
        except res.ResultsError as exc:
            raise pytest.UsageError(str(exc)) from None


def _is_lab_run(config: pytest.Config) -> bool:
    """Not a run of the project's own tests (`pytest tests ...`): those write no lab report."""
    own = config.rootpath / "tests"
    return not any(Path(a.split("::")[0]).resolve().is_relative_to(own) for a in config.args)


def resolve_labs(config: pytest.Config) -> dict[str, Lab]:
    """The labs the options name (one, or a class), else the running lab-in-a-box; else a
    UsageError. Read once per run."""
    state = config.stash[STATE]
    if state.labs is None:
        state.labs = {lab.name: lab for lab in _read_labs(config)}
        state.secrets = res.secrets_of(*state.labs.values())
    return state.labs


def _read_labs(config: pytest.Config) -> tuple[Lab, ...]:
    hostspecs = [h for h in (config.getoption("hosts", None) or "").split(",") if h]
    path = (config.getoption("ansible_inventory", None)
            or next((q["ansible_inventory"][0] for q in map(_query, hostspecs)
                     if "ansible_inventory" in q), None)
            or box_inventory_path())
    if path is None:
        raise pytest.UsageError(NO_LAB)
    try:
        labs = load_labs(path)
        if hostspecs and len(labs) > 1:
            raise InventoryError(f"{path}: --hosts maps hosts onto one lab's roles; this "
                                 f"inventory holds {len(labs)} labs")
        labs = tuple(with_hosts(lab, hostspecs) for lab in labs)
        if ssh_config := config.getoption("ssh_config", None):
            labs = tuple(with_ssh_config(lab, ssh_config) for lab in labs)
    except InventoryError as exc:
        raise pytest.UsageError(str(exc)) from None
    key_file = config.getoption("ssh_identity_file", None)
    return tuple(lab.map_hosts(lambda h: replace(h, key_file=key_file)) if key_file else lab
                 for lab in labs)


def _query(hostspec: str) -> dict[str, list[str]]:
    return parse_qs(hostspec.partition("?")[2])


def stage_of(item: pytest.Item) -> Stage | None:
    return next((BY_MARKER[m.name] for m in item.iter_markers() if m.name in BY_MARKER), None)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Class mode (an inventory of several labs): every lab test runs once per lab.

    A lab test: one of a stage, or one asking for `lab` (pytest-bdd's steps ask for
    their fixtures while the scenario runs, so a scenario's arguments do not show them).
    """
    if not ("lab" in metafunc.fixturenames
            or any(m.name in BY_MARKER for m in metafunc.definition.iter_markers())):
        return
    try:
        labs = resolve_labs(metafunc.config)
    except pytest.UsageError:
        return  # said in one line when the run starts (pytest_runtestloop)
    if len(labs) > 1:
        metafunc.parametrize("xenlab_lab", list(labs), ids=list(labs), scope="session")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log):
    """xdist (-n): one lab's tests all go to one worker, in order (its stages depend on each
    other and share its hosts); labs run in parallel. `--dist each` is left alone."""
    if config.getoption("dist") == "each":
        return None
    from xdist.scheduler import LoadScopeScheduling

    try:
        names = list(resolve_labs(config))
    except pytest.UsageError:
        names = []

    class LabScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return lab_scope(nodeid, names)
    return LabScheduling(config, log)


def lab_scope(nodeid: str, names: list[str]) -> str:
    """The lab in a test id's parameters (`test_x[lab2]`, `test_y[1-lab2]`), else "" (one
    scope for every other test: a single lab's tests share its hosts and run in order)."""
    params = nodeid.rpartition("[")[2].rstrip("]") if nodeid.endswith("]") else ""
    return next((p for p in params.split("-") if p in names), "")


def lab_name_of(item: pytest.Item) -> str | None:
    """The lab a test runs against (class mode), or None: the run's only lab."""
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("xenlab_lab") if callspec else None


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by parametrized fixtures
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lab by lab (class mode), stages in article order; other orders are kept."""
    # Tests marked destructive run in every mode: their checks only read; their build
    # steps refuse to partition or format without --allow-destructive (xenlab.stages).
    order = list(config.stash[STATE].labs or {})
    items.sort(key=lambda item: (order.index(name) if (name := lab_name_of(item)) in order
                                 else 0, stage.number if (stage := stage_of(item)) else 0))


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Name the lab before the first test, and stop with one line when there is none."""
    if session.config.option.collectonly:
        return
    if any("lab" in getattr(item, "fixturenames", ()) for item in session.items):
        resolve_labs(session.config)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash[STATE]
    item.stash[SEEN] = len(state.evidence.results)
    stage = stage_of(item)
    name = lab_name_of(item)
    failed = [n for n in prerequisites(stage.number) if (name, n) in state.failed] if stage else []
    if failed:  # a mark, not pytest.skip(): the report then points at the test, not here
        item.add_marker(pytest.mark.skip(reason=f"stage {failed[0]} ({BY_NUMBER[failed[0]].title})"
                                                f" failed: {state.failed[name, failed[0]]}"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    state = item.config.stash[STATE]
    if report.failed and call.excinfo and isinstance(call.excinfo.value,
                                                                  (XenlabError, LabCheckFailed)):
        failed_step = next((text for text, status, *_ in item.stash.get(STEPS, [])
                            if status == "failed"), None)
        report.longrepr = (f"{failed_step}: " if failed_step else "") + str(call.excinfo.value)
    stage = stage_of(item)
    if report.failed and stage:
        state.failed.setdefault((lab_name_of(item), stage.number), _failure_line(report))
    if report.when == "call" and STEPS in item.stash:
        report.sections.append(("Gherkin steps", "\n".join(
            f"{status:8} {text}" for text, status, *_ in item.stash[STEPS])))
    seen = item.stash.get(SEEN, len(state.evidence.results))
    phase = (seen, len(state.evidence.results))  # this phase's commands
    if results := state.evidence.results[seen:]:
        report.sections.append((f"xenlab commands ({report.when})", _evidence_text(results)))
        item.stash[SEEN] = len(state.evidence.results)
    _redact_report(report, state)
    carried = []  # travels with the report (xdist too) to Results, the reports, the JSON
    if (STEPS in item.stash or stage) and (
            report.when == "call" or (report.when == "setup" and not report.passed)):
        carried.append(("xenlab", _record(item, report, call, phase)))
    if report.when == "teardown" and state.lab_info is not None:
        carried.append(("xenlab_lab", state.lab_info))
        state.lab_info = None
    if carried:
        report.xenlab = carried
    return report


def _redact_report(report: pytest.TestReport, state: RunState) -> None:
    """No password or secret var of any lab in what pytest shows (the terminal, the HTML
    report, JUnit XML): a failure's text and every captured section."""
    secrets = state.secrets
    if not secrets:
        return
    if report.longrepr is not None and any(s in report.longreprtext for s in secrets):
        report.longrepr = res.redact(report.longreprtext, secrets)
    report.sections = [(title, res.redact(text, secrets)) for title, text in report.sections]


def _lab_of(item: pytest.Item) -> Lab | None:
    return _lab_named(item.config.stash[STATE].labs or {}, lab_name_of(item))


def _lab_named(labs: dict[str, Lab], name: str | None) -> Lab | None:
    """The lab of that name (class mode), or the run's only lab (name None)."""
    return labs.get(name) if name else next(iter(labs.values()), None)


def _record(item: pytest.Item, report: pytest.TestReport, call: pytest.CallInfo,
            phase: tuple[int, int]) -> dict:
    """What the reports and a later --baseline need of one scenario (no secret in it).

    A test that is not a Gherkin scenario is one step: its body, with the phase's commands.
    """
    state = item.config.stash[STATE]
    lab = _lab_of(item)
    stage = stage_of(item)
    names = [h.name for h in lab.hosts] if lab else []
    message = first_line(str(call.excinfo.value)) if report.failed and call.excinfo else ""
    scenario = getattr(item.obj, "__scenario__", None)
    steps = item.stash.get(STEPS, None) or [[item.name, report.outcome, *phase]]
    record = {
        "lab": lab.name if lab else "lab", "nodeid": item.nodeid,
        "stage": stage.number if stage else None,
        "scenario": scenario.name if scenario is not None else item.name,
        "outcome": report.outcome,
        "failure": _failure_line(report) if report.failed else _skip_reason(report),
        "failed_host": res.failed_host(message, names) if message else None,
        "steps": [{"text": text, "status": status,
                   "commands": [res.command_record(r) for r in
                                state.evidence.results[first:end]] if first is not None else []}
                  for text, status, first, end in steps],
        "findings": item.stash.get(FINDINGS, []),
        "migrations": [res.migration_record(m) for m in item.stash.get(MIGRATIONS, [])],
        "duration_s": round(report.duration, 3),
        "start": report.start, "stop": report.stop,  # epoch: when labs ran side by side
    }
    return res.redact(record, state.secrets)


def _skip_reason(report: pytest.TestReport) -> str:
    if not (report.skipped and isinstance(report.longrepr, tuple)):
        return ""
    return str(report.longrepr[2]).removeprefix("Skipped: ")


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
    request.node.stash[STEPS] = [[f"{s.keyword.strip()} {s.name}", "not run", None, None]
                                 for s in scenario.steps]


def pytest_bdd_before_step(request: pytest.FixtureRequest) -> None:
    """Steps run in order: the first one not run yet is the one starting."""
    pending = next((s for s in request.node.stash.get(STEPS, []) if s[1] == "not run"), None)
    if pending:
        pending[2] = len(request.config.stash[STATE].evidence.results)


def pytest_bdd_after_step(request: pytest.FixtureRequest) -> None:
    _step_done(request, "passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest) -> None:
    _step_done(request, "failed")


def _step_done(request: pytest.FixtureRequest, status: str) -> None:
    """Steps run in order: the first one not run yet is the one that just ended."""
    pending = next((s for s in request.node.stash.get(STEPS, []) if s[1] == "not run"), None)
    if pending:
        pending[1] = status
        pending[3] = len(request.config.stash[STATE].evidence.results)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    """Keep the hazards a test warned about for its record; pytest still sees every warning."""
    caught: list[warnings.WarningMessage] = []
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            return (yield)
    finally:
        item.stash[FINDINGS] = [str(w.message) for w in caught
                                if issubclass(w.category, LabHazard)]
        for w in caught:  # outside the block: the run's filters (-W, filterwarnings) apply
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)


# Fixtures: one Lab and one Host per inventory host for the whole session.

@pytest.fixture(scope="session", autouse=True)  # autouse: every test can be parametrized by it
def xenlab_lab() -> str | None:
    """The lab's name in class mode (parametrized per lab), else None: the only lab."""
    return None


@pytest.fixture(scope="session")
def lab(pytestconfig: pytest.Config, xenlab_lab: str | None) -> Lab:
    try:  # read at the start of the run; here for a test the run loop did not see
        labs = resolve_labs(pytestconfig)
    except pytest.UsageError as exc:
        pytest.fail(str(exc), pytrace=False)
    return _lab_named(labs, xenlab_lab)


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
    pytestconfig.stash[STATE].lab_info = {"lab": lab.name, "description": res.lab_description(lab),
                                          "fingerprint": fingerprints(made.values())}
    for host in made.values():
        host.close()


def fingerprints(hosts) -> dict[str, dict]:
    """Each host's versions, one read-only command each; hosts that stopped answering
    during the run (or never answered) are left out rather than waited for again."""
    found = {}
    for host in hosts:
        if host.gone:
            continue
        try:
            text = host.check(FINGERPRINT_COMMAND, timeout=FINGERPRINT_TIMEOUT_S).stdout
            found[host.name] = parse_fingerprint(text).fields()
        except XenlabError:
            continue
    return found


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
        request.node.stash.setdefault(MIGRATIONS, []).append(migration)
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
    if (written := config.stash[STATE].class_report) is not None:
        terminalreporter.section("xenlab class")
        terminalreporter.line(f"class report: {written}")
    if (comparison := config.stash[STATE].comparison) is not None:
        terminalreporter.section("xenlab baseline")
        for line in comparison.lines():
            terminalreporter.line(line, red=line.startswith("REGRESSION"))
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


class Gatherer:
    """Gathers what the reports carry (on the xdist controller: from every worker)."""

    def __init__(self, results: res.Results) -> None:
        self.results = results

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for kind, value in getattr(report, "xenlab", ()):
            self.results.add(kind, value)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """The results as JSON, the comparison with --baseline; then the migrations' data."""
    state = session.config.stash.get(STATE, None)
    if state is None:
        return
    if state.results.labs and not hasattr(session.config, "workerinput"):
        document = state.results.document()
        res.write_results(document, session.config.getoption("results"))
        if len(document["labs"]) > 1:
            state.class_report = write_class_report(document,
                                                    Path(session.config.getoption("class_report")))
        if baseline := session.config.getoption("baseline"):
            state.comparison = res.compare(res.load_results(baseline), document,
                                           session.config.getoption("baseline_tolerance"))
            if state.comparison.regressed and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not state.migrations:
        return
    path = Path(session.config.getoption("migration_data"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([dataclasses.asdict(m) for m in state.migrations], indent=1,
                               default=str))


# The HTML report (pytest-html): the lab's summary on top, each scenario's steps with evidence.

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


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(prefix: list, summary: list, postfix: list,
                                session: pytest.Session) -> None:
    state = session.config.stash[STATE]
    comparison = state.comparison.lines() if state.comparison is not None else None
    document = state.results.document()
    if len(document["labs"]) > 1:
        prefix.append(html.class_table(document, {}))
    for entry in document["labs"].values():
        prefix.append(html.summary_html(entry, comparison))


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report) -> None:
    report.title = "xenlab: Xen live-migration lab report"


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_table_html(report: pytest.TestReport, data: list) -> None:
    record = next((v for k, v in getattr(report, "xenlab", ()) if k == "xenlab"), None)
    if record is None:
        return
    shown_as_html = (" Gherkin steps ", " xenlab commands (call) ")
    data[:] = [d for d in data if not any(d.lstrip("-").startswith(h) for h in shown_as_html)]
    data.insert(1 if report.failed and data else 0, html.steps_html(record))
