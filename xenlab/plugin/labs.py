"""Which labs a run is about: one, or a class of them (an inventory of several labs).

Read once per run from the options (--ansible-inventory/--inventory, --hosts,
--ssh-config, --ssh-identity-file), else the running lab-in-a-box; else a one-line
UsageError. In class mode every lab test runs once per lab, and under xdist one
lab's tests all go to one worker.
"""
from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs

import pytest

from xenlab import results as res
from xenlab.errors import InventoryError
from xenlab.inventory import Lab, box_inventory_path, load_labs, with_hosts, with_ssh_config
from xenlab.plugin.state import STATE
from xenlab.stagelist import BY_MARKER
from xenlab.suite import inventory_option

NO_LAB = ("no lab named: pass --ansible-inventory=FILE (or --hosts=...), "
          "or start the lab-in-a-box with `python -m xenlab box up`")


def resolve_labs(config: pytest.Config) -> dict[str, Lab]:
    """The labs the options name (one, or a class), else the running lab-in-a-box; else a
    UsageError. Read once per run."""
    state = config.stash[STATE]
    if state.labs is None:
        state.labs = {lab.name: lab for lab in _read_labs(config)}
        state.secrets = res.secrets_of(*state.labs.values())
    return state.labs


# testinfra's connection options that xenlab's own connection does not follow: refused in
# one line, never ignored.
REFUSED = {
    "ssh_extra_args": "--ssh-extra-args: not supported yet (xenlab connects with paramiko, "
                      "not the ssh command; host keys: xenlab_known_hosts, --ssh-insecure)",
    "force_ansible": "--force-ansible: not supported (xenlab reads the inventory with "
                     "ansible-core and connects itself, over SSH)",
}


def _refuse_unsupported(config: pytest.Config) -> None:
    for dest, why in REFUSED.items():
        if config.getoption(dest, None):
            raise pytest.UsageError(why)
    connection = config.getoption("connection", None)
    if connection not in (None, "ssh", "paramiko"):
        raise pytest.UsageError(f"--connection={connection}: not supported (xenlab connects "
                                "over SSH, or locally for ansible_connection=local hosts)")


def _read_labs(config: pytest.Config) -> tuple[Lab, ...]:
    _refuse_unsupported(config)
    hostspecs = [h for h in (config.getoption("hosts", None) or "").split(",") if h]
    path = (inventory_option(config)
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
    labs = tuple(lab.map_hosts(lambda h: replace(h, key_file=key_file)) if key_file else lab
                 for lab in labs)
    # testinfra's --sudo / --sudo-user: every host becomes that user (root by default) with
    # sudo, as if the inventory said ansible_become (its become password, if any, applies).
    sudo_user = config.getoption("sudo_user", None)
    if config.getoption("sudo", None) or sudo_user:
        labs = tuple(lab.map_hosts(lambda h: replace(
            h, become_user=sudo_user or h.become_user or "root")) for lab in labs)
    return labs


def _query(hostspec: str) -> dict[str, list[str]]:
    return parse_qs(hostspec.partition("?")[2])


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session) -> None:
    """Name the lab before the first test, and stop with one line when there is none."""
    if session.config.option.collectonly:
        return
    if any(is_lab_test(getattr(item, "fixturenames", ()), item.iter_markers())
           for item in session.items):
        resolve_labs(session.config)


def is_lab_test(fixturenames, markers) -> bool:
    """A test of the lab: one asking for `lab`, or one of a stage. pytest-bdd's steps ask for
    their fixtures while the scenario runs, so a scenario's fixturenames may not show `lab`:
    its stage marker does (`pytest -m stage5_bridge` with no lab named is a usage error)."""
    return "lab" in fixturenames or any(m.name in BY_MARKER for m in markers)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Class mode (an inventory of several labs): every lab test runs once per lab.

    A lab test: one of a stage, or one asking for `lab` (pytest-bdd's steps ask for
    their fixtures while the scenario runs, so a scenario's arguments do not show them).
    """
    if not is_lab_test(metafunc.fixturenames, metafunc.definition.iter_markers()):
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


def lab_of(item: pytest.Item) -> Lab | None:
    return lab_named(item.config.stash[STATE].labs or {}, lab_name_of(item))


def lab_named(labs: dict[str, Lab], name: str | None) -> Lab | None:
    """The lab of that name (class mode), or the run's only lab (name None)."""
    return labs.get(name) if name else next(iter(labs.values()), None)
