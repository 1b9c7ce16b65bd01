"""Steps and fixtures shared by every feature (loaded from conftest.py, never from a test module).

Role fixtures (target_host, xen_hosts, source_host, destination_host) come from
xenlab.plugin; `roles` maps the role phrases of the Gherkin onto them.
"""
from __future__ import annotations

import pytest
from pytest_bdd import given

from xenlab.inventory import Lab
from xenlab.remote import Host


@pytest.fixture(scope="session")
def roles(target_host: Host, xen_hosts: tuple[Host, Host], source_host: Host,
          destination_host: Host) -> dict[str, tuple[Host, ...]]:
    """Role phrase -> hosts, for steps like parsers.parse("{role} answers")."""
    return {
        "the iSCSI target": (target_host,),
        "each Xen host": xen_hosts,
        "the migration source": (source_host,),
        "the migration destination": (destination_host,),
    }


@given("the lab inventory names the iSCSI target and two Xen hosts")
def lab_has_roles(lab: Lab) -> None:
    """Loading the lab checked the roles; this step makes the dependency visible."""

