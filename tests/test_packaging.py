"""The installed xenlab: a wheel built from this checkout, installed in a fresh environment
outside it, runs the suite from another directory with `xenlab run`; in another project's
pytest runs in that environment the plugin does nothing.

The fresh environment takes its dependencies from this one (no network): a .pth file
puts this environment's site-packages after its own, where only the wheel's xenlab is
(an editable xenlab there is not active: .pth files are read in site directories only).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from .boxkit import need_root
from .test_plugin import LOCAL_LAB

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built from a copy of the checkout (a build leaves build/ and egg-info)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    source.mkdir()
    for part in ("pyproject.toml", "README.md", "xenlab", "steps", "features"):
        copy = shutil.copytree if (ROOT / part).is_dir() else shutil.copy
        copy(ROOT / part, source / part, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                            if (ROOT / part).is_dir() else {}))
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w",
                            str(tmp), str(source)], capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    [found] = tmp.glob("xenlab-*.whl")
    return found


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory) -> Path:
    """A fresh environment with the wheel installed (its `bin`)."""
    return fresh_venv(wheel, tmp_path_factory.mktemp("venv") / "env")


def fresh_venv(wheel: Path, root: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    site = Path(subprocess.run([root / "bin" / "python", "-c",
                                "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    ours = [p for p in sys.path if p.endswith("site-packages")] or [sysconfig.get_paths()["purelib"]]
    (site / "dependencies.pth").write_text("".join(f"{p}\n" for p in ours))
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(root / "bin" / "python"),
                           "install", "-q", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return root / "bin"


@pytest.fixture(scope="module")
def venv_with_pytest_ansible(wheel: Path, tmp_path_factory) -> Path:
    """Like `venv`, with pytest-ansible installed beside xenlab (from the package index
    pip is configured with: the one test here that needs it)."""
    bin_dir = fresh_venv(wheel, tmp_path_factory.mktemp("venv-ansible") / "env")
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"),
                           "install", "-q", "pytest-ansible"],
                          capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        pytest.skip(f"pytest-ansible cannot be installed here: {done.stderr.strip()[-300:]}")
    return bin_dir


def elsewhere(tmp_path: Path, bin_dir: Path, *command: str, env: dict | None = None):
    """A command of the fresh environment, run in a directory outside the checkout."""
    cwd = tmp_path / "elsewhere"
    cwd.mkdir(exist_ok=True)
    environment = {**os.environ, "XENLAB_STATE": str(tmp_path / "no-box"), **(env or {})}
    environment.pop("PYTHONPATH", None)
    return subprocess.run([str(bin_dir / command[0]), *command[1:]], cwd=cwd, env=environment,
                          capture_output=True, text=True, timeout=600)


def test_the_wheel_holds_the_suite_the_plugin_and_the_command(wheel: Path):
    names = zipfile.ZipFile(wheel).namelist()
    for stage in ("01_target", "05_bridge", "09_migration"):
        assert f"xenlab/steps/test_{stage}.py" in names
    assert {"xenlab/steps/conftest.py", "xenlab/steps/xenlab.ini",
            "xenlab/features/01-target.feature", "xenlab/features/09-migration.feature",
            "xenlab/plugin/__init__.py", "xenlab/locale/zh_CN/LC_MESSAGES/xenlab.po"} <= set(names)
    assert not [n for n in names if n.startswith(("steps/", "features/", "tests/"))]
    entry_points = next(zipfile.ZipFile(wheel).read(n).decode() for n in names
                        if n.endswith(".dist-info/entry_points.txt"))
    assert re.search(r"\[pytest11\]\nxenlab.plugin = xenlab.plugin", entry_points), entry_points
    assert re.search(r"\[console_scripts\]\nxenlab = xenlab.__main__:main", entry_points)


def test_every_package_is_listed_for_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"])
    on_disk = {str(p.parent.relative_to(ROOT)).replace("/", ".")
               for p in (ROOT / "xenlab").rglob("__init__.py")}
    assert listed == on_disk | {"xenlab.steps", "xenlab.features"}


def test_xenlab_run_collects_the_installed_suite_from_another_directory(venv, tmp_path):
    proc = elsewhere(tmp_path, venv, "xenlab", "run", "--collect-only")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    installed = venv.parent / "lib"
    assert re.search(rf"rootdir: {re.escape(str(installed))}/python3\.\d+/site-packages/"
                     r"xenlab/steps", proc.stdout), proc.stdout[:1000]
    assert len(re.findall(r"<Function test_", proc.stdout)) == 9, proc.stdout
    assert not (tmp_path / "elsewhere" / "reports").exists()


def test_xenlab_run_reads_an_inventory_given_after_a_space(venv, tmp_path):
    """This machine as the lab (local connection), stage 1 only: it fails on the target's
    software, which shows the inventory was read; the report lands where the run was."""
    inventory = tmp_path / "my lab" / "lab.ini"
    inventory.parent.mkdir()
    inventory.write_text(LOCAL_LAB)
    proc = elsewhere(tmp_path, venv, "xenlab", "run", "--inventory", str(inventory),
                     "-m", "stage1_target", "-rA")
    text = proc.stdout + proc.stderr
    assert "no lab named" not in text and "ERROR: file or directory not found" not in text
    assert re.search(r"\b1 (passed|failed), 10 deselected", text), text[-3000:]
    assert "target$ " in text  # a command ran on the inventory's target (this machine)
    assert "PytestAssertRewriteWarning" not in text
    assert (tmp_path / "elsewhere" / "reports" / "latest" / "lab-report.html").is_file()


def test_xenlab_run_without_a_lab_is_one_line(venv, tmp_path):
    proc = elsewhere(tmp_path, venv, "xenlab", "run")
    assert proc.returncode == pytest.ExitCode.USAGE_ERROR, proc.stdout[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and "no lab named" in proc.stderr


@pytest.mark.parametrize("option", ["--inventory", "--ansible-inventory"])
def test_the_suite_runs_beside_pytest_ansible(venv_with_pytest_ansible, tmp_path, option):
    """pytest-ansible defines --inventory and --ansible-inventory, testinfra
    --ansible-inventory, xenlab --inventory: all name the inventory, and pytest starts
    with the three registered; either option names the lab, after a space."""
    bin_dir = venv_with_pytest_ansible
    collected = elsewhere(tmp_path, bin_dir, "xenlab", "run", "--collect-only")
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    assert re.search(r"plugins: .*\bansible-\d", collected.stdout), collected.stdout[:1500]
    assert len(re.findall(r"<Function test_", collected.stdout)) == 9
    inventory = tmp_path / "my lab" / "lab.ini"
    inventory.parent.mkdir()
    inventory.write_text(LOCAL_LAB)
    proc = elsewhere(tmp_path, bin_dir, "xenlab", "run", option, str(inventory),
                     "-m", "stage1_target", "-rA")
    text = proc.stdout + proc.stderr
    assert re.search(r"\b1 (passed|failed), 10 deselected", text), text[-3000:]
    assert "target$ " in text  # the inventory's target (this machine) was asked
    # pytest-ansible's own default (Ansible's ['/etc/ansible/hosts']) names no lab
    nothing = elsewhere(tmp_path, bin_dir, "xenlab", "run", "-m", "not migration")
    assert nothing.returncode == pytest.ExitCode.USAGE_ERROR, nothing.stdout[-2000:]
    assert (len(nothing.stderr.strip().splitlines()) == 1
            and "no lab named" in nothing.stderr), nothing.stderr[-2000:]


def test_the_installed_report_speaks_chinese(venv, tmp_path):
    """The catalog is compiled from the wheel's .po where it was installed (nothing written)."""
    proc = elsewhere(tmp_path, venv, "python", "-c",
                     "from xenlab.report import i18n; i18n.set_language('zh_CN'); "
                     "print(i18n.LOCALE_DIR); print(i18n._('live migration'))")
    assert proc.returncode == 0, proc.stderr[-2000:]
    where, said = proc.stdout.splitlines()
    assert "site-packages/xenlab/locale" in where and said == "实时迁移"


