"""Stage order and skips: tests run lab by lab, stages in the article's order, and a
stage whose prerequisite failed (xenlab.stagelist) is skipped with the reason."""
from __future__ import annotations

import pytest

from xenlab.plugin.labs import lab_name_of
from xenlab.plugin.state import BLOCKED_BY, STATE
from xenlab.stagelist import BY_MARKER, BY_NUMBER, Stage, prerequisites


def stage_of(item: pytest.Item) -> Stage | None:
    return next((BY_MARKER[m.name] for m in item.iter_markers() if m.name in BY_MARKER), None)


EXAMPLE = "_pytest_bdd_example"  # the argument pytest-bdd parametrizes an outline with
ROUND = "round"  # the Examples column of stage 9's outline (features/09-migration.feature)


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """--migration-rounds=N: stage 9's outline runs rounds 1..N instead of its Examples table.
    pytest-bdd marks an outline's function with its examples; the mark is replaced here,
    before pytest reads it (tryfirst)."""
    rounds = metafunc.config.getoption("migration_rounds", None)
    if not rounds:
        return
    marks = metafunc.definition.own_markers
    for i, mark in enumerate(marks):
        if (mark.name == "parametrize" and mark.args and mark.args[0] == EXAMPLE
                and all(ROUND in p.values[0] for p in mark.args[1])):
            marks[i] = pytest.mark.parametrize(EXAMPLE, [
                pytest.param({ROUND: str(n)}, id=str(n)) for n in range(1, rounds + 1)]).mark


def round_of(item: pytest.Item) -> int | None:
    """The round of stage 9's outline an item runs; None for any other test."""
    callspec = getattr(item, "callspec", None)
    found = callspec.params.get(EXAMPLE, {}).get(ROUND) if callspec else None
    return int(found) if found and found.isdigit() else None


@pytest.hookimpl(trylast=True)  # after pytest's own reordering by parametrized fixtures
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lab by lab (class mode), stages in article order; other orders are kept. The
    failure drill only when asked for; stage 9's data outline only with --guest-data."""
    # Tests marked destructive run in every mode: their checks only read; their build
    # steps refuse to partition or format without --allow-destructive (xenlab.stages).
    # The failure drill (stage 9) is opt-in: deselected unless -m names it.
    if "drill" not in (config.getoption("markexpr", "") or ""):
        _deselect(config, items, lambda item: item.get_closest_marker("drill"))
    # The data check (--guest-data) runs stage 9's data outline instead of the plain one;
    # without it, the data outline is not run.
    if config.getoption("guest_data", None):
        _deselect(config, items, lambda item: round_of(item) is not None
                  and not item.get_closest_marker("data"))
    else:
        _deselect(config, items, lambda item: item.get_closest_marker("data"))
    order = list(config.stash[STATE].labs or {})
    items.sort(key=lambda item: (order.index(name) if (name := lab_name_of(item)) in order
                                 else 0, stage.number if (stage := stage_of(item)) else 0))


def _deselect(config: pytest.Config, items: list[pytest.Item], left_out) -> None:
    """The items left_out(item) says, taken out of the run as deselected (not skipped: a
    skip would make their stage read skipped)."""
    gone = [item for item in items if left_out(item)]
    if gone:
        config.hook.pytest_deselected(items=gone)
        items[:] = [item for item in items if not left_out(item)]


@pytest.hookimpl(tryfirst=True)  # before pytest's skipping plugin reads the skip marks
def pytest_runtest_setup(item: pytest.Item) -> None:
    state = item.config.stash[STATE]
    stage = stage_of(item)
    name = lab_name_of(item)
    failed = [n for n in prerequisites(stage.number) if (name, n) in state.failed] if stage else []
    if failed:  # a mark, not pytest.skip(): the report then points at the test, not here
        item.stash[BLOCKED_BY] = failed[0]  # for the record: the reason is text for people
        item.add_marker(pytest.mark.skip(reason=f"stage {failed[0]} ({BY_NUMBER[failed[0]].title})"
                                                f" failed: {state.failed[name, failed[0]]}"))
