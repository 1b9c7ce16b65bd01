"""Helpers for the tests that run on the lab-in-a-box (marked `box`)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def box(*verb: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`python -m xenlab box VERB`, as a user runs it; stderr shows progress."""
    return subprocess.run([sys.executable, "-m", "xenlab", "box", *verb], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def box_ssh(name: str, command: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return box("ssh", name, command, timeout=timeout)


def need_root() -> str | None:
    return None if os.geteuid() == 0 else "the lab-in-a-box needs root (QEMU taps, namespaces)"


def suite(inventory: Path, *args: str, junit: Path, timeout: float = 1500
          ) -> subprocess.CompletedProcess:
    """The acceptance suite against a lab, as `pytest --inventory=...` from the top."""
    cmd = [sys.executable, "-m", "pytest", f"--inventory={inventory}", f"--junitxml={junit}",
           "-p", "no:cacheprovider", "-q", "-rA", *args]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
