"""Steps and fixtures shared by every feature: this directory's conftest, so they reach each
stage's module wherever the suite is installed (a checkout, or the `xenlab` package).

Role fixtures (target_host, xen_hosts, source_host, destination_host) come from
xenlab.plugin; the adapters of the hosts' software are detected here, once per run.
"""
from __future__ import annotations

from typing import Callable

import pytest
from pytest_bdd import given

from xenlab.adapters import IscsiTarget, Toolstacks, detect_target
from xenlab.inventory import Lab
from xenlab.plugin.gherkin import mark_build_only, mark_planned
from xenlab.remote import Host


@pytest.fixture(scope="session")
def toolstacks() -> Toolstacks:
    """Each Xen host's toolstack (`toolstacks[host]`), detected when a stage first asks."""
    return Toolstacks()


@pytest.fixture(scope="session")
def iscsi_target(target_host: Host) -> IscsiTarget:
    """The target host's iSCSI target software (tgt), detected or named in the inventory."""
    return detect_target(target_host)


@pytest.fixture
def build(lab_mode: str, build_log, hosts: dict[str, Host],
          request: pytest.FixtureRequest) -> Callable[..., None]:
    """`build(make)`: in build mode make() runs and what it changed goes to the run's build
    log; in plan mode make() runs on hosts that plan instead of changing, and the commands
    it would have run are the step's plan; in verify mode nothing runs, and the step reads
    "build only" in the reports."""
    def run(make: Callable[[], list[str]]) -> None:
        if lab_mode == "build":
            build_log(make())
        elif lab_mode == "plan":
            before = {name: len(host.planned) for name, host in hosts.items()}
            what = make()
            mark_planned(request.node, what, sorted(
                (p for name, host in hosts.items() for p in host.planned[before[name]:]),
                key=lambda p: p.seq))
        else:
            mark_build_only(request.node, make)
    return run


@pytest.fixture
def build_on_each(build) -> Callable[..., None]:
    """`build_on_each(make, *hosts)`: `build` with make(host), on each host in turn."""
    def run(make: Callable[[Host], list[str]], *hosts: Host) -> None:
        for host in hosts:
            build(lambda host=host: make(host))
    return run


@given("the lab inventory names the iSCSI target and two Xen hosts")
def lab_has_roles(lab: Lab) -> None:
    """Loading the lab checked the roles; this step makes the dependency visible."""
