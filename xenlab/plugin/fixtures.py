"""The fixtures of the lab suite: one Lab and one Host per inventory host for the whole
session, the roles' hosts, and the logs a build step or a migration writes to.

When the hosts go away at the end, each host's versions (its fingerprint) are read
for the results, once, with a short deadline.
"""
from __future__ import annotations

import dataclasses
from typing import Iterator

import pytest

from xenlab import results as res
from xenlab.errors import XenlabError
from xenlab.inventory import Lab
from xenlab.parsers.fingerprint import FINGERPRINT_COMMAND, parse_fingerprint
from xenlab.plugin.labs import lab_named, resolve_labs
from xenlab.plugin.order import round_of
from xenlab.plugin.outputs import migration_line
from xenlab.plugin.state import MIGRATIONS, STATE, Evidence
from xenlab.remote import Host

FINGERPRINT_TIMEOUT_S = 10.0


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
    return lab_named(labs, xenlab_lab)


@pytest.fixture(scope="session")
def lab_mode(pytestconfig: pytest.Config) -> str:
    return pytestconfig.getoption("lab_mode")


@pytest.fixture(scope="session")
def hazards_fail(pytestconfig: pytest.Config) -> bool:
    """--hazards=fail: the lab's hazards (ext4 mounted twice, open relocation) fail, not warn."""
    return pytestconfig.getoption("hazards") == "fail"


@pytest.fixture(scope="session")
def evidence(pytestconfig: pytest.Config) -> Evidence:
    return pytestconfig.stash[STATE].evidence


@pytest.fixture(scope="session")
def hosts(lab: Lab, lab_mode: str, evidence: Evidence,
          pytestconfig: pytest.Config) -> Iterator[dict[str, Host]]:
    insecure = pytestconfig.getoption("ssh_insecure")
    made = {spec.name: Host(spec, lab_mode, host_key_checking=False if insecure else None,
                            recorder=evidence)
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


ROLES = ("the iSCSI target", "the migration source", "the migration destination")


@pytest.fixture(scope="session")
def lab_host(lab: Lab, hosts: dict[str, Host]):
    """testinfra's host for a role of the lab (or a host's inventory name), over the run's
    own connection, with its deadlines, evidence, redaction and verify-mode guard::

        def test_tgt(lab_host):
            assert lab_host("the iSCSI target").service("tgt").is_running
    """
    by_role = dict(zip(ROLES, (lab.target.name, lab.source.name, lab.destination.name)))

    def host(role: str):
        name = by_role.get(role, role)
        if name not in hosts:
            raise KeyError(f"{role!r} is neither a role ({', '.join(ROLES)}) nor a host of "
                           f"lab {lab.name} ({', '.join(hosts)})")
        return hosts[name].testinfra
    return host


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
    def record(migration):
        """Keep it, with the round it ran in; returns what was kept."""
        migration = dataclasses.replace(migration, round=round_of(request.node))
        pytestconfig.stash[STATE].migrations.append(migration)
        request.node.stash.setdefault(MIGRATIONS, []).append(migration)
        request.node.add_report_section("call", "xenlab migration", migration_line(migration)
                                        + "\n" + migration.toolstack_output)
        return migration
    return record
