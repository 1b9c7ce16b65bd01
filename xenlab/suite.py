"""Where the acceptance suite is, which pytest runs are about a lab, and `xenlab run`.

The suite is the step modules (steps/ in a checkout, xenlab/steps when installed) and the
Gherkin files beside them. The plugin is registered in every pytest run of an environment
where xenlab is installed (its pytest11 entry point), so it acts only in a lab run: one
that names a lab or collects the suite.
"""
from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

PACKAGE = "xenlab.steps"


INVENTORY_DEST = "ansible_inventory"  # testinfra's, pytest-ansible's and our option


def inventory_option(config: pytest.Config) -> str | None:
    """The inventory the run names (--inventory / --ansible-inventory), or None.

    pytest-ansible's option, when it owns the name, defaults to Ansible's host list
    (a list, ['/etc/ansible/hosts']): a default, not a lab named by the user."""
    value = config.getoption(INVENTORY_DEST, None)
    return value if isinstance(value, str) and value else None


def suite_dir() -> Path | None:
    """The suite's step modules: the installed package, else a checkout's steps/."""
    try:
        spec = importlib.util.find_spec(PACKAGE)
    except ImportError:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        return Path(next(iter(spec.submodule_search_locations))).resolve()
    checkout = Path(__file__).resolve().parent.parent / "steps"
    return checkout if (checkout / "conftest.py").is_file() else None


LAB_RUN = pytest.StashKey[bool]()


def is_lab_run(config: pytest.Config) -> bool:
    """A run that names a lab (--ansible-inventory/--inventory, --hosts) or collects the
    suite (a checkout's `pytest`, `xenlab run`); not the project's own tests, nor another
    project's tests in the same environment. Decided once per run."""
    if LAB_RUN not in config.stash:
        config.stash[LAB_RUN] = _names_a_lab_or_the_suite(config)
    return config.stash[LAB_RUN]


def _names_a_lab_or_the_suite(config: pytest.Config) -> bool:
    if inventory_option(config) or config.getoption("hosts", None):
        return True
    suite = suite_dir()
    for arg in config.args:
        target = arg.split("::")[0]
        if target == PACKAGE or target.startswith(PACKAGE + "."):
            return True
        if suite is not None and Path(target).resolve().is_relative_to(suite):
            return True
    return False


def run(args: list[str]) -> int:
    """`xenlab run [pytest options]`: the installed suite against a lab, from any directory,
    with its own settings (steps/xenlab.ini), never those of the directory it runs in.
    Naming them (-c, --rootdir) also keeps pytest from taking an option's value given
    after a space (`--inventory PATH`) for the directory to run in."""
    suite = suite_dir()
    if suite is None:
        print("xenlab run: the suite (xenlab.steps) is not installed", file=sys.stderr)
        return int(pytest.ExitCode.USAGE_ERROR)
    # pytest in this process's place: xenlab is imported already here, which would keep
    # pytest from rewriting the plugin's asserts (and warn about it).
    os.execv(sys.executable, [sys.executable, "-m", "pytest", "-c", str(suite / "xenlab.ini"),
                              "--rootdir", str(suite), "--pyargs", PACKAGE, *args])
