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
def build_on_each(lab_mode: str, build_log) -> Callable[..., None]:
    """`build_on_each(build, *hosts)`: in build mode, build(host) on each host in turn,
    what it changed to the run's build log; in verify mode nothing runs (the step's
    checks only read)."""
    def run(build: Callable[[Host], list[str]], *hosts: Host) -> None:
        if lab_mode == "build":
            for host in hosts:
                build_log(build(host))
    return run


@given("the lab inventory names the iSCSI target and two Xen hosts")
def lab_has_roles(lab: Lab) -> None:
    """Loading the lab checked the roles; this step makes the dependency visible."""
