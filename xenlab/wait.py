"""Deadlines: every wait in xenlab ends, and says what it saw last."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class WaitTimeout(Exception):
    """A wait ran past its deadline; the message names what was awaited and the last thing seen."""


def wait_for(check: Callable[[], tuple[bool, T]], *, timeout: float, interval: float,
             what: str) -> T:
    """Call check() until it returns (True, value) or the deadline passes.

    check returns (done, seen); `seen` of the last call goes into the error.
    """
    deadline = time.monotonic() + timeout
    while True:
        done, seen = check()
        if done:
            return seen
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"{what}: not within {timeout:.0f} s; last seen: {seen}")
        time.sleep(min(interval, remaining))
