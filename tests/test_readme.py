"""Every `pytest` and `xenlab run` example of the README runs as written: its options exist,
its inventory and baseline are read, and it selects the tests the README says.

The examples run with --collect-only against a lab of this machine (LOCAL_LAB) put
where the README names `mylab.ini`, `~/ansible/lab.ini` or the box's class inventory,
and against a results file of a real run where it names a baseline. The examples that
build or migrate run for real on the box (tests/*_box.py, `make demo`); the box
commands are the ones tests/test_box.py runs.
"""
from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xenlab.box.inventory import class_inventory

from .test_plugin import LOCAL_LAB

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"^```sh\n(.*?)^```", (ROOT / "README.md").read_text(), re.S | re.M)


def readme_runs() -> list[str]:
    """The README's lines that run the suite (`pytest ...`, `xenlab run ...`), as written."""
    return [line.strip() for block in BLOCKS for line in block.splitlines()
            if re.match(r"(pytest|xenlab run)\b", line.strip())]


# What each example selects (of the suite's 9 scenarios); a class of 4 labs has 4 times
# the stages that do not migrate.
SELECTED = {"stage5_bridge": 1, "stage9_migration": 1, "not migration": 8, "drill": 1}


def test_the_readme_has_the_examples_this_test_runs():
    runs = readme_runs()
    assert len(runs) >= 12, runs
    assert any("--baseline=" in r for r in runs) and any(r.startswith("xenlab run") for r in runs)


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, Path]:
    """The local lab, its class of 4, and a baseline from a real run of stage 1 on it."""
    tmp = tmp_path_factory.mktemp("readme")
    lab = tmp / "lab.ini"
    lab.write_text(LOCAL_LAB)
    klass = tmp / "class-4.ini"
    klass.write_text(class_inventory(LOCAL_LAB, [f"lab{i}" for i in range(1, 5)]))
    baseline = tmp / "before-upgrade.json"
    made = subprocess.run([sys.executable, "-m", "pytest", f"--inventory={lab}", "-m",
                           "stage1_target", "-q", "-p", "no:cacheprovider",
                           f"--results={baseline}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert baseline.is_file(), made.stdout[-2000:] + made.stderr[-2000:]
    # the class of examples/class, its addresses on this machine's loopback network
    pattern = tmp / "class-pattern"
    shutil.copytree(ROOT / "examples" / "class", pattern)
    addresses = pattern / "02-addresses.yml"
    addresses.write_text(addresses.read_text().replace("'172.16.'", "'127.16.'"))
    assert "172.16." not in addresses.read_text().split("compose:")[1]
    return {"lab": lab, "class": klass, "baseline": baseline, "tmp": tmp, "pattern": pattern}


@pytest.mark.parametrize("line", readme_runs())
def test_a_readme_example_runs_as_written(line, places, tmp_path):
    text = (line.split(" #")[0].replace("mylab.ini", str(places["lab"]))
            .replace("~/ansible/lab.ini", str(places["lab"]))
            .replace("/var/lib/xenlab/box/class-4.ini", str(places["class"]))
            .replace("before-upgrade.json", str(places["baseline"]))
            .replace("examples/class", str(places["pattern"])))
    argv = shlex.split(text)
    if argv[0] == "pytest":
        command, cwd = [sys.executable, "-m", "pytest", *argv[1:]], ROOT
    else:  # xenlab run: the console script of this environment, from another directory
        command, cwd = [str(Path(sys.executable).parent / "xenlab"), *argv[1:]], tmp_path
    env = {**os.environ, "XENLAB_STATE": str(tmp_path / "no-box")}
    proc = subprocess.run([*command, "--collect-only", "-q", "-p", "no:cacheprovider"],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    marker = next((m for m in SELECTED if f'-m "{m}"' in line or f"-m {m}" in line), None)
    expected = SELECTED[marker] if marker else 9
    if rounds := re.search(r"--migration-rounds=(\d+)", line):  # stage 9's outline N times
        expected += int(rounds[1]) - 1
    if "class-4" in line:
        expected *= 4
    if "examples/class" in line:  # students 31 to 40
        expected *= 10
    found = re.search(r"(\d+)(?:/\d+)? tests? collected", proc.stdout)
    assert found and int(found.group(1)) == expected, proc.stdout[-2000:]
