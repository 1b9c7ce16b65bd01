"""Each Gherkin scenario's steps as they run: text, status, and which of the run's
commands (evidence indices) each step ran, for the reports."""
from __future__ import annotations

import pytest

from xenlab.plugin.state import STATE, STEPS


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