def test_another_projects_tests_see_no_xenlab(venv, tmp_path):
    project = tmp_path / "elsewhere"
    project.mkdir()
    (project / "test_other.py").write_text(
        "import logging\n\ndef test_other():\n    logging.getLogger('x').info('hello')\n")
    proc = elsewhere(tmp_path, venv, "python", "-m", "pytest", "-p", "no:cacheprovider")
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert "xenlab-0" in proc.stdout  # registered ...
    assert "1 passed" in proc.stdout and "live log" not in proc.stdout  # ... and idle
    assert not (project / "reports").exists()


@pytest.mark.box
@pytest.mark.skipif(bool(need_root()), reason=str(need_root()))
def test_the_installed_suite_verifies_the_box_from_another_directory(venv, tmp_path,
                                                                      box_inventory):
    """After tests/test_lab_box.py built the lab: verify without migration, the inventory
    kept outside the tree and given after a space."""
    inventory = tmp_path / "kept elsewhere" / "box.ini"
    inventory.parent.mkdir()
    shutil.copy(box_inventory, inventory)
    proc = elsewhere(tmp_path, venv, "xenlab", "run", "--inventory", str(inventory),
                     "-m", "not migration", "-q", env={"XENLAB_STATE": str(box_inventory.parents[1])})
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert re.search(r"\b8 passed\b", proc.stdout), proc.stdout[-2000:]
