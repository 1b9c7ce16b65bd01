"""Fixtures of the project's own tests."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from .boxkit import box

pytest_plugins = ["pytester"]  # test_plugin.py, test_modes.py: a lab suite run inside


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked upgrade (an hour of the box) run only when -m names them."""
    if "upgrade" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="the rolling upgrade runs only with -m upgrade "
                                   "(bench/upgrade.py runs it too)")
    for item in items:
        if item.get_closest_marker("upgrade"):
            item.add_marker(skip)


@pytest.fixture(scope="session")
def box_inventory() -> Path:
    """Fresh hosts of the lab-in-a-box for this session (`box reset`); down at the end.

    The lab on them is built by tests/test_lab_box.py, which runs first; later box
    tests (test_migration_box.py) use that built lab.
    """
    if os.environ.get("XENLAB_TEST_REUSE_BOX") == "1":  # development: the running, built box
        up = box("up")
        assert up.returncode == 0, f"box up failed: {up.stderr[-2000:]}"
        yield Path(up.stdout.strip().splitlines()[-1])
        return
    up = box("reset")
    assert up.returncode == 0, f"box reset failed: {up.stderr[-2000:]}"
    yield Path(up.stdout.strip().splitlines()[-1])
    box("down", timeout=120)
