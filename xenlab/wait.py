"""Deadlines: every wait in xenlab ends, and says what it saw last; a long one says
how long it has been waiting (logger `xenlab.progress`, shown live by pytest.ini's log_cli)."""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")
progress = logging.getLogger("xenlab.progress")
PROGRESS_EVERY_S = 10.0


@contextlib.contextmanager
def ticking(what: str, every: float = PROGRESS_EVERY_S) -> Iterator[None]:
    """While the block runs (a long remote command), log `what: N s elapsed` every `every` s."""
    done = threading.Event()
    started = time.monotonic()

    def tick() -> None:
        while not done.wait(every):
            progress.info("%s: %.0f s elapsed", what, time.monotonic() - started)
    thread = threading.Thread(target=tick, name="xenlab-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()


class WaitTimeout(Exception):
    """A wait ran past its deadline; the message names what was awaited and the last thing seen."""


def wait_for(check: Callable[[], tuple[bool, T]], *, timeout: float, interval: float,
             what: str) -> T:
    """Call check() until it returns (True, value) or the deadline passes.

    check returns (done, seen); `seen` of the last call goes into the error.
    """
    started = time.monotonic()
    deadline = started + timeout
    told = started
    while True:
        done, seen = check()
        if done:
            return seen
        now = time.monotonic()
        if now - told >= PROGRESS_EVERY_S:
            told = now
            progress.info("%s: waiting, %.0f s of %.0f s; last seen: %s", what, now - started,
                          timeout, seen)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"{what}: not within {timeout:.0f} s; last seen: {seen}")
        time.sleep(min(interval, remaining))
