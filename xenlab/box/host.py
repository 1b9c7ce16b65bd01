"""Small helpers for running commands on the controller machine itself."""
from __future__ import annotations

import subprocess
import sys
import time
from typing import Sequence


class BoxError(Exception):
    """A one-line failure of the lab-in-a-box."""


def sh(cmd: Sequence[str], *, timeout: float = 120, check: bool = True,
       input: str | None = None) -> subprocess.CompletedProcess:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True,
                              timeout=timeout, input=input)
    except subprocess.TimeoutExpired as exc:
        raise BoxError(f"{cmd[0]}: no answer within {timeout:.0f} s ({' '.join(cmd)})") from exc
    except FileNotFoundError as exc:
        raise BoxError(f"{cmd[0]}: not installed (run `make setup` or `python -m xenlab box setup`)") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise BoxError(f"{' '.join(cmd)} exited {proc.returncode}: "
                       f"{detail[-1] if detail else 'no output'}")
    return proc


class Progress:
    """Progress lines with elapsed time, on stderr (stdout ends with the inventory path)."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def __call__(self, message: str) -> None:
        print(f"[{time.monotonic() - self.start:6.1f}s] {message}", file=sys.stderr, flush=True)
