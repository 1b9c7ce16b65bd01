"""Each Gherkin scenario's steps as they run: text, status, and which of the run's
commands (evidence indices) each step ran, for the reports.

pytest-bdd names the step in every step hook; it is found in the scenario's list
by identity (two steps may read alike), never guessed from which ran last.
"""
from __future__ import annotations

import pytest

from xenlab.plugin.state import STATE, STEPS, StepRun


def pytest_bdd_before_scenario(request: pytest.FixtureRequest, scenario) -> None:
    request.node.stash[STEPS] = [StepRun(f"{s.keyword.strip()} {s.name}") for s in scenario.steps]


def pytest_bdd_before_step(request: pytest.FixtureRequest, scenario, step) -> None:
    _run_of(request, scenario, step).first = _commands_so_far(request)


def pytest_bdd_after_step(request: pytest.FixtureRequest, scenario, step) -> None:
    _ended(request, scenario, step, "passed")


def pytest_bdd_step_error(request: pytest.FixtureRequest, scenario, step) -> None:
    _ended(request, scenario, step, "failed")


def _ended(request: pytest.FixtureRequest, scenario, step, status: str) -> None:
    run = _run_of(request, scenario, step)
    run.status = status
    run.end = _commands_so_far(request)


def _run_of(request: pytest.FixtureRequest, scenario, step) -> StepRun:
    """pytest-bdd's steps compare by identity, so index() finds this very step."""
    return request.node.stash[STEPS][scenario.steps.index(step)]


def _commands_so_far(request: pytest.FixtureRequest) -> int:
    return len(request.config.stash[STATE].evidence.results)
