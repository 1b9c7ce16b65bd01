"""Each lab run's reports in a folder of their own: reports/<date>-<time>/ (the HTML report,
the results, the migrations' data, the class report), and reports/latest pointing at the
last run's. No run replaces another's reports; a run in which no test ran leaves none.

An option naming a file (--html, --results, --migration-data, --class-report) puts that
file there instead.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

REPORTS = Path("reports")
LATEST = REPORTS / "latest"
RUN_DIR = pytest.StashKey[Path]()


def run_dir(config: pytest.Config) -> Path:
    """This run's folder (named once per run, made when something is written to it)."""
    if RUN_DIR not in config.stash:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path, n = REPORTS / stamp, 1
        while path.exists():
            n += 1
            path = REPORTS / f"{stamp}-{n}"
        config.stash[RUN_DIR] = path
    return config.stash[RUN_DIR]


def default_path(config: pytest.Config, option: str, name: str) -> Path:
    """The option's file if given, else `name` in this run's folder."""
    return Path(config.getoption(option) or run_dir(config) / name)


@pytest.hookimpl(trylast=True)  # after every report of the run is written
def pytest_unconfigure(config: pytest.Config) -> None:
    """reports/latest -> this run's folder if the run wrote into it; an empty one goes."""
    path = config.stash.get(RUN_DIR, None)
    if path is None or not path.is_dir():
        return
    if not any(path.iterdir()):
        path.rmdir()
        if not any(REPORTS.iterdir()):  # made for this run alone
            REPORTS.rmdir()
        return
    link = REPORTS / f".latest-{os.getpid()}"
    link.unlink(missing_ok=True)
    link.symlink_to(path.name)
    os.replace(link, LATEST)
