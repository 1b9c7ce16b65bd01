"""Benchmark and proof: the rolling upgrade of the box's Xen hosts from Debian 12 / Xen 4.17
to Debian 13 / Xen 4.20, in place, as an operator runs it on a real lab (issue 16).

    .venv/bin/python bench/upgrade.py [--out DIR] [--release trixie]

1. fresh box hosts (`box reset`), the lab built on them (the guest ends on test1);
2. baseline: a full verify run, migration there and back (DIR/baseline.json);
3. `box upgrade test2` (the guest runs on test1);
4. mixed: a full verify run with --migration-one-way: the mixed releases are reported, the
   guest moves to the newer test2, is proven live there and stays (DIR/mixed.json);
5. the way back, tried by hand as an operator might (`xl migrate` on test2 to test1, Xen 4.20
   to 4.17), outcome recorded; the guest is then on test2 again in any case;
6. `box upgrade test1` (the guest runs on test2);
7. the operator moves the guest home: `xl migrate` on test2 to test1 (both on the new
   release), outcome recorded; where Xen cannot move it live (Debian 13's Xen 4.20 has no
   shadow paging, which a PV guest's live migration needs), a cold move: `xl destroy` on
   test2, then the suite's build mode for stage 9 starts it on test1 and sets its address
   through its console, as the article does (DIR/restart.json);
8. final: a full verify run with --baseline=DIR/baseline.json (DIR/final.json).

Prints each step's time, and writes the outcome to DIR/upgrade.json: the step timings, each
run's stage outcomes and warnings, the way back's outcome, the comparison with the baseline.
The box is left up, upgraded; `box reset` gives fresh hosts.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from xenlab.results import compare, load_results  # noqa: E402
from xenlab.results.views import stage_outcomes  # noqa: E402

RUN_TIMEOUT_S = 1800
UPGRADE_TIMEOUT_S = 5400


def box(*args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xenlab", "box", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def box_ssh(name: str, command: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return box("ssh", name, command, timeout=timeout)


def suite(inventory: Path, results: Path, *args: str) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "pytest", f"--inventory={inventory}",
                           f"--results={results}", "-p", "no:cacheprovider", "-q", "-rA", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    return proc.returncode, proc.stdout + proc.stderr


def summary(results: Path, output: str) -> dict:
    """Stage outcomes, warnings and findings of one run."""
    labs = json.loads(results.read_text())["labs"]
    lab = next(iter(labs.values()))
    return {"stages": {str(k): v for k, v in sorted(stage_outcomes(lab["tests"]).items())},
            "findings": sorted({f for t in lab["tests"] for f in t.get("findings", [])}),
            "failures": [t["failure"] for t in lab["tests"] if t.get("failure")],
            "fingerprint": lab["fingerprint"],
            "warnings": sorted(set(re.findall(r"(?m)^.*(?:LabHazard|Warning): (.*)$", output)))}


def where(guest: str) -> list[str]:
    return [host for host in ("test1", "test2")
            if re.search(rf"(?m)^{guest}\s", box_ssh(host, "xl list").stdout)]


def rolling(out: Path, release: str = "trixie", say=print) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    outcome: dict = {"timings_s": {}, "runs": {}}
    started = time.monotonic()

    def step(name: str, fn):
        t = time.monotonic()
        say(f"[{t - started:7.1f}s] {name}")
        result = fn()
        outcome["timings_s"][name] = round(time.monotonic() - t, 1)
        return result

    def must(proc: subprocess.CompletedProcess, what: str) -> subprocess.CompletedProcess:
        if proc.returncode:
            raise SystemExit(f"{what} failed: {(proc.stderr or proc.stdout)[-2000:]}")
        return proc

    up = step("box reset", lambda: must(box("reset"), "box reset"))
    inventory = Path(up.stdout.strip().splitlines()[-1])

    def run(name: str, *args: str) -> int:
        status, output = suite(inventory, out / f"{name}.json", *args)
        (out / f"{name}.log").write_text(output)
        outcome["runs"][name] = {"exit": status, **summary(out / f"{name}.json", output)}
        return status

    step("build", lambda: run("build", "--lab-mode=build", "--allow-destructive"))
    step("baseline verify", lambda: run("baseline"))

    def upgrade(host: str) -> None:
        proc = must(box("upgrade", host, "--to", release, timeout=UPGRADE_TIMEOUT_S),
                    f"box upgrade {host}")
        outcome[f"upgrade {host}"] = proc.stdout.strip().splitlines()[-1]
        (out / f"upgrade-{host}.log").write_text(proc.stderr)

    step("upgrade test2", lambda: upgrade("test2"))
    step("mixed verify", lambda: run("mixed", "--migration-one-way"))
    guest = "busybox"
    outcome["guest after mixed"] = where(guest)

    def way_back() -> None:
        proc = box_ssh("test2", f"time xl migrate {guest} 198.51.100.1", timeout=900)
        outcome["way back"] = {"exit": proc.returncode,
                               "output": (proc.stdout + proc.stderr).strip().splitlines()[-12:],
                               "guest on": where(guest),
                               "answers": box_ssh("target", "ping -c 3 -W 2 198.51.100.4")
                               .returncode == 0}
        if where(guest) == ["test1"]:  # it went: evacuate test1 again before its upgrade
            must(box_ssh("test1", f"xl migrate {guest} 198.51.100.2"), "move to test2 again")

    step("way back 4.20 -> 4.17 by hand", way_back)
    step("upgrade test1", lambda: upgrade("test1"))

    def guest_home() -> None:
        proc = box_ssh("test2", f"xl migrate {guest} 198.51.100.1", timeout=900)
        outcome["guest home live"] = {"exit": proc.returncode,
                                      "output": (proc.stdout + proc.stderr).strip()
                                      .splitlines()[-12:], "guest on": where(guest)}
        if where(guest) != ["test1"]:  # a cold move: stopped on test2, started on test1
            must(box_ssh("test2", f"xl destroy {guest}"), "xl destroy on test2")
            run("restart", "--lab-mode=build", "--allow-destructive", "-m", "migration")
            outcome["guest after restart"] = where(guest)

    step("guest home", guest_home)
    step("final verify --baseline", lambda: run("final", f"--baseline={out / 'baseline.json'}"))
    comparison = compare(load_results(out / "baseline.json"), load_results(out / "final.json"))
    outcome["comparison"] = comparison.lines()
    outcome["total_s"] = round(time.monotonic() - started, 1)
    (out / "upgrade.json").write_text(json.dumps(outcome, indent=1))
    return outcome


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "upgrade")
    parser.add_argument("--release", default="trixie")
    args = parser.parse_args()
    outcome = rolling(args.out, args.release)
    print(json.dumps(outcome, indent=1))


if __name__ == "__main__":
    main()
