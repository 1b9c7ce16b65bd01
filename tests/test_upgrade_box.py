"""The rolling upgrade of the box's Xen hosts, Debian 12 / Xen 4.17 -> Debian 13 / Xen 4.20,
end to end with its verify runs (bench/upgrade.py), checked. About an hour of the box: it runs
only with `-m upgrade` (tests/conftest.py), not in CI; bench/RESULTS.md has its figures."""
from __future__ import annotations

import importlib.util
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

    # both upgraded: verify against the baseline shows each host's new versions, and no
    # stage regressed.
    final = runs["final"]
    assert set(final["stages"].values()) == {"passed"}, final
    lines = outcome["comparison"]
    assert not [line for line in lines if line.startswith("REGRESSION")], lines
    for host in ("test1", "test2"):
        assert any(f"{host}: xen 4.17." in line and "-> 4.20." in line for line in lines), lines
        assert any(f"{host}: kernel 6.1." in line and "-> 6.12." in line for line in lines), lines
        assert any(f"{host}: open-iscsi 2.1.8" in line and "-> 2.1.11" in line
                   for line in lines), lines
    assert any(line.startswith("figures") and "downtime median" in line for line in lines)
