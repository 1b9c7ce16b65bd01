"""What each stage of the article builds and checks, over `xenlab.remote.Host`.

Build functions bring a host to the stated state, changing only what is
missing, and return what they changed (an empty list: nothing to do). Check
functions only read, and raise `LabCheckFailed` naming host, expected, seen.
Steps (steps/test_NN_*.py) stay thin and call these.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

from xenlab.checks import CheckFailure, LabCheckFailed
from xenlab.errors import XenlabError
from xenlab.remote import Host

T = TypeVar("T")
H = TypeVar("H")  # a Host, or what works through one (a Toolstack)


def on_each(hosts: Iterable[H], fn: Callable[[H], T]) -> list[T]:
    """fn on every host at once (one connection per host), results in host order."""
    hosts = list(hosts)
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        return list(pool.map(fn, hosts))


def check_each(hosts: Iterable[Host], check: Callable[[Host], T]) -> list[T]:
    """check on every host at once, every host's outcome awaited; one failure naming every
    host that failed, in host order.

    Every host is tried, so every host that failed is named: an error about one host (no
    SSH answer, a command that failed, output not understood) is that host's failure with
    the error's own line, never lost behind the first host's (the reports would read the
    other host as not checked). One host's error alone is raised as it is.
    """
    hosts = list(hosts)

    def guarded(host: Host):
        try:
            return check(host)
        except (LabCheckFailed, XenlabError) as exc:
            return exc
    results = on_each(hosts, guarded)
    errors = [(h, r) for h, r in zip(hosts, results) if isinstance(r, LabCheckFailed | XenlabError)]
    if len(errors) == 1 and not isinstance(errors[0][1], LabCheckFailed):
        raise errors[0][1]
    failures = [f for host, exc in errors for f in _failures(host, exc)]
    if failures:
        raise LabCheckFailed(*failures)
    return results


def _failures(host: Host, exc: LabCheckFailed | XenlabError) -> tuple[CheckFailure, ...]:
    if isinstance(exc, LabCheckFailed):
        return exc.failures
    line = str(exc)
    named = exc.host or host.name
    if not line.startswith((f"{named} ", f"{named}:")):
        line = f"{named}: {line}"
    return (CheckFailure(named, "the check to run to its end", str(exc), text=line),)
