"""The rolling upgrade of the box's Xen hosts, Debian 12 / Xen 4.17 -> Debian 13 / Xen 4.20,
end to end with its verify runs (bench/upgrade.py), checked. About an hour of the box: it runs
only with `-m upgrade` (tests/conftest.py), not in CI; bench/RESULTS.md has its figures."""
from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import pytest

from .boxkit import need_root

pytestmark = [pytest.mark.box, pytest.mark.upgrade,
              pytest.mark.skipif(bool(need_root()), reason=str(need_root()))]

BENCH = Path(__file__).resolve().parent.parent / "bench" / "upgrade.py"


def _rolling():
    spec = importlib.util.spec_from_file_location("bench_upgrade", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.rolling


def _versions(run: dict, host: str) -> tuple[str, str]:
    fingerprint = run["fingerprint"][host]
    return fingerprint["xen"], fingerprint["kernel"]


def test_the_rolling_upgrade_to_xen_4_20_is_reported_and_the_lab_keeps_working(tmp_path):
    outcome = _rolling()(tmp_path, "trixie", say=print)
    runs = outcome["runs"]
    assert runs["build"]["exit"] == 0 and runs["baseline"]["exit"] == 0, runs["baseline"]
    assert set(runs["baseline"]["stages"].values()) == {"passed"}
    for host in ("test1", "test2"):
        assert _versions(runs["baseline"], host)[0].startswith("4.17.")

    # test2 upgraded: the mixed releases are reported; the guest moved to the newer host, live.
    mixed = runs["mixed"]
    assert _versions(mixed, "test2")[0].startswith("4.20.")
    assert _versions(mixed, "test2")[1].startswith("6.12.")
    assert _versions(mixed, "test1")[0].startswith("4.17.")
    assert mixed["exit"] == 0 and set(mixed["stages"].values()) == {"passed"}, mixed
    assert any("4.17" in w and "4.20" in w for w in mixed["warnings"]), mixed["warnings"]
    assert outcome["guest after mixed"] == ["test2"]
    # whatever Xen does with the way back, the guest is on exactly one host afterwards
    assert len(outcome["way back"]["guest on"]) == 1, outcome["way back"]

    # The way back was tried by hand: Xen 4.20 refused it (no shadow paging for the PV
    # guest's log-dirty), and the guest stayed where it was, answering (measured 2026-12-01).
    assert outcome["way back"]["exit"] != 0 and outcome["way back"]["guest on"] == ["test2"]
    assert outcome["way back"]["answers"], outcome["way back"]

    # Both upgraded: the guest cannot move live between them any more (a PV guest, Debian 13's
    # Xen built without shadow paging): moved cold, it runs on test1 again.
    assert outcome["guest home live"]["guest on"] == ["test2"], outcome["guest home live"]
    assert outcome["guest after restart"] == ["test1"]
    # verify against the baseline: each host's new versions, and stage 9 is the one regression,
    # skipped before anything moved, with why and the fix.
    final = runs["final"]
    assert final["exit"] == 1, final  # a regression
    assert {k: v for k, v in final["stages"].items() if k != "9"} == {
        str(n): "passed" for n in range(1, 9)}, final
    assert final["stages"]["9"] == "skipped"
    lines = outcome["comparison"]
    regressions = [line for line in lines if line.startswith("REGRESSION")]
    assert len(regressions) == 1 and "stage 9" in regressions[0], lines
    assert "built without shadow paging" in regressions[0], regressions
    for host in ("test1", "test2"):
        assert any(f"{host}: xen 4.17." in line and "-> 4.20." in line for line in lines), lines
        assert any(f"{host}: kernel 6.1." in line and "-> 6.12." in line for line in lines), lines
        assert any(f"{host}: open-iscsi 2.1.8" in line and "-> 2.1.11" in line
                   for line in lines), lines

    # On the upgraded hosts (booted by GRUB from their own disks): stage 4 reads each boot
    # menu; a default that starts Linux without Xen is reported with its fix, which works.
    from .boxkit import box_ssh, reboot_findings, suite
    inventory = Path("/var/lib/xenlab/box/inventory.ini")
    if os.environ.get("XENLAB_STATE"):
        inventory = Path(os.environ["XENLAB_STATE"]) / "box" / "inventory.ini"

    def xen_findings(name: str) -> list[str]:
        proc = suite(inventory, "-m", "stage4_xen", f"--results={tmp_path / name}",
                     junit=tmp_path / f"{name}.xml")
        assert proc.returncode == 0, proc.stdout[-3000:]
        return [f for f in reboot_findings(tmp_path / name) if f.split(":")[0] in
                ("test1", "test2") and "starts no hypervisor" in f]

    assert xen_findings("grub-ok.json") == []
    broken = box_ssh("test2", "echo 'GRUB_DEFAULT=0' > /etc/default/grub.d/zz-test.cfg && "
                              "update-grub 2>/dev/null && rm /etc/default/grub.d/zz-test.cfg")
    assert broken.returncode == 0, broken.stderr
    [finding] = xen_findings("grub-broken.json")
    assert finding.startswith("test2: Xen (/boot/grub/grub.cfg: its default entry "
                              "'Debian GNU/Linux' starts no hypervisor)"), finding
    for command in re.findall(r"`([^`]+)`", finding.split(" Fix: ", 1)[1]):
        assert box_ssh("test2", command).returncode == 0, command
    assert xen_findings("grub-fixed.json") == []
