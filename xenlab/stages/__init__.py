"""What each stage of the article builds and checks, over `xenlab.remote.Host`.

Build functions bring a host to the stated state, changing only what is
missing, and return what they changed (an empty list: nothing to do). Check
functions only read, and raise `LabCheckFailed` naming host, expected, seen.
Steps (steps/test_NN_*.py) stay thin and call these.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

from xenlab.remote import Host

T = TypeVar("T")


def on_each(hosts: Iterable[Host], fn: Callable[[Host], T]) -> list[T]:
    """fn on every host at once (one connection per host), results in host order."""
    hosts = list(hosts)
    with ThreadPoolExecutor(max_workers=max(1, len(hosts))) as pool:
        return list(pool.map(fn, hosts))
