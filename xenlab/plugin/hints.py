"""A hint for every failed check of a verify run: why it matters (the stage's sentence), the
commands that fix it with this lab's values, and the article's step (xenlab.checks.Hint).

The commands are build mode's own: the scenario's build steps, which verify mode kept but did
not run (`mark_build_only`), run again on hosts that plan (`Host.plan_changes`): they read the
lab as it is and list what they would change, nothing is sent. What they cannot fix (Xen not
booted, a hazard) has no command: the article's step says where to look.
"""
from __future__ import annotations

import contextlib
import dataclasses

import pytest

from xenlab.checks import CheckFailure, Hint, LabCheckFailed
from xenlab.errors import XenlabError, first_line
from xenlab.plugin.order import stage_of
from xenlab.plugin.state import BUILDERS, STATE

NOTHING_PLANNED = "build mode would change nothing for this: see the article's step"


def with_hints(item: pytest.Item, exc: LabCheckFailed) -> LabCheckFailed:
    """exc with a Hint on each of its failures (exc itself where the stage is unknown)."""
    stage = stage_of(item)
    if stage is None:
        return exc
    fix = planned_fix(item)
    def hinted(failure: CheckFailure) -> CheckFailure:
        # the check's own commands, then build mode's in the order it would run them (a
        # later one may need an earlier one: the key ssh-keygen makes, the mount mkfs needs)
        return dataclasses.replace(failure, hint=Hint(
            stage.why, tuple(f"{failure.host}$ {line}" for line in failure.fix)
            + tuple(f"{host}$ {line}" if host else line for host, line in fix),
            stage.article))
    return LabCheckFailed(*(hinted(f) for f in exc.failures))


def planned_fix(item: pytest.Item) -> list[tuple[str, str]]:
    """(host, command line) build mode would run for this scenario, in order; [] when it
    would change nothing or cannot plan (the hint then points at the article's step)."""
    makes = item.stash.get(BUILDERS, [])
    hosts = list(item.config.stash[STATE].hosts.values())
    if not makes or not hosts:
        return []
    with contextlib.ExitStack() as stack:
        lists = [stack.enter_context(h.plan_changes()) for h in hosts if h.gone is None]
        for make in makes:
            try:
                make()
            except (LabCheckFailed, XenlabError) as exc:
                # a build that would stop here (e.g. refuses to format a disk in use):
                # what it planned so far stands, the rest is the article's step
                host = exc.hosts[0] if isinstance(exc, LabCheckFailed) else exc.host or ""
                lists.append([_Stop(first_line(str(exc)), host)])
                break
        planned = sorted((p for found in lists for p in found), key=lambda p: p.seq)
    return [(p.host, p.line()) for p in planned]


@dataclasses.dataclass(frozen=True)
class _Stop:
    why: str
    host: str = ""
    seq: float = float("inf")  # after what was planned before it

    def line(self) -> str:
        return f"(build mode would stop here: {self.why})"


def hint_lines(exc: LabCheckFailed) -> list[str]:
    """The hints as lines for the terminal: why, then each command."""
    lines = []
    for failure in exc.failures:
        hint = failure.hint
        if hint is None:
            continue
        lines.append(f"hint for {failure.host}: {hint.why} (article: {hint.step})")
        lines += [f"  fix: {c}" for c in hint.fix] or [f"  fix: {NOTHING_PLANNED}"]
    return list(dict.fromkeys(lines))
